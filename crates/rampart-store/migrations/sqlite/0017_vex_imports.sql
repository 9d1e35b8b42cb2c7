-- VEX documents imported into a release: what was imported, by whom, and what it did. The
-- decisions themselves are dispositions with source 'vex' and source_ref 'sha256:<sha256>'.
CREATE TABLE vex_imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL,
    release_id INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    -- 'openvex', 'cyclonedx-json', 'cyclonedx-xml' or 'csaf'
    format TEXT NOT NULL,
    -- The document's own id (OpenVEX @id, CSAF tracking.id, CycloneDX serialNumber) and version
    document_id TEXT NOT NULL,
    document_version INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    overwrite BOOLEAN NOT NULL,
    statements INTEGER NOT NULL,
    applied INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    unmatched INTEGER NOT NULL,
    -- Findings that took an imported decision, and those a manual decision kept
    findings_decided INTEGER NOT NULL,
    kept_manual INTEGER NOT NULL,
    imported_by_kind TEXT NOT NULL,
    imported_by_user_id INTEGER,
    imported_by TEXT NOT NULL,
    imported_at TEXT NOT NULL
);
CREATE INDEX vex_imports_release ON vex_imports (team_id, release_id, id);
