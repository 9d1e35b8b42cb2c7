-- Findings: which knowledge-base record affects which SBOM component, how it matched, and
-- since when. Severity, EPSS and KEV are joined live from the knowledge base when read, so
-- they are always current; only the match itself is stored.

-- The knowledge-base version that last changed a record: re-analysis asks "what changed
-- since version N" without scanning the whole knowledge base.
ALTER TABLE vulnerabilities ADD COLUMN changed_in_kb_version INTEGER NOT NULL DEFAULT 0;
CREATE INDEX vulnerabilities_changed ON vulnerabilities (changed_in_kb_version);

-- `lower(base ecosystem)/normalised name` of the package a component's purl names (set by
-- analysis), the key re-analysis looks components up by.
ALTER TABLE sbom_components ADD COLUMN package_key TEXT;
CREATE INDEX sbom_components_package_key ON sbom_components (package_key);

-- Why an analysis ran ('upload' or 'knowledge_base') and what it found.
ALTER TABLE analyses ADD COLUMN reason TEXT NOT NULL DEFAULT 'upload';
ALTER TABLE analyses ADD COLUMN findings_count INTEGER;
ALTER TABLE analyses ADD COLUMN new_findings_count INTEGER;

CREATE TABLE findings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL,
    release_id INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    sbom_id INTEGER NOT NULL REFERENCES sboms (id) ON DELETE CASCADE,
    component_id INTEGER NOT NULL REFERENCES sbom_components (id) ON DELETE CASCADE,
    -- One finding per component and vulnerability (alias group); the record that matched.
    group_id INTEGER NOT NULL,
    vulnerability_id INTEGER NOT NULL REFERENCES vulnerabilities (id) ON DELETE CASCADE,
    -- purl, package or cpe; the identifier, what decided, the deciding range's index
    matched_by TEXT NOT NULL,
    identifier TEXT NOT NULL,
    detail TEXT NOT NULL,
    range_index INTEGER,
    -- JSON array of the versions that fix it (from the matched record's ranges)
    fixed_versions TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    -- Appeared in the SBOM's latest analysis.
    is_new BOOLEAN NOT NULL,
    -- Set when a later analysis no longer finds it (cleared if it comes back).
    resolved_at TEXT,
    UNIQUE (component_id, group_id)
);
CREATE INDEX findings_release ON findings (release_id, resolved_at);
CREATE INDEX findings_sbom ON findings (sbom_id);
CREATE INDEX findings_group ON findings (group_id);

-- Internal events (finding.new, finding.resolved) for webhooks and alerts to consume.
CREATE TABLE finding_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    release_id INTEGER NOT NULL,
    sbom_id INTEGER NOT NULL,
    finding_id INTEGER NOT NULL,
    analysis_id INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX finding_events_team ON finding_events (team_id, id);

-- The knowledge-base version up to which changes have been turned into re-analyses.
CREATE TABLE reanalysis_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    kb_version INTEGER NOT NULL
);
INSERT INTO reanalysis_state (id, kb_version) SELECT 1, version FROM kb_state WHERE id = 1;
