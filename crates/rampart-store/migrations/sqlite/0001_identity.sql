-- Identity: teams (tenants), users, memberships and API keys. Timestamps are RFC 3339 text.
CREATE TABLE teams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    plan TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    -- 'person' or 'service' (a service account backing a team's CI key)
    kind TEXT NOT NULL DEFAULT 'person',
    created_at TEXT NOT NULL
);

CREATE TABLE team_members (
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- SHA-256 of the full key; the key itself is never stored.
    key_hash BLOB NOT NULL UNIQUE,
    is_test BOOLEAN NOT NULL,
    last_six TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at TEXT,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    request_count INTEGER NOT NULL DEFAULT 0,
    revoked_at TEXT
);

CREATE INDEX api_keys_team ON api_keys (team_id);
CREATE INDEX api_keys_user ON api_keys (user_id);

-- One row once the first start has created the operator's team, admin and key.
CREATE TABLE server_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    bootstrapped_at TEXT NOT NULL
);
