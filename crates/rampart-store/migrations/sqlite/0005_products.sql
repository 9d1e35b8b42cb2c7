-- Products, releases, SBOMs (stored verbatim), their parsed components and dependency edges,
-- and the analysis jobs an upload queues. Every row carries team_id (tenancy).
CREATE TABLE products (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    -- JSON array of strings
    tags TEXT NOT NULL DEFAULT '[]',
    cpe_matching BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (team_id, name)
);

CREATE TABLE releases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    status TEXT NOT NULL,
    release_date TEXT,
    eol_date TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (product_id, version)
);
CREATE INDEX releases_team ON releases (team_id);

CREATE TABLE sboms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    release_id INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    -- 'cyclonedx' or 'spdx'; document_format adds the serialisation
    format TEXT NOT NULL,
    document_format TEXT NOT NULL,
    spec_version TEXT NOT NULL,
    serial_number TEXT,
    name TEXT,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    component_count INTEGER NOT NULL,
    dependency_count INTEGER NOT NULL,
    uploaded_at TEXT NOT NULL,
    uploaded_by_user_id INTEGER NOT NULL,
    uploaded_by TEXT NOT NULL
);
CREATE INDEX sboms_release ON sboms (release_id);
CREATE INDEX sboms_team ON sboms (team_id);

-- The uploaded bytes, apart from the metadata so listings never read them.
CREATE TABLE sbom_documents (
    sbom_id INTEGER PRIMARY KEY REFERENCES sboms (id) ON DELETE CASCADE,
    team_id INTEGER NOT NULL,
    content BLOB NOT NULL
);

CREATE TABLE sbom_components (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL,
    sbom_id INTEGER NOT NULL REFERENCES sboms (id) ON DELETE CASCADE,
    -- position in the document (flattened, document order); parent_idx points at another
    position INTEGER NOT NULL,
    parent_position INTEGER,
    bom_ref TEXT,
    name TEXT NOT NULL,
    version TEXT,
    group_name TEXT,
    purl TEXT,
    cpe TEXT,
    -- JSON arrays: [{"alg","content"}], [{"id"}|{"name"}|{"expression"}]
    hashes TEXT NOT NULL,
    licenses TEXT NOT NULL,
    supplier TEXT,
    component_type TEXT,
    scope TEXT,
    -- filled by analysis: the package the purl names (OSV ecosystem and name)
    ecosystem TEXT,
    package_name TEXT
);
CREATE INDEX sbom_components_sbom ON sbom_components (sbom_id, position);

CREATE TABLE sbom_dependencies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL,
    sbom_id INTEGER NOT NULL REFERENCES sboms (id) ON DELETE CASCADE,
    from_ref TEXT NOT NULL,
    to_ref TEXT NOT NULL,
    -- 'depends_on' or 'contains'
    relationship TEXT NOT NULL
);
CREATE INDEX sbom_dependencies_sbom ON sbom_dependencies (sbom_id);

CREATE TABLE analyses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL,
    sbom_id INTEGER NOT NULL REFERENCES sboms (id) ON DELETE CASCADE,
    release_id INTEGER NOT NULL,
    -- queued, running, completed, failed
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    -- a running analysis whose lease passed is claimed again (its worker died)
    lease_expires_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    component_count INTEGER NOT NULL,
    resolved_count INTEGER,
    -- JSON object: per-ecosystem counts of resolved components
    summary TEXT,
    error TEXT
);
CREATE INDEX analyses_sbom ON analyses (sbom_id);
CREATE INDEX analyses_status ON analyses (status, id);
