-- sql/users/by_cognito_sub.sql — the user whose Cognito sub is $1 (users_by_cognito_sub;
-- the API maps a bearer token's sub to its user with this).
SELECT uuid, handle, display_name, email, cognito_user_id
FROM users
WHERE cognito_user_id = $1
