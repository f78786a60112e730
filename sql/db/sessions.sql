-- sql/db/sessions.sql — the other sessions connected to database $1, which block
-- DROP DATABASE (`cruddur db drop` lists them), oldest first. Autovacuum workers are left
-- out: DROP DATABASE ends those by itself.
SELECT pid,
       coalesce(application_name, '') AS application_name,
       CASE WHEN client_addr IS NOT NULL THEN host(client_addr)
            WHEN client_port = -1 THEN 'local socket'
            ELSE 'unknown' END AS client,
       coalesce(usename::text, '') AS usename
FROM pg_stat_activity
WHERE datname = $1
  AND pid <> pg_backend_pid()
  AND backend_type <> 'autovacuum worker'
ORDER BY backend_start, pid
