-- sql/db/create.sql — creates the database (`cruddur db create`, `cruddur db setup`).
-- :"dbname" is replaced by the quoted name (as psql does with -v dbname=NAME).
CREATE DATABASE :"dbname"
