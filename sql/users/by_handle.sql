-- sql/users/by_handle.sql — the user with handle $1 (users_by_handle).
SELECT uuid, handle, display_name, email, cognito_user_id
FROM users
WHERE handle = $1
