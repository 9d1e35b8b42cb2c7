/// A version, range or identifier that could not be understood. Names the scheme (or
/// notation) and the offending text so a user can see what was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {scheme} input {input:?}: {reason}")]
pub struct VersionError {
    /// The scheme or notation that rejected the input, e.g. `PyPI`, `purl`, `vers`, `cpe`.
    pub scheme: String,
    /// The rejected input, verbatim.
    pub input: String,
    /// Why it was rejected.
    pub reason: String,
}

impl VersionError {
    pub fn new(
        scheme: impl Into<String>,
        input: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            scheme: scheme.into(),
            input: input.into(),
            reason: reason.into(),
        }
    }
}
