-- sql/db/drop.sql — drops the database (`cruddur db drop`).
-- :"dbname" is replaced by the quoted name (as psql does with -v dbname=NAME).
DROP DATABASE :"dbname"
