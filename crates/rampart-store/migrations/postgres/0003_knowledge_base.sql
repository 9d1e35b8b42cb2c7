-- Knowledge base: vulnerabilities from every feed, alias groups, severities, CWEs, references,
-- affected packages, NVD CPE matches and the vendor/product catalogue, EPSS, KEV, exploits.
-- Not tenant data: the KB is shared by every team and written only by ingest (sync/import).

-- Bumped by every ingest that changed something; match indexes rebuild when it moves.
CREATE TABLE kb_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO kb_state (id, version) VALUES (1, 0);

-- One group per set of identifiers that name the same vulnerability (CVE + GHSA + PYSEC ...).
CREATE TABLE vuln_groups (
    id BIGSERIAL PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL
);

-- Every identifier seen (record ids and their aliases) and the group it belongs to.
CREATE TABLE vuln_aliases (
    alias TEXT PRIMARY KEY,
    group_id BIGINT NOT NULL REFERENCES vuln_groups (id)
);
CREATE INDEX vuln_aliases_group ON vuln_aliases (group_id);

CREATE TABLE vulnerabilities (
    id BIGSERIAL PRIMARY KEY,
    vuln_id TEXT NOT NULL UNIQUE,
    group_id BIGINT NOT NULL REFERENCES vuln_groups (id),
    -- The feed that wrote the current version: osv, nvd, ghsa, ...
    source TEXT NOT NULL,
    summary TEXT,
    details TEXT,
    published TIMESTAMPTZ,
    modified TIMESTAMPTZ NOT NULL,
    withdrawn TIMESTAMPTZ,
    -- Highest computed CVSS base score and its band, for filtering and sorting.
    max_cvss DOUBLE PRECISION,
    severity_band TEXT,
    has_exploit_reference BOOLEAN NOT NULL,
    -- The whole normalised record (rampart_formats::advisory::Advisory) as JSON.
    record TEXT NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX vulnerabilities_group ON vulnerabilities (group_id);
CREATE INDEX vulnerabilities_published ON vulnerabilities (published);
CREATE INDEX vulnerabilities_modified ON vulnerabilities (modified);
CREATE INDEX vulnerabilities_band ON vulnerabilities (severity_band);

CREATE TABLE vuln_severities (
    vulnerability_id BIGINT NOT NULL REFERENCES vulnerabilities (id) ON DELETE CASCADE,
    -- CVSS_V2, CVSS_V3, CVSS_V4, Ubuntu, ...
    kind TEXT NOT NULL,
    vector TEXT NOT NULL,
    source TEXT,
    cvss_version TEXT,
    base_score DOUBLE PRECISION,
    band TEXT
);
CREATE INDEX vuln_severities_vulnerability ON vuln_severities (vulnerability_id);

CREATE TABLE vuln_cwes (
    vulnerability_id BIGINT NOT NULL REFERENCES vulnerabilities (id) ON DELETE CASCADE,
    cwe_id TEXT NOT NULL,
    PRIMARY KEY (vulnerability_id, cwe_id)
);
CREATE INDEX vuln_cwes_cwe ON vuln_cwes (cwe_id);

CREATE TABLE vuln_references (
    vulnerability_id BIGINT NOT NULL REFERENCES vulnerabilities (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    -- JSON array of the source's tags
    tags TEXT NOT NULL,
    is_exploit BOOLEAN NOT NULL
);
CREATE INDEX vuln_references_vulnerability ON vuln_references (vulnerability_id);

CREATE TABLE affected_packages (
    id BIGSERIAL PRIMARY KEY,
    vulnerability_id BIGINT NOT NULL REFERENCES vulnerabilities (id) ON DELETE CASCADE,
    ecosystem TEXT NOT NULL,
    name TEXT NOT NULL,
    -- Lower-cased name (PyPI also folds `_`/`.` to `-`), the lookup key.
    normalized_name TEXT NOT NULL,
    purl TEXT,
    -- JSON: OSV ranges (events) and the explicit version list.
    ranges TEXT NOT NULL,
    versions TEXT NOT NULL
);
CREATE INDEX affected_packages_vulnerability ON affected_packages (vulnerability_id);
CREATE INDEX affected_packages_package ON affected_packages (ecosystem, normalized_name);
CREATE INDEX affected_packages_purl ON affected_packages (purl);

-- The vendor/product catalogue derived from NVD CPE configurations.
CREATE TABLE cpe_products (
    id BIGSERIAL PRIMARY KEY,
    vendor TEXT NOT NULL,
    product TEXT NOT NULL,
    UNIQUE (vendor, product)
);

-- One row per cpeMatch of an NVD configuration.
CREATE TABLE cpe_matches (
    vulnerability_id BIGINT NOT NULL REFERENCES vulnerabilities (id) ON DELETE CASCADE,
    product_id BIGINT NOT NULL REFERENCES cpe_products (id),
    configuration_index BIGINT NOT NULL,
    criteria TEXT NOT NULL,
    part TEXT NOT NULL,
    -- The criteria's version component ('*' = any, '-' = not applicable).
    version TEXT NOT NULL,
    vulnerable BOOLEAN NOT NULL,
    version_start_including TEXT,
    version_start_excluding TEXT,
    version_end_including TEXT,
    version_end_excluding TEXT
);
CREATE INDEX cpe_matches_vulnerability ON cpe_matches (vulnerability_id);
CREATE INDEX cpe_matches_product ON cpe_matches (product_id);

CREATE TABLE epss_scores (
    cve_id TEXT PRIMARY KEY,
    epss DOUBLE PRECISION NOT NULL,
    percentile DOUBLE PRECISION NOT NULL,
    score_date TIMESTAMPTZ,
    model_version TEXT
);
CREATE INDEX epss_scores_epss ON epss_scores (epss);

CREATE TABLE kev_entries (
    cve_id TEXT PRIMARY KEY,
    vendor_project TEXT NOT NULL,
    product TEXT NOT NULL,
    vulnerability_name TEXT NOT NULL,
    date_added DATE NOT NULL,
    short_description TEXT NOT NULL,
    required_action TEXT NOT NULL,
    due_date DATE,
    known_ransomware_campaign_use BOOLEAN NOT NULL,
    notes TEXT NOT NULL,
    -- JSON array of CWE ids
    cwes TEXT NOT NULL
);

CREATE TABLE exploits (
    edb_id BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    exploit_type TEXT NOT NULL,
    platform TEXT NOT NULL,
    date_published DATE,
    verified BOOLEAN NOT NULL,
    author TEXT NOT NULL,
    source_url TEXT,
    file TEXT NOT NULL,
    -- JSON array of the non-CVE codes (OSVDB-..., ...)
    other_codes TEXT NOT NULL
);

CREATE TABLE exploit_cves (
    edb_id BIGINT NOT NULL REFERENCES exploits (edb_id) ON DELETE CASCADE,
    cve_id TEXT NOT NULL,
    PRIMARY KEY (edb_id, cve_id)
);
CREATE INDEX exploit_cves_cve ON exploit_cves (cve_id);
