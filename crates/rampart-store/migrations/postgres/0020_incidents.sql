-- Incidents (seed 002 `POST /v1/incidents`, issue 16 item 5): tickets with automated triage
-- (priority, SLA due dates, assignee), a dedupe key so that a repeat of an open incident is
-- appended to it, the status workflow's timestamps, a timeline (reports, repeats, status
-- changes, comments, assignments, links) and links to findings, vulnerabilities and (later)
-- scans. Per team: SLA hours per priority and assignment rules. Every row carries team_id
-- (tenancy) and incidents carry is_test (rows created with an rk_test_ key).
CREATE TABLE incidents (
    id BIGSERIAL PRIMARY KEY,
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    is_test BOOLEAN NOT NULL DEFAULT FALSE,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    priority TEXT NOT NULL CHECK (priority IN ('P1', 'P2', 'P3', 'P4')),
    status TEXT NOT NULL
        CHECK (status IN ('open', 'acknowledged', 'investigating', 'resolved', 'closed')),
    -- JSON arrays of strings: the systems as reported (asset ids, IPs) and tags
    affected_systems TEXT NOT NULL DEFAULT '[]',
    tags TEXT NOT NULL DEFAULT '[]',
    -- JSON: the triage's priority, reasons and inputs (rampart_core::incident::Triage)
    triage TEXT NOT NULL,
    -- hex SHA-256 of the normalised title and systems (rampart_core::incident::dedupe_key)
    dedupe_key TEXT NOT NULL,
    occurrences BIGINT NOT NULL DEFAULT 1,
    last_occurred_at TIMESTAMPTZ NOT NULL,
    assignee_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    reporter TEXT NOT NULL,
    acknowledge_due_at TIMESTAMPTZ,
    resolve_due_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    acknowledged_at TIMESTAMPTZ,
    investigating_at TIMESTAMPTZ,
    resolved_at TIMESTAMPTZ,
    closed_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX incidents_team ON incidents (team_id, is_test, status, id);
-- One active incident per report: a repeat is appended, not a second ticket.
CREATE UNIQUE INDEX incidents_active_dedupe ON incidents (team_id, is_test, dedupe_key)
    WHERE status IN ('open', 'acknowledged', 'investigating');

CREATE TABLE incident_links (
    id BIGSERIAL PRIMARY KEY,
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    incident_id BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    -- finding (an SBOM finding id), code_finding (a SARIF finding id), vulnerability (any
    -- identifier of the knowledge base, or a CVE id it does not hold yet), scan (later)
    kind TEXT NOT NULL CHECK (kind IN ('finding', 'code_finding', 'vulnerability', 'scan')),
    target TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (incident_id, kind, target)
);

CREATE TABLE incident_timeline (
    id BIGSERIAL PRIMARY KEY,
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    incident_id BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    -- created, occurrence, status, comment, assignment, priority, link, update
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    message TEXT,
    -- JSON object of the entry's facts (from/to status, the repeat's severity, …)
    details TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX incident_timeline_incident ON incident_timeline (incident_id, id);

CREATE TABLE incident_settings (
    team_id BIGINT PRIMARY KEY REFERENCES teams (id) ON DELETE CASCADE,
    -- JSON: [{"acknowledge_hours", "resolve_hours"}] for P1..P4 (null hours: no due date);
    -- NULL: the defaults (rampart_core::incident::SlaPolicy)
    sla TEXT,
    -- none or round_robin
    assignment_mode TEXT NOT NULL DEFAULT 'none',
    -- round robin among the members with this role
    assignment_role TEXT NOT NULL DEFAULT 'member',
    -- JSON: [{"tag", "assignee_user_id"}], first match wins
    tag_rules TEXT NOT NULL DEFAULT '[]',
    -- the last member round robin assigned
    round_robin_last_user_id BIGINT,
    updated_at TIMESTAMPTZ NOT NULL
);
