-- Identity and access: sessions from e-mail OTP login, the operator team, service-account
-- names, key expiry policy, the append-only audit log, rate-limit counters.
ALTER TABLE users ADD COLUMN name TEXT;

-- The team made at bootstrap: its owners/admins operate the server (e.g. set plans).
ALTER TABLE teams ADD COLUMN is_operator BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE teams SET is_operator = TRUE WHERE id = (SELECT MIN(id) FROM teams);

-- Who created the key (for a service-account key: the admin), and the expiry policy a
-- rotation repeats: `expiry_days` for "N days from creation", NULL for none or a fixed date.
ALTER TABLE api_keys ADD COLUMN created_by BIGINT;
ALTER TABLE api_keys ADD COLUMN expiry_days INTEGER;

CREATE TABLE otp_codes (
    id BIGSERIAL PRIMARY KEY,
    email TEXT NOT NULL,
    -- SHA-256(salt || code); the code itself is never stored.
    code_salt BYTEA NOT NULL,
    code_hash BYTEA NOT NULL,
    request_ip TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    consumed_at TIMESTAMPTZ
);
CREATE INDEX otp_codes_email ON otp_codes (email, id);
CREATE INDEX otp_codes_ip ON otp_codes (request_ip, created_at);

CREATE TABLE sessions (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    -- SHA-256 of the opaque session token.
    token_hash BYTEA NOT NULL UNIQUE,
    source_ip TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    ended_at TIMESTAMPTZ
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Append-only: no route updates or deletes entries, and a trigger refuses both. No foreign
-- keys, so entries outlive the users, service accounts and keys they name.
CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    team_id BIGINT,
    actor_user_id BIGINT,
    actor TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT,
    target_id TEXT,
    details TEXT,
    request_id TEXT,
    source_ip TEXT,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_log_team ON audit_log (team_id, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Fixed-window request counters shared by every replica (atomic upsert per request).
CREATE TABLE rate_limit_counters (
    bucket TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
