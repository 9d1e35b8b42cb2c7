-- Go module paths are looked up case-insensitively (Trivy lower-cases them in SBOMs): stored
-- lookup names of Go packages take the new normalisation (rampart_core::normalize_package_name).
UPDATE affected_packages
SET normalized_name = lower(normalized_name)
WHERE lower(ecosystem) = 'go' OR lower(ecosystem) LIKE 'go:%';
