-- Each alias group's rating, kept (issue 17: a release page of 10,000 findings in <= 20 ms).
-- A findings page sorts and filters by the group's highest CVSS, highest EPSS and KEV
-- membership. Computed per request, that meant aggregating vulnerabilities, aliases, EPSS
-- scores and KEV entries for every group the release has before the first row came out. The
-- knowledge base's writers (rampart-store kb/ingest.rs: advisories, including alias-group
-- merges, KEV and EPSS) refresh the rows of the groups they touch in their own transaction.
-- A group that no record, score or KEV entry rates has a row of NULLs and false.

CREATE TABLE group_ratings (
    group_id BIGINT PRIMARY KEY,
    cvss DOUBLE PRECISION,
    epss DOUBLE PRECISION,
    epss_percentile DOUBLE PRECISION,
    in_kev BOOLEAN NOT NULL
);

INSERT INTO group_ratings (group_id, cvss, epss, epss_percentile, in_kev)
SELECT g.id,
    (SELECT MAX(v.max_cvss) FROM vulnerabilities v WHERE v.group_id = g.id),
    (SELECT MAX(e.epss) FROM vuln_aliases a JOIN epss_scores e ON e.cve_id = a.alias
     WHERE a.group_id = g.id),
    (SELECT MAX(e.percentile) FROM vuln_aliases a JOIN epss_scores e ON e.cve_id = a.alias
     WHERE a.group_id = g.id),
    EXISTS (SELECT 1 FROM vuln_aliases a JOIN kev_entries k ON k.cve_id = a.alias
            WHERE a.group_id = g.id)
FROM vuln_groups g;

-- A page of a release's findings is chosen from this index alone (the sort and filter
-- columns), then only its 100 rows are read whole. It replaces findings_release, its prefix.
CREATE INDEX findings_release_page ON findings
    (release_id, resolved_at, team_id, group_id, disposition_id, first_seen_at, sbom_id, is_new);
DROP INDEX findings_release;
