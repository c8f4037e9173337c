-- Runs once, when the postgres container initialises an empty data volume.
-- The application's role is neither superuser nor BYPASSRLS, so row-level security applies to
-- every query it sends; CREATEDB lets the test runner create its test database.
CREATE ROLE revops LOGIN PASSWORD 'revops' NOSUPERUSER NOBYPASSRLS CREATEDB;
CREATE DATABASE revops OWNER revops;
