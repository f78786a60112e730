-- sql/seed.sql — the sample users of a fresh stack (cognito_user_id is filled later by
-- `cruddur cognito sync-user-ids`). The DynamoDB sample conversation (`cruddur ddb seed`)
-- is between mira and tomasz, by these UUIDs.
-- Idempotent: a user already there (same uuid, handle or cognito_user_id) is left alone.
-- Returns one row: added = users inserted now, present = sample users already there.

WITH seed (uuid, handle, display_name, email) AS (
    VALUES
        ('6f1c2c1e-3d4b-4a8e-9c61-2b7f0d5a9e11'::uuid, 'mira',   'Mira Okafor',    'mira@example.com'),
        ('0b8e5c7a-91d2-4f37-8a44-c3e6d1f2a7b9'::uuid, 'tomasz', 'Tomasz Wierzba', 'tomasz@example.com'),
        ('3a7d9e21-5c84-4b6f-b1e0-8f2c4d6a9b35'::uuid, 'lena',   'Lena Haugen',    'lena@example.com'),
        ('c4e2a9f7-0d13-4e85-9b6a-7f1d3c5e8a24'::uuid, 'dev',    'Dev Patel',      'dev@example.com')
), inserted AS (
    INSERT INTO users (uuid, handle, display_name, email)
    SELECT uuid, handle, display_name, email FROM seed
    ON CONFLICT DO NOTHING
    RETURNING uuid
)
SELECT (SELECT count(*) FROM inserted) AS added,
       (SELECT count(*) FROM seed) - (SELECT count(*) FROM inserted) AS present;
