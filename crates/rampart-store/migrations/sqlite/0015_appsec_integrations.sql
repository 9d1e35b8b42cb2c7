-- AppSec data-source integrations (seed 001), the SARIF imports uploaded to them, and the
-- code findings those imports report, with their history and the teams' SLA by severity.
-- Every row carries team_id (tenancy) and is_test (rows created with an rk_test_ key).
CREATE TABLE integrations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    is_test BOOLEAN NOT NULL DEFAULT FALSE,
    name TEXT NOT NULL,
    -- GITHUB, GITLAB, …, SEMGREP, GENERIC_COLLECTOR, RAMPART_CLI
    integration_type TEXT NOT NULL,
    base_url TEXT,
    -- the credentials as JSON, sealed with the server key (AES-256-GCM, nonce first)
    credentials BLOB,
    credentials_masked TEXT NOT NULL DEFAULT '',
    -- ALL or SELECTED (then `repositories` lists them)
    selection_type TEXT NOT NULL DEFAULT 'ALL',
    repositories TEXT NOT NULL DEFAULT '[]',
    -- JSON: [{"vendor_project", "repository", "product_id"}]
    project_mappings TEXT NOT NULL DEFAULT '[]',
    last_upload_at TEXT,
    last_contact_at TEXT,
    last_error TEXT,
    last_error_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (team_id, is_test, name)
);

CREATE TABLE sarif_imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    is_test BOOLEAN NOT NULL DEFAULT FALSE,
    -- no foreign key: an import's record outlives its integration
    integration_id INTEGER NOT NULL,
    repository TEXT NOT NULL,
    branch TEXT NOT NULL,
    commit_sha TEXT,
    -- JSON array of tool names
    tools TEXT NOT NULL,
    encoding TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    results_count INTEGER NOT NULL,
    new_count INTEGER NOT NULL,
    unchanged_count INTEGER NOT NULL,
    closed_count INTEGER NOT NULL,
    reopened_count INTEGER NOT NULL,
    suppressed_count INTEGER NOT NULL,
    duplicate_count INTEGER NOT NULL,
    skipped_count INTEGER NOT NULL,
    -- JSON: [{"pointer", "message"}] (tolerated quirks and skipped results)
    warnings TEXT NOT NULL DEFAULT '[]',
    uploaded_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX sarif_imports_team ON sarif_imports (team_id, integration_id, id);

CREATE TABLE code_findings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    is_test BOOLEAN NOT NULL DEFAULT FALSE,
    integration_id INTEGER NOT NULL,
    -- the integration was deleted; the finding stays
    orphaned BOOLEAN NOT NULL DEFAULT FALSE,
    repository TEXT NOT NULL,
    branch TEXT NOT NULL,
    tool TEXT NOT NULL,
    tool_version TEXT,
    -- hex SHA-256 identity (see rampart_formats::sarif::read) and the alternates (JSON)
    identity TEXT NOT NULL,
    alternates TEXT NOT NULL DEFAULT '[]',
    fingerprints TEXT NOT NULL DEFAULT '{}',
    rule_id TEXT NOT NULL,
    rule_name TEXT,
    rule_help TEXT,
    help_uri TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    cwes TEXT NOT NULL DEFAULT '[]',
    owasp TEXT NOT NULL DEFAULT '[]',
    level TEXT NOT NULL,
    security_severity REAL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    path TEXT,
    start_line INTEGER,
    start_column INTEGER,
    end_line INTEGER,
    end_column INTEGER,
    snippet TEXT,
    code_flows TEXT,
    commit_sha TEXT,
    -- open, fixed, false_positive, accepted_risk, suppressed
    status TEXT NOT NULL,
    suppression_justification TEXT,
    triage_reason TEXT,
    accepted_until TEXT,
    first_import_id INTEGER NOT NULL,
    last_import_id INTEGER NOT NULL,
    first_seen_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX code_findings_scope ON code_findings (team_id, integration_id, repository, branch, tool);
CREATE INDEX code_findings_team ON code_findings (team_id, is_test, status, severity);

-- Status changes: by an import (import_id set) or a person's triage.
CREATE TABLE code_finding_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    finding_id INTEGER NOT NULL REFERENCES code_findings (id) ON DELETE CASCADE,
    import_id INTEGER,
    from_status TEXT,
    to_status TEXT NOT NULL,
    reason TEXT,
    accepted_until TEXT,
    actor TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX code_finding_events_finding ON code_finding_events (finding_id, id);

-- Days from first seen to due, per team and severity; a missing row takes the default.
CREATE TABLE code_finding_sla (
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    severity TEXT NOT NULL,
    -- NULL: no due date for this severity
    days INTEGER,
    PRIMARY KEY (team_id, severity)
);
