//! The failures services report, in one vocabulary with the API: a stable [`ErrorCode`] (with
//! the HTTP status the API answers it with) and a message for the caller. The server turns a
//! [`ServiceError`] into its JSON error body; the CLI prints the message. Store and internal
//! failures become `internal_error`, with the cause logged and never shown.

macro_rules! error_codes {
    ($($variant:ident => ($status:literal, $code:literal, $doc:literal);)*) => {
        /// Stable machine-readable error codes. Never rename one: clients match on them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode {
            $(#[doc = $doc] $variant,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The HTTP status the API answers this code with.
            pub fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            pub fn description(self) -> &'static str {
                match self { $(ErrorCode::$variant => $doc,)* }
            }
        }
    };
}

error_codes! {
    BadRequest => (400, "bad_request", "The request is malformed (bad query string, path parameter or header).");
    MalformedJson => (400, "invalid_json", "The body is not well-formed JSON (truncated, a syntax error, trailing characters); the message names the line and column.");
    InvalidBody => (422, "invalid_body", "The body is well-formed JSON but does not have the expected fields or types.");
    ValidationFailed => (422, "validation_failed", "A field has a value that is not allowed; the message names the field.");
    MissingCredentials => (401, "missing_credentials", "No credentials were sent. Send `Authorization: Bearer <key>`.");
    InvalidApiKey => (401, "invalid_api_key", "The provided API key is expired, revoked or invalid.");
    InsufficientScope => (403, "insufficient_scope", "The credential lacks the scope this endpoint needs; the message names it.");
    Forbidden => (403, "forbidden", "The credential may not perform this action.");
    UpgradeRequired => (403, "upgrade_required", "The team's plan does not include this feature.");
    TestModeForbidden => (403, "test_mode_forbidden", "A test key (`rk_test_`) cannot start real work (sync runs, scans, outbound notifications); use a live key.");
    QuotaExceeded => (403, "quota_exceeded", "A limit of the team's plan is reached; the message names it.");
    InvalidCode => (401, "invalid_code", "The login code is wrong, expired, used or locked after too many wrong tries.");
    NotFound => (404, "not_found", "No such resource (or it belongs to another team).");
    MethodNotAllowed => (405, "method_not_allowed", "The path exists but not with this HTTP method.");
    Conflict => (409, "conflict", "The request conflicts with the current state of the resource.");
    NotAnSbom => (400, "not_an_sbom", "The uploaded document is not a supported SBOM (CycloneDX JSON/XML, SPDX JSON/tag-value); nothing was stored.");
    InvalidSbom => (422, "invalid_sbom", "The SBOM has a problem; the message names the first one with its JSON pointer or line and column. Nothing was stored.");
    NotSarif => (400, "not_sarif", "The uploaded body is not a SARIF log (JSON, gzip, or GitHub's gzip + base64); nothing was stored.");
    InvalidSarif => (422, "invalid_sarif", "The SARIF log cannot be read; the message names the JSON pointer of the first problem. Nothing was stored.");
    NotAVex => (400, "not_a_vex", "The document is not a VEX document (OpenVEX, CycloneDX JSON/XML, CSAF 2.0 JSON); nothing was stored.");
    InvalidVex => (422, "invalid_vex", "The VEX document has a problem; the message names it with its JSON pointer or line and column. Nothing was stored.");
    RequestTimeout => (408, "request_timeout", "The request body did not arrive within the server's time limit (`--request-body-timeout-seconds`); nothing was stored.");
    PayloadTooLarge => (413, "payload_too_large", "The body exceeds the configured size limit.");
    UnsupportedMediaType => (415, "unsupported_media_type", "The body's content type is not accepted here (JSON needs `Content-Type: application/json`).");
    RateLimited => (429, "rate_limited", "Too many requests; wait for the number of seconds in `Retry-After`.");
    InternalError => (500, "internal_error", "The server failed; the request id in `X-Request-Id` finds the cause in the server log.");
    ServiceUnavailable => (503, "service_unavailable", "The server is not ready (database unreachable or migrations pending).");
}

/// A failure of a service call that its caller may see.
#[derive(Debug)]
pub struct ServiceError {
    code: ErrorCode,
    message: String,
}

impl ServiceError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ServiceError {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    /// 422 `validation_failed`: the message names the field.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationFailed, message)
    }

    /// An internal failure: the cause goes to the log (with the request id of the span),
    /// the caller gets a generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(ErrorCode::InternalError, "internal server error")
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn into_parts(self) -> (ErrorCode, String) {
        (self.code, self.message)
    }
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ServiceError {}

impl From<rampart_store::StoreError> for ServiceError {
    fn from(error: rampart_store::StoreError) -> Self {
        use rampart_store::StoreError;
        match error {
            StoreError::NotFound => ServiceError::new(ErrorCode::NotFound, "not found"),
            StoreError::Conflict(message) => ServiceError::new(ErrorCode::Conflict, message),
            StoreError::LimitReached(limit) => ServiceError::new(
                ErrorCode::QuotaExceeded,
                format!("the plan's limit of {limit} is reached"),
            ),
            other => ServiceError::internal(other),
        }
    }
}
