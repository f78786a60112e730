-- sql/users/provision.sql — the Cruddur user of a Cognito user who signed up after the last
-- `cruddur cognito sync-user-ids` (the original's post-confirmation Lambda did this insert):
-- $1 handle (preferred_username), $2 display name (name), $3 email, $4 the Cognito sub.
-- A row with that handle and no Cognito id yet (a seeded user) is claimed, as sync-user-ids
-- does; else a new row is inserted. Safe when several workers race on one sub: the unique
-- keys make every loser insert nothing, and the caller reads the row by sub afterwards.
-- Nothing happens when the handle belongs to another sub (the caller then finds no row).
WITH claimed AS (
    UPDATE users SET cognito_user_id = $4
    WHERE handle = $1 AND cognito_user_id IS NULL
      AND NOT EXISTS (SELECT 1 FROM users WHERE cognito_user_id = $4)
    RETURNING uuid
)
INSERT INTO users (display_name, handle, email, cognito_user_id)
SELECT $2, $1, $3, $4
WHERE NOT EXISTS (SELECT 1 FROM claimed)
ON CONFLICT DO NOTHING
