//! SPDX 2.2 and 2.3 (in progress on this branch).

use super::{text, Sbom, SbomError};

pub(crate) mod json {
    use crate::sbom::{Sbom, SbomError};

    pub(crate) fn parse_str(_text: &str) -> Result<Sbom, SbomError> {
        Err(SbomError::new("SPDX JSON is not supported yet"))
    }
}

pub(crate) mod tag_value {
    use crate::sbom::{Sbom, SbomError};

    pub(crate) fn parse_str(_text: &str) -> Result<Sbom, SbomError> {
        Err(SbomError::new("SPDX tag-value is not supported yet"))
    }
}

pub fn parse_spdx_json(bytes: &[u8]) -> Result<Sbom, SbomError> {
    json::parse_str(&text::decode(bytes)?)
}

pub fn parse_spdx_tag_value(bytes: &[u8]) -> Result<Sbom, SbomError> {
    tag_value::parse_str(&text::decode(bytes)?)
}
