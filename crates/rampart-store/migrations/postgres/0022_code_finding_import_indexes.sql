-- What an import opened is looked up by the import: the findings it created and the status
-- changes it made. Without these, each lookup scans every code finding of the team.
CREATE INDEX code_findings_first_import ON code_findings (team_id, first_import_id);
CREATE INDEX code_finding_events_import ON code_finding_events (import_id);
