-- Compliance posture (issue 19): per team the thresholds of the evidence checks, manual
-- attestations of controls the platform cannot measure (owner, statement, evidence file,
-- expiry), access reviews of the team's members, posture snapshots (a history, and what
-- reports are built from) and, per SBOM, the document-level NTIA facts (author, timestamp)
-- read once from the stored document. Every row carries team_id (tenancy); rows a test key
-- creates carry is_test.
CREATE TABLE compliance_settings (
    team_id INTEGER PRIMARY KEY REFERENCES teams (id) ON DELETE CASCADE,
    -- JSON object of thresholds (rampart_engine::services::compliance_checks::Thresholds)
    settings TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE compliance_attestations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    is_test BOOLEAN NOT NULL DEFAULT FALSE,
    framework TEXT NOT NULL,
    control_id TEXT NOT NULL,
    -- met or not_applicable
    status TEXT NOT NULL CHECK (status IN ('met', 'not_applicable')),
    owner TEXT NOT NULL,
    statement TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    evidence_name TEXT,
    evidence_content_type TEXT,
    evidence_sha256 TEXT,
    evidence_size INTEGER,
    evidence BLOB,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_by_user_id INTEGER,
    withdrawn_at TEXT
);
CREATE INDEX compliance_attestations_control
    ON compliance_attestations (team_id, is_test, framework, control_id);

CREATE TABLE compliance_access_reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    reviewed_at TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    reviewer_user_id INTEGER,
    -- JSON array of the members reviewed: [{"user_id", "email", "role"}]
    members TEXT NOT NULL,
    note TEXT
);
CREATE INDEX compliance_access_reviews_team ON compliance_access_reviews (team_id, reviewed_at);

CREATE TABLE compliance_snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    is_test BOOLEAN NOT NULL DEFAULT FALSE,
    -- NULL: the whole team
    product_id INTEGER REFERENCES products (id) ON DELETE CASCADE,
    taken_at TEXT NOT NULL,
    -- YYYY-MM-DD (UTC) of taken_at
    day TEXT NOT NULL,
    -- JSON: {"framework/control": "status"} to compare postures
    statuses TEXT NOT NULL,
    -- JSON: per framework score and counts
    summary TEXT NOT NULL,
    -- JSON: the whole posture the snapshot was taken of
    posture TEXT NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE INDEX compliance_snapshots_scope ON compliance_snapshots (team_id, is_test, product_id, id);

CREATE TABLE compliance_sbom_facts (
    sbom_id INTEGER PRIMARY KEY REFERENCES sboms (id) ON DELETE CASCADE,
    team_id INTEGER NOT NULL,
    author TEXT,
    -- metadata (an organisation or person the document names) or tool
    author_source TEXT,
    document_timestamp TEXT,
    computed_at TEXT NOT NULL
);
