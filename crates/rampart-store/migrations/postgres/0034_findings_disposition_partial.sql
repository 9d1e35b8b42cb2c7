-- SQLite's 0034 makes findings_disposition partial. PostgreSQL dropped that index and its
-- foreign key in 0029: nothing to change.
SELECT 1;
