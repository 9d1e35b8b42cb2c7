-- PostgreSQL's 0029 drops the foreign key findings.disposition_id → dispositions and its
-- index, and leaves free space on findings' pages, so that bulk triage updates findings in
-- place. SQLite keeps both: dropping a foreign key there means rebuilding the findings table,
-- its updates already rewrite only the indexes whose columns change, and without the index
-- each deleted decision's ON DELETE SET NULL would scan every finding. Nothing to change.
SELECT 1;
