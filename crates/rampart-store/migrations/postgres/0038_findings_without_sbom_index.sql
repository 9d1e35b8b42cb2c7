-- findings_sbom dropped: every SBOM belongs to one release, so each query for an SBOM's
-- findings names its release too, and findings_release_page (release first, the SBOM among
-- its columns) finds them. One index entry fewer per finding an analysis inserts: about
-- 0.3 s of the worst-case SBOM's 1.19 M findings (BENCHMARKS.md, SBOM analysis).
DROP INDEX findings_sbom;
