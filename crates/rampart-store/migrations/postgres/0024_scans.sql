-- Website and host scans (seeds 002 and 003) and URL monitors.

-- URL monitors: a website rescanned every `interval_minutes` (plan `url_monitors`).
CREATE TABLE scan_monitors (
    id BIGSERIAL PRIMARY KEY,
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    is_test BOOLEAN NOT NULL DEFAULT FALSE,
    target TEXT NOT NULL,
    interval_minutes BIGINT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    next_run_at TIMESTAMPTZ NOT NULL,
    last_scan_id BIGINT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX scan_monitors_team ON scan_monitors (team_id, is_test, id);
CREATE INDEX scan_monitors_due ON scan_monitors (enabled, next_run_at);

-- A scan is a job (claimed with a lease like analyses) and, once done, its result.
CREATE TABLE scans (
    id BIGSERIAL PRIMARY KEY,
    -- `sc_` + 12 hex digits: the id the API shows.
    public_id TEXT NOT NULL UNIQUE,
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    is_test BOOLEAN NOT NULL DEFAULT FALSE,
    -- 'website' or 'host'
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    -- JSON: depth, include_vulns, …
    options TEXT NOT NULL,
    -- 'api', 'ui', 'rescan' or 'monitor' (monitor runs do not count against scans_per_day)
    origin TEXT NOT NULL,
    -- 'queued', 'running', 'completed' or 'failed'
    status TEXT NOT NULL,
    previous_scan_id BIGINT,
    monitor_id BIGINT,
    -- JSON result and diff against the previous scan of the same target
    result TEXT,
    diff TEXT,
    error TEXT,
    requested_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    lease_expires_at TIMESTAMPTZ,
    attempts BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX scans_team ON scans (team_id, is_test, id);
CREATE INDEX scans_team_day ON scans (team_id, is_test, created_at);
CREATE INDEX scans_queue ON scans (status, id);
