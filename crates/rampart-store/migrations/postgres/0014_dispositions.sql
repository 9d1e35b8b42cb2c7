-- Triage decisions (dispositions): what a team decided about one vulnerability in one
-- component, in CycloneDX's vocabulary (rampart_core::triage). History is append-only: a new
-- decision is a new row; the current decision of a finding is the latest that applies to it,
-- kept in findings.disposition_id (set when a decision is recorded and, for findings that
-- appear later — new releases, re-uploads — when their analysis completes: carry-over).
CREATE TABLE dispositions (
    id BIGSERIAL PRIMARY KEY,
    team_id BIGINT NOT NULL,
    product_id BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    -- The release the decision was made on (NULL once that release is deleted).
    release_id BIGINT REFERENCES releases (id) ON DELETE SET NULL,
    -- 'release' (that release only), 'product' (every release) or 'range' (component
    -- versions in version_range, every release)
    scope TEXT NOT NULL,
    version_range TEXT,
    -- The vulnerability as the finding named it; matched through its alias group.
    vuln_id TEXT NOT NULL,
    -- The component: analysis's package key (`ecosystem/normalised name`), else
    -- `name:<lower-cased name>`; its version when the decision was made.
    component_key TEXT NOT NULL,
    component_name TEXT NOT NULL,
    component_version TEXT,
    component_purl TEXT,
    state TEXT NOT NULL,
    justification TEXT,
    -- JSON array of responses
    responses TEXT NOT NULL,
    detail TEXT,
    action_statement TEXT,
    -- 'manual', 'vex' (an imported VEX document) or 'sbom' (an SBOM's own analysis)
    source TEXT NOT NULL,
    -- What the source names: the imported document's id.
    source_ref TEXT,
    author_kind TEXT NOT NULL,
    author_user_id BIGINT,
    author TEXT NOT NULL,
    -- What the knowledge base said when the decision was made, to flag it for re-review when
    -- that changes: severity band, KEV membership, a digest of the affected ranges.
    basis_severity TEXT,
    basis_kev BOOLEAN NOT NULL,
    basis_ranges TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX dispositions_component ON dispositions (team_id, product_id, component_key);

CREATE FUNCTION dispositions_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'dispositions are append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER dispositions_append_only BEFORE UPDATE OF team_id, product_id, scope,
    version_range, vuln_id, component_key, component_name, component_version, component_purl,
    state, justification, responses, detail, action_statement, source, source_ref, author_kind,
    author_user_id, author, basis_severity, basis_kev, basis_ranges, created_at ON dispositions
    FOR EACH ROW EXECUTE FUNCTION dispositions_append_only();

ALTER TABLE findings ADD COLUMN disposition_id BIGINT REFERENCES dispositions (id) ON DELETE SET NULL;
-- The decision came from another release, or reached the finding after it was made.
ALTER TABLE findings ADD COLUMN disposition_inherited BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX findings_disposition ON findings (disposition_id);
