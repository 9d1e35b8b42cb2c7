-- Product/vendor CVE alerts (seed 003) and e-mail notifications.

-- CVE JSON 5 records: the vendors and products a CVE's CNA (and ADP containers) name as
-- affected, which a CVE carries from the day it is published, before NVD writes a CPE
-- configuration for it. Alerts match these names too. Keyed by CVE id like KEV and EPSS.
CREATE TABLE cve_records (
    cve_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    title TEXT,
    date_published TIMESTAMPTZ,
    date_updated TIMESTAMPTZ,
    max_cvss DOUBLE PRECISION,
    changed_in_kb_version BIGINT NOT NULL
);
CREATE INDEX cve_records_changed ON cve_records (changed_in_kb_version);

CREATE TABLE cve_affected_products (
    cve_id TEXT NOT NULL REFERENCES cve_records (cve_id) ON DELETE CASCADE,
    vendor TEXT NOT NULL,
    product TEXT NOT NULL,
    PRIMARY KEY (cve_id, vendor, product)
);

-- KEV entries say when they last changed, like vulnerabilities: a CVE newly listed is news
-- to a watch (KEV-only conditions, vendor/product from KEV).
ALTER TABLE kev_entries ADD COLUMN changed_in_kb_version BIGINT NOT NULL DEFAULT 0;
CREATE INDEX kev_entries_changed ON kev_entries (changed_in_kb_version);

-- A team's watches: a vendor, a vendor + product, or a package (ecosystem + name or purl),
-- with optional conditions. Counted against the plan's `product_alerts`.
CREATE TABLE alert_watches (
    id BIGSERIAL PRIMARY KEY,
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    is_test BOOLEAN NOT NULL DEFAULT FALSE,
    name TEXT NOT NULL,
    -- 'vendor', 'product' or 'package'
    kind TEXT NOT NULL,
    vendor TEXT,
    product TEXT,
    ecosystem TEXT,
    package_name TEXT,
    purl TEXT,
    -- package_lookup_key of the package
    package_key TEXT,
    min_cvss DOUBLE PRECISION,
    min_epss DOUBLE PRECISION,
    kev_only BOOLEAN NOT NULL DEFAULT FALSE,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    -- Changes up to this knowledge-base version predate the watch and do not alert.
    created_kb_version BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX alert_watches_team ON alert_watches (team_id, is_test, id);

-- One row per watch and record (alias group, named by its CVE id when it has one); updated
-- when the record changes materially again.
CREATE TABLE alert_matches (
    id BIGSERIAL PRIMARY KEY,
    team_id BIGINT NOT NULL,
    is_test BOOLEAN NOT NULL,
    watch_id BIGINT NOT NULL REFERENCES alert_watches (id) ON DELETE CASCADE,
    vuln_id TEXT NOT NULL,
    -- JSON array of the group's other identifiers
    aliases TEXT NOT NULL,
    summary TEXT,
    -- 'nvd_cpe', 'cve5', 'kev' or 'osv_package', and the name that decided
    matched_by TEXT NOT NULL,
    matched_on TEXT NOT NULL,
    max_cvss DOUBLE PRECISION,
    epss DOUBLE PRECISION,
    kev BOOLEAN NOT NULL,
    -- 'new' or 'updated' (the latest alert)
    change TEXT NOT NULL,
    kb_version BIGINT NOT NULL,
    -- The alert.matched event of the latest alert
    event_id BIGINT,
    alerts BIGINT NOT NULL,
    first_matched_at TIMESTAMPTZ NOT NULL,
    last_matched_at TIMESTAMPTZ NOT NULL,
    UNIQUE (watch_id, vuln_id)
);
CREATE INDEX alert_matches_team ON alert_matches (team_id, is_test, watch_id, id);

-- The knowledge-base version alerts have been evaluated up to (one replica claims each step).
CREATE TABLE alert_state (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    kb_version BIGINT NOT NULL
);
INSERT INTO alert_state (id, kb_version) SELECT 1, version FROM kb_state WHERE id = 1;

-- A person's e-mail notification preferences in one team, with the notifier's progress: the
-- last event considered (so nothing is sent twice across restarts) and a lease, so that one
-- replica at a time works on a subscriber.
CREATE TABLE notification_preferences (
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- space-separated event types
    event_types TEXT NOT NULL,
    -- 'immediate' or 'daily_digest'
    delivery TEXT NOT NULL,
    -- UTC hour the daily digest goes out
    digest_hour INTEGER NOT NULL,
    enabled BOOLEAN NOT NULL,
    unsubscribed_at TIMESTAMPTZ,
    last_event_id BIGINT NOT NULL,
    next_digest_at TIMESTAMPTZ,
    lease_owner TEXT,
    lease_until TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (team_id, user_id)
);

-- Every e-mail notification of an event to a person: queued for a digest, sent or failed.
CREATE TABLE notification_deliveries (
    id BIGSERIAL PRIMARY KEY,
    team_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    event_id BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    -- 'immediate' or 'daily_digest'
    delivery TEXT NOT NULL,
    -- 'queued', 'sent' or 'failed'
    status TEXT NOT NULL,
    error TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ,
    UNIQUE (user_id, team_id, event_id)
);
CREATE INDEX notification_deliveries_event ON notification_deliveries (team_id, event_id);
CREATE INDEX notification_deliveries_queued ON notification_deliveries (team_id, user_id, status);
