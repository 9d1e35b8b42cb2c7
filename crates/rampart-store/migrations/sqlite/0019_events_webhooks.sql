-- One event stream (issue 16 items 1 and 2). Every state change other parties care about
-- writes an event row in the same transaction as the change (the outbox); webhook delivery,
-- e-mail and alerts read events, nothing is sent from inside a request.

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- NULL: a server-wide event (sync.*), listed and delivered to the operator team
    team_id INTEGER REFERENCES teams (id) ON DELETE CASCADE,
    -- finding.new, vex.published, … (rampart_core::EventType)
    type TEXT NOT NULL,
    -- recorded by test-key activity: listed to test keys, never delivered
    test_mode BOOLEAN NOT NULL DEFAULT FALSE,
    -- JSON object: the event's subject ids and facts
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    -- FALSE until the delivery worker has fanned it out to the matching webhook endpoints
    dispatched BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX events_team ON events (team_id, id);
CREATE INDEX events_team_type ON events (team_id, type, id);
CREATE INDEX events_undispatched ON events (id) WHERE NOT dispatched;

-- The finding events recorded so far move into the stream with their ids, so cursors that
-- clients of GET /api/v1/finding-events hold stay valid. Past events are not delivered.
INSERT INTO events (id, team_id, type, test_mode, data, created_at, dispatched)
SELECT e.id, e.team_id, e.kind, COALESCE(s.is_test, FALSE),
       json_object('finding_id', e.finding_id, 'release_id', e.release_id,
                   'product_id', r.product_id, 'sbom_id', e.sbom_id,
                   'analysis_id', e.analysis_id),
       e.created_at, TRUE
FROM finding_events e
LEFT JOIN sboms s ON s.id = e.sbom_id
LEFT JOIN releases r ON r.id = e.release_id;
DROP TABLE finding_events;

-- Webhook endpoints of a team. The signing secret is encrypted with the server key (like
-- sync-source API keys); during a rotation the previous secret signs too until it expires.
CREATE TABLE webhook_endpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    -- made by a test key: seen by test keys only, never delivered to
    is_test BOOLEAN NOT NULL DEFAULT FALSE,
    url TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- space-separated event types; empty: every type
    event_types TEXT NOT NULL DEFAULT '',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    secret_ciphertext BLOB NOT NULL,
    previous_secret_ciphertext BLOB,
    previous_secret_expires_at TEXT,
    secret_rotated_at TEXT,
    -- why the server disabled it (410 Gone, failing too long); NULL when enabled or by hand
    disabled_reason TEXT,
    disabled_at TEXT,
    -- the first failed attempt of the current run of failures (NULL after a success)
    failing_since TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX webhook_endpoints_team ON webhook_endpoints (team_id, id);

-- One event to one endpoint: a job row claimed with a lease, retried on a schedule.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    -- pending, delivered, failed (retries exhausted), cancelled (endpoint disabled)
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_owner TEXT,
    lease_expires_at TEXT,
    last_status_code INTEGER,
    last_error TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT,
    updated_at TEXT NOT NULL,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

-- Every attempt of a delivery: what was answered and how long it took.
CREATE TABLE webhook_delivery_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL,
    delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    endpoint_id INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    status_code INTEGER,
    -- the first 1 KB of the response body
    response_excerpt TEXT,
    error TEXT
);
CREATE INDEX webhook_delivery_attempts_delivery ON webhook_delivery_attempts (delivery_id, id);
CREATE INDEX webhook_delivery_attempts_endpoint ON webhook_delivery_attempts (endpoint_id, id);
