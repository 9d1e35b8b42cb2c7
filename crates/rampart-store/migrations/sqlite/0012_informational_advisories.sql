-- RustSec's informational advisories (unmaintained, unsound, notice) are warnings, not
-- vulnerabilities: the kind a record declares (rampart_formats::advisory::Advisory::informational,
-- OSV `affected[].database_specific.informational`), NULL for a vulnerability. Findings and
-- scans read it from here; ingest writes it.
ALTER TABLE vulnerabilities ADD COLUMN informational TEXT;

-- Records stored before this column: the same rule, read from the stored record.
UPDATE vulnerabilities SET informational = COALESCE(
    (SELECT LOWER(TRIM(json_extract(a.value, '$.database_specific.informational')))
     FROM json_each(vulnerabilities.record, '$.affected') a
     WHERE json_type(a.value, '$.database_specific.informational') = 'text'
       AND TRIM(json_extract(a.value, '$.database_specific.informational')) <> ''
     LIMIT 1),
    (SELECT LOWER(TRIM(json_extract(vulnerabilities.record, '$.database_specific.informational')))
     WHERE json_type(vulnerabilities.record, '$.database_specific.informational') = 'text'
       AND TRIM(json_extract(vulnerabilities.record, '$.database_specific.informational')) <> ''))
WHERE record LIKE '%"informational"%';
