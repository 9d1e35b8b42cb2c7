-- Sync sources: server-wide feed configuration (the knowledge base is shared by all teams)
-- and their runs. Only the operators' team (`teams.is_operator`, migration 0002) may
-- configure them.

CREATE TABLE sync_sources (
    -- Chosen by the client (seed 000: `sync-src-001`) or generated.
    id TEXT PRIMARY KEY,
    -- OSV, NVD, GHSA, KEV, EPSS, EXPLOITDB
    source_type TEXT NOT NULL,
    -- NULL: the type's public default URL.
    url TEXT,
    -- AES-256-GCM: 12-byte nonce followed by ciphertext and tag. NULL: no key.
    api_key_ciphertext BYTEA,
    api_key_masked TEXT NOT NULL DEFAULT '',
    sync_interval_hours BIGINT NOT NULL,
    -- JSON array of ecosystem names.
    ecosystems TEXT NOT NULL,
    -- The incremental cursor: advanced to a successful run's start time.
    last_modified_since TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    -- When the scheduler next queues a run.
    next_run_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE sync_runs (
    id BIGSERIAL PRIMARY KEY,
    source_id TEXT NOT NULL REFERENCES sync_sources (id) ON DELETE CASCADE,
    -- 'schedule' or 'manual'
    trigger_kind TEXT NOT NULL,
    -- queued, running, succeeded, failed
    status TEXT NOT NULL,
    queued_at TIMESTAMPTZ NOT NULL,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    -- The cursor this run fetched from (NULL: full load).
    cursor_from TIMESTAMPTZ,
    records_added BIGINT NOT NULL DEFAULT 0,
    records_updated BIGINT NOT NULL DEFAULT 0,
    records_unchanged BIGINT NOT NULL DEFAULT 0,
    records_skipped BIGINT NOT NULL DEFAULT 0,
    progress TEXT,
    error TEXT,
    -- How many workers have claimed this run (more than one after a takeover).
    attempts BIGINT NOT NULL DEFAULT 0,
    -- The job lease: the worker running it and until when; renewed while it runs.
    lease_owner TEXT,
    lease_expires_at TIMESTAMPTZ
);

-- At most one queued or running run per source, across every replica.
CREATE UNIQUE INDEX sync_runs_one_active ON sync_runs (source_id)
    WHERE status IN ('queued', 'running');
CREATE INDEX sync_runs_source ON sync_runs (source_id, id);
CREATE INDEX sync_runs_status ON sync_runs (status);
