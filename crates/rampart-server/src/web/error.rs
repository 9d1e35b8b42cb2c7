//! The dashboard's failures: a handler returns a [`WebError`], which leaves an
//! [`ErrorMarker`] on an empty response; the `error_page` layer, which sees the request,
//! renders it (a page, a fragment for htmx, or for a visitor who is not signed in a redirect
//! to the login page). Only the type lives here, so that the modules that fail with it
//! (CSRF, session, forms) do not depend on the page rendering. Messages are the services' own
//! (they never carry internal detail).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rampart_engine::{ErrorCode, ServiceError};

#[derive(Debug)]
pub enum WebError {
    /// Not signed in (or the session ended): to the login page.
    SignIn,
    Page {
        status: StatusCode,
        message: String,
    },
}

impl WebError {
    pub fn not_found(what: &str) -> Self {
        ServiceError::not_found(what).into()
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        WebError::Page {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        WebError::Page {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl From<ServiceError> for WebError {
    fn from(error: ServiceError) -> Self {
        let status = crate::error::status_of(error.code());
        match error.code() {
            ErrorCode::MissingCredentials | ErrorCode::InvalidApiKey => WebError::SignIn,
            _ => WebError::Page {
                status,
                message: error.message().to_string(),
            },
        }
    }
}

impl From<rampart_store::StoreError> for WebError {
    fn from(error: rampart_store::StoreError) -> Self {
        ServiceError::from(error).into()
    }
}

/// The marker the `error_page` layer renders.
#[derive(Clone)]
pub struct ErrorMarker {
    pub sign_in: bool,
    pub message: String,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, marker) = match self {
            WebError::SignIn => (
                StatusCode::SEE_OTHER,
                ErrorMarker {
                    sign_in: true,
                    message: String::new(),
                },
            ),
            WebError::Page { status, message } => (
                status,
                ErrorMarker {
                    sign_in: false,
                    message,
                },
            ),
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(marker);
        response
    }
}
