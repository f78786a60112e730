-- sql/users/set_cognito_sub.sql — records Cognito sub $2 for the user with handle $1
-- (users_set_cognito_sub, used by `cruddur cognito sync-user-ids`).
UPDATE users
SET cognito_user_id = $2
WHERE handle = $1
