//! Advisory feeds: OSV (JSON and YAML), NVD CVE API 2.0, CISA KEV, FIRST EPSS, ExploitDB.
