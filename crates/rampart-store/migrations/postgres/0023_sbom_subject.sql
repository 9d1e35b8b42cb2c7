-- What a CycloneDX SBOM describes (`metadata.component`) beyond its name: VEX documents name
-- a release by it (purl, CPE, or name and version), not by the product's name in Rampart.
ALTER TABLE sboms ADD COLUMN subject_version TEXT;
ALTER TABLE sboms ADD COLUMN subject_purl TEXT;
ALTER TABLE sboms ADD COLUMN subject_cpe TEXT;
