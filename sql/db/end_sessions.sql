-- sql/db/end_sessions.sql — ends the other sessions connected to database $1
-- (`cruddur db drop --force`), waiting up to 5 s for each to exit. Returns how many ended.
SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) AS ended
FROM pg_stat_activity
WHERE datname = $1
  AND pid <> pg_backend_pid()
  AND backend_type <> 'autovacuum worker'
