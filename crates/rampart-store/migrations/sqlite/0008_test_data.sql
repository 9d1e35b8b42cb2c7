-- Test data (seed 002, DESIGN §4): rows created with an `rk_test_` key are marked and kept
-- apart from live data. Live credentials see only is_test = FALSE rows, test keys only
-- is_test = TRUE rows. Releases and SBOMs copy the flag of their product/release.
ALTER TABLE products ADD COLUMN is_test BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE releases ADD COLUMN is_test BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE sboms ADD COLUMN is_test BOOLEAN NOT NULL DEFAULT FALSE;
