-- sql/schema.sql — the Postgres side of Cruddur messaging: the users table.
-- Idempotent: `cruddur db schema-load` and `cruddur setup` run it again safely.
-- PostgreSQL 13 or later (gen_random_uuid() is built in); written for PostgreSQL 15.
-- The limits match what the programs hold (src/users/users.h): byte lengths below the
-- sizes of struct user, handles as the API accepts them (users_handle_valid, USERS_HANDLE_MAX).

CREATE TABLE IF NOT EXISTS users (
    uuid            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    display_name    text        NOT NULL,
    handle          text        NOT NULL,
    email           text        NOT NULL,
    cognito_user_id text,
    created_at      timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT users_handle_key UNIQUE (handle),
    CONSTRAINT users_cognito_user_id_key UNIQUE (cognito_user_id),
    CONSTRAINT users_handle_format
        CHECK (handle ~ '^[A-Za-z0-9._~-]{1,128}$'),
    CONSTRAINT users_display_name_format
        CHECK (octet_length(display_name) BETWEEN 1 AND 127
               AND btrim(display_name) <> ''
               AND display_name !~ '[[:cntrl:]]'),
    CONSTRAINT users_email_format
        CHECK (octet_length(email) BETWEEN 3 AND 255
               AND email ~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+$'),
    CONSTRAINT users_cognito_user_id_format
        CHECK (cognito_user_id ~ '^[A-Za-z0-9._:-]{1,63}$')
);

-- The handle rule was [A-Za-z0-9_]{1,30} before: a table made then gets the wider rule. NOT
-- VALID: rows written before any rule (the original Cruddur's) are not checked here;
-- `cruddur db check` lists those that break a rule.
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_handle_format;
ALTER TABLE users ADD CONSTRAINT users_handle_format
    CHECK (handle ~ '^[A-Za-z0-9._~-]{1,128}$') NOT VALID;
