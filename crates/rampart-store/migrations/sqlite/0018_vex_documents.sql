-- VEX documents and disclosures (issue 14 items 4 and 5). A document is one version of a
-- series (the same product or release, format and BOM option): versions count the
-- published ones, so a series' revision history has no gaps. Bytes and the decisions they
-- were rendered from live apart from the metadata, so listings never read them.

-- Four-eyes approval: a team may allow the submitter to approve their own document.
ALTER TABLE teams ADD COLUMN vex_self_approval BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE vex_documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    is_test BOOLEAN NOT NULL DEFAULT FALSE,
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    -- NULL: every release of the product
    release_id INTEGER REFERENCES releases (id) ON DELETE CASCADE,
    -- openvex, cyclonedx-json, cyclonedx-xml, csaf
    format TEXT NOT NULL,
    include_bom BOOLEAN NOT NULL,
    -- the SBOM whose components travel with the VEX (include_bom)
    sbom_id INTEGER,
    series_key TEXT NOT NULL,
    -- CSAF tracking.id / OpenVEX @id, and the CycloneDX serialNumber: the same for a series
    tracking_id TEXT NOT NULL,
    serial_number TEXT NOT NULL,
    version INTEGER NOT NULL,
    -- draft, submitted, approved, rejected, published, superseded
    status TEXT NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    statement_count INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    initial_release_date TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_by_user_id INTEGER,
    submitted_at TEXT,
    submitted_by TEXT,
    submitted_by_user_id INTEGER,
    approved_at TEXT,
    approved_by TEXT,
    rejected_at TEXT,
    rejected_by TEXT,
    rejection_reason TEXT,
    published_at TEXT,
    published_by TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX vex_documents_team ON vex_documents (team_id, is_test, id);
CREATE INDEX vex_documents_series ON vex_documents (team_id, series_key, version);
-- One published document per version of a series.
CREATE UNIQUE INDEX vex_documents_published_version ON vex_documents (team_id, is_test, series_key, version)
    WHERE status = 'published';

CREATE TABLE vex_document_contents (
    document_id INTEGER PRIMARY KEY REFERENCES vex_documents (id) ON DELETE CASCADE,
    team_id INTEGER NOT NULL,
    -- JSON: the products, components and statements the document says
    snapshot TEXT NOT NULL,
    content BLOB NOT NULL
);

-- Every workflow transition (vex.generated, vex.submitted, ...), for webhooks to deliver.
-- No foreign key: the events of a deleted draft stay.
CREATE TABLE vex_document_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL,
    is_test BOOLEAN NOT NULL,
    document_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_user_id INTEGER,
    details TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX vex_document_events_team ON vex_document_events (team_id, id);
CREATE INDEX vex_document_events_document ON vex_document_events (document_id, id);

-- Products whose published documents are served without credentials (off by default).
CREATE TABLE public_disclosure_products (
    product_id INTEGER PRIMARY KEY REFERENCES products (id) ON DELETE CASCADE,
    team_id INTEGER NOT NULL,
    enabled_at TEXT NOT NULL,
    enabled_by TEXT NOT NULL
);
CREATE INDEX public_disclosure_products_team ON public_disclosure_products (team_id);
