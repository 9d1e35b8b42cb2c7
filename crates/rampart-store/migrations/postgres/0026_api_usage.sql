-- API usage (issue 20, seed 003 "Every API request is logged for analytics and security
-- auditing"): the request log, its per key x route x minute rollup, and the team plan's
-- subscription status.

-- One row per API request, written in batches off the request path. No foreign keys: a
-- request outlives the key, user or team it named (revoked keys, deleted service accounts).
-- team_id, key_id and user_id are NULL for requests without valid credentials.
CREATE TABLE request_log (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    team_id BIGINT,
    key_id BIGINT,
    user_id BIGINT,
    method TEXT NOT NULL,
    -- The route template (`/api/v1/releases/{id}`), never the raw path; `unmatched` for
    -- requests no route answered.
    endpoint TEXT NOT NULL,
    status INTEGER NOT NULL,
    latency_us BIGINT NOT NULL,
    request_bytes BIGINT NOT NULL,
    response_bytes BIGINT NOT NULL,
    client_ip TEXT,
    user_agent TEXT,
    request_id TEXT
);
CREATE INDEX request_log_team_at ON request_log (team_id, at);
CREATE INDEX request_log_at ON request_log (at);

-- Requests per (team, minute, key, user, route, method, status), with the latency histogram
-- (bucket upper bounds in rampart_core::usage::LATENCY_BUCKETS_MS: 1, 2.5, 5, 10, 25, 50, 100,
-- 250, 500, 1000, 2500, 5000, 10000 ms, then +Inf), so analytics and percentiles never read
-- the raw log. Written in the same transaction as the log rows it counts. 0 stands for "none"
-- in team_id/key_id/user_id; minute is Unix seconds at the start of the minute (UTC).
CREATE TABLE request_rollups (
    team_id BIGINT NOT NULL,
    minute BIGINT NOT NULL,
    key_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    endpoint TEXT NOT NULL,
    method TEXT NOT NULL,
    status INTEGER NOT NULL,
    requests BIGINT NOT NULL,
    latency_us_sum BIGINT NOT NULL,
    response_bytes BIGINT NOT NULL,
    latency_b00 BIGINT NOT NULL DEFAULT 0,
    latency_b01 BIGINT NOT NULL DEFAULT 0,
    latency_b02 BIGINT NOT NULL DEFAULT 0,
    latency_b03 BIGINT NOT NULL DEFAULT 0,
    latency_b04 BIGINT NOT NULL DEFAULT 0,
    latency_b05 BIGINT NOT NULL DEFAULT 0,
    latency_b06 BIGINT NOT NULL DEFAULT 0,
    latency_b07 BIGINT NOT NULL DEFAULT 0,
    latency_b08 BIGINT NOT NULL DEFAULT 0,
    latency_b09 BIGINT NOT NULL DEFAULT 0,
    latency_b10 BIGINT NOT NULL DEFAULT 0,
    latency_b11 BIGINT NOT NULL DEFAULT 0,
    latency_b12 BIGINT NOT NULL DEFAULT 0,
    latency_b13 BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (team_id, minute, key_id, user_id, endpoint, method, status)
);
CREATE INDEX request_rollups_minute ON request_rollups (minute);

-- Subscription lifecycle (seed 003: "Your API keys will stop working immediately when your
-- subscription becomes inactive. They will resume working if you reactivate"). A team's keys
-- are refused while plan_status is 'inactive' or current_period_end has passed.
ALTER TABLE teams ADD COLUMN plan_status TEXT NOT NULL DEFAULT 'active'
    CHECK (plan_status IN ('active', 'past_due', 'inactive'));
ALTER TABLE teams ADD COLUMN current_period_end TIMESTAMPTZ;
