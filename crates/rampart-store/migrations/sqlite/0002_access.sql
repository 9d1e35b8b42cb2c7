-- Identity and access: sessions from e-mail OTP login, the operator team, service-account
-- names, key expiry policy, the append-only audit log, rate-limit counters.
ALTER TABLE users ADD COLUMN name TEXT;

-- The team made at bootstrap: its owners/admins operate the server (e.g. set plans).
ALTER TABLE teams ADD COLUMN is_operator BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE teams SET is_operator = TRUE WHERE id = (SELECT MIN(id) FROM teams);

-- Who created the key (for a service-account key: the admin), and the expiry policy a
-- rotation repeats: `expiry_days` for "N days from creation", NULL for none or a fixed date.
ALTER TABLE api_keys ADD COLUMN created_by INTEGER;
ALTER TABLE api_keys ADD COLUMN expiry_days INTEGER;

CREATE TABLE otp_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL,
    -- SHA-256(salt || code); the code itself is never stored.
    code_salt BLOB NOT NULL,
    code_hash BLOB NOT NULL,
    request_ip TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    consumed_at TEXT
);
CREATE INDEX otp_codes_email ON otp_codes (email, id);
CREATE INDEX otp_codes_ip ON otp_codes (request_ip, created_at);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    -- SHA-256 of the opaque session token.
    token_hash BLOB NOT NULL UNIQUE,
    source_ip TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Append-only: no route updates or deletes entries, and triggers refuse both. No foreign
-- keys, so entries outlive the users, service accounts and keys they name.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER,
    actor_user_id INTEGER,
    actor TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT,
    target_id TEXT,
    details TEXT,
    request_id TEXT,
    source_ip TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX audit_log_team ON audit_log (team_id, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- Fixed-window request counters (used on PostgreSQL to share limits across replicas; the
-- table exists on SQLite too so both schemas match).
CREATE TABLE rate_limit_counters (
    bucket TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
