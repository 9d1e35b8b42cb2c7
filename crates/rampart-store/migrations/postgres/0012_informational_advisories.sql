-- RustSec's informational advisories (unmaintained, unsound, notice) are warnings, not
-- vulnerabilities: the kind a record declares (rampart_formats::advisory::Advisory::informational,
-- OSV `affected[].database_specific.informational`), NULL for a vulnerability. Findings and
-- scans read it from here; ingest writes it.
ALTER TABLE vulnerabilities ADD COLUMN informational TEXT;

-- Records stored before this column: the same rule, read from the stored record.
UPDATE vulnerabilities v SET informational = COALESCE(
    (SELECT LOWER(TRIM(a.value -> 'database_specific' ->> 'informational'))
     FROM jsonb_array_elements(
         CASE WHEN jsonb_typeof(v.record::jsonb -> 'affected') = 'array'
              THEN v.record::jsonb -> 'affected' ELSE '[]'::jsonb END) a(value)
     WHERE jsonb_typeof(a.value -> 'database_specific' -> 'informational') = 'string'
       AND TRIM(a.value -> 'database_specific' ->> 'informational') <> ''
     LIMIT 1),
    CASE WHEN jsonb_typeof(v.record::jsonb -> 'database_specific' -> 'informational') = 'string'
              AND TRIM(v.record::jsonb -> 'database_specific' ->> 'informational') <> ''
         THEN LOWER(TRIM(v.record::jsonb -> 'database_specific' ->> 'informational')) END)
WHERE v.record LIKE '%"informational"%';
