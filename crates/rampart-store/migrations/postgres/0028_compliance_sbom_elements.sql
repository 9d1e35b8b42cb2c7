-- Compliance posture (issue 19): per SBOM, how many of its components carry each NTIA
-- minimum element, counted once from its stored components and dependency relationships.
-- An SBOM's components and relationships are written with it and never change (a new
-- upload is a new SBOM), so the counts are kept: the posture then reads one row per SBOM
-- instead of every component of every active release's SBOM.
CREATE TABLE compliance_sbom_elements (
    sbom_id BIGINT PRIMARY KEY REFERENCES sboms (id) ON DELETE CASCADE,
    team_id BIGINT NOT NULL,
    components BIGINT NOT NULL,
    with_name BIGINT NOT NULL,
    with_version BIGINT NOT NULL,
    with_supplier BIGINT NOT NULL,
    with_identifier BIGINT NOT NULL,
    with_dependency BIGINT NOT NULL,
    computed_at TIMESTAMPTZ NOT NULL
);
