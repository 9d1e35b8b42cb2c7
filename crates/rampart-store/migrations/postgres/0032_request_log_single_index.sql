-- The request log keeps one index besides its key, (team_id, at), which every read of the log
-- uses (a team's rows in a time window). The index on `at` alone served only the daily prune,
-- yet every logged request paid for maintaining it on the hot write path (about a third of
-- the log's database work per row); the prune now walks the teams through
-- request_log_team_at instead (issue 20: the request log's cost on throughput).
DROP INDEX request_log_at;
