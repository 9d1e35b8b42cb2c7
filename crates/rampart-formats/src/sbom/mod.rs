//! Software bills of materials: CycloneDX (JSON, XML) and SPDX (JSON, tag-value).
