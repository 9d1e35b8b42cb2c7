-- Compliance posture (issue 19): per SBOM, how many of its components carry each NTIA
-- minimum element, counted once from its stored components and dependency relationships.
-- An SBOM's components and relationships are written with it and never change (a new
-- upload is a new SBOM), so the counts are kept: the posture then reads one row per SBOM
-- instead of every component of every active release's SBOM.
CREATE TABLE compliance_sbom_elements (
    sbom_id INTEGER PRIMARY KEY REFERENCES sboms (id) ON DELETE CASCADE,
    team_id INTEGER NOT NULL,
    components INTEGER NOT NULL,
    with_name INTEGER NOT NULL,
    with_version INTEGER NOT NULL,
    with_supplier INTEGER NOT NULL,
    with_identifier INTEGER NOT NULL,
    with_dependency INTEGER NOT NULL,
    computed_at TEXT NOT NULL
);
