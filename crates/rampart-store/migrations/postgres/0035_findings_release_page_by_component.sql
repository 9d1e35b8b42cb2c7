-- The release page's index, led after the release by the component instead of the alias
-- group. An analysis inserts its findings in component order (component ids grow with each
-- upload), so their entries are appended at the end of the release's run; led by the group,
-- each insert landed in one of the release's thousands of group runs, a page read and
-- rewritten per finding (~2 s of the worst-case SBOM's 1.19 M findings, BENCHMARKS.md, SBOM
-- analysis). The page query reads the release's whole run either way, and nothing seeks by
-- release and group: the same columns, so it stays the covering index it was.
DROP INDEX findings_release_page;
CREATE INDEX findings_release_page ON findings
    (release_id, resolved_at, team_id, component_id, group_id, disposition_id, first_seen_at,
     sbom_id, is_new);
