//! The dashboard's failures as pages: the layer that turns the [`ErrorMarker`] a
//! [`WebError`](super::error::WebError) left on a response into the error page (a fragment
//! for htmx) or, for a visitor who is not signed in, a redirect to the login page.

use askama::Template;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use super::csrf;
use super::error::ErrorMarker;
use super::layout::{reload, render_with_status, wants_fragment, Layout, UserBar};
use super::session::session_actor;

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
