//! The dashboard's failures as pages: a handler returns a [`WebError`], which leaves a marker
//! on an empty response; [`render_error_pages`], which sees the request, turns it into the
//! error page (a fragment for htmx) or, for a visitor who is not signed in, a redirect to the
//! login page. Messages are the services' own (they never carry internal detail).

use askama::Template;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rampart_engine::{ErrorCode, ServiceError};

use super::csrf;
use super::layout::{reload, render_with_status, wants_fragment, Layout, UserBar};
use super::session::session_actor;

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

/// The marker [`render_error_pages`] renders.
#[derive(Clone)]
struct ErrorMarker {
    sign_in: bool,
    message: String,
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

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    heading: &'static str,
    message: String,
}

/// Layer of the dashboard's routes: error markers become pages.
pub async fn render_error_pages(request: Request, next: Next) -> Response {
    let fragment = wants_fragment(request.headers());
    let csrf = csrf::expected(request.headers()).unwrap_or_default();
    let user = session_actor(request.extensions()).map(|actor| UserBar {
        email: actor.user_email.clone(),
        role: actor.role.to_string(),
        teams: Vec::new(),
    });
    let response = next.run(request).await;
    let Some(marker) = response.extensions().get::<ErrorMarker>().cloned() else {
        return response;
    };
    if marker.sign_in {
        return reload(fragment, "/login");
    }
    let status = response.status();
    let mut layout = Layout::new(heading(status), "", csrf, fragment);
    layout.user = user;
    render_with_status(
        status,
        &ErrorPage {
            layout,
            status: status.as_u16(),
            heading: heading(status),
            message: marker.message,
        },
    )
}

fn heading(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Bad request",
        403 => "Not allowed",
        404 => "Not found",
        409 => "Conflict",
        413 => "Too large",
        422 => "Not accepted",
        429 => "Too many requests",
        s if s >= 500 => "Something went wrong",
        _ => "Cannot do that",
    }
}
