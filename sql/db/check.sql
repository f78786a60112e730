-- sql/db/check.sql — the rows of users that break a rule of sql/schema.sql (`cruddur db
-- check`): rows an older table holds from before the rules (the original Cruddur wrote
-- users with no CHECK at all), which the programs refuse to read. One row per rule broken,
-- by handle; at most 1000. The rules are the CHECKs of sql/schema.sql, spelled the same.
SELECT uuid::text AS uuid, coalesce(handle, '') AS handle, rule
FROM (
    SELECT uuid, handle, 'handle' AS rule FROM users
     WHERE handle IS NULL OR handle !~ '^[A-Za-z0-9._~-]{1,128}$'
    UNION ALL
    SELECT uuid, handle, 'display_name' FROM users
     WHERE display_name IS NULL
        OR NOT (octet_length(display_name) BETWEEN 1 AND 127
                AND btrim(display_name) <> ''
                AND display_name !~ '[[:cntrl:]]')
    UNION ALL
    SELECT uuid, handle, 'email' FROM users
     WHERE email IS NULL
        OR NOT (octet_length(email) BETWEEN 3 AND 255
                AND email ~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+$')
    UNION ALL
    SELECT uuid, handle, 'cognito_user_id' FROM users
     WHERE cognito_user_id IS NOT NULL AND cognito_user_id !~ '^[A-Za-z0-9._:-]{1,63}$'
) AS broken
ORDER BY handle, rule
LIMIT 1000
