//! Signing in by e-mail code (the OTP flow of `services::login` and `services::sessions`),
//! switching teams and signing out. The session cookie is the API's (HttpOnly, SameSite=Strict).

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::Response;
use rampart_engine::services::{login, sessions};
use rampart_engine::ErrorCode;

use crate::auth::session_cookie_header as session_cookie;
use crate::state::AppState;
use crate::web::csrf;
use crate::web::error::WebError;
use crate::web::form::Form;
use crate::web::layout::{reload, render, Layout};
use crate::web::session::{SignedIn, Visitor};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    /// Set once a code was sent: the verify step.
    email: Option<String>,
    team_id: Option<i64>,
    notice: Option<String>,
    problem: Option<String>,
}

fn login_page(
    state: &AppState,
    visitor: &Visitor,
    email: Option<String>,
    team_id: Option<i64>,
    notice: Option<String>,
    problem: Option<String>,
) -> Response {
    let (token, cookie) = csrf::for_visitor(&visitor.headers, state.config.secure_cookies());
    let mut response = render(&LoginPage {
        layout: Layout::new("Sign in", "login", token, visitor.fragment),
        email,
        team_id,
        notice,
        problem,
    });
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `GET /login`: the e-mail form (or, signed in already, the portfolio).
pub async fn form(State(state): State<AppState>, visitor: Visitor) -> Response {
    if visitor.signed_in {
        return reload(visitor.fragment, "/");
    }
    login_page(&state, &visitor, None, None, None, None)
}

/// `POST /login`: sends a code, then asks for it.
pub async fn send_code(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form,
) -> Result<Response, WebError> {
    let email = form.get("email").unwrap_or("").to_string();
    match login::request_login_code(&state, &visitor.origin, &email).await {
        Ok(_) => Ok(login_page(
            &state,
            &visitor,
            Some(email),
            form.number("team_id")?,
            None,
            None,
        )),
        Err(error) if error.code() == ErrorCode::ValidationFailed => Ok(login_page(
            &state,
            &visitor,
            None,
            None,
            None,
            Some(error.message().to_string()),
        )),
        Err(error) => Err(error.into()),
    }
}

/// `POST /login/verify`: the code for a session cookie.
pub async fn verify(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form,
) -> Result<Response, WebError> {
    let email = form.get("email").unwrap_or("").to_string();
    let code = form.get("code").unwrap_or("");
    let team_id = form.number("team_id")?;
    match sessions::redeem_login_code(&state, &visitor.origin, &email, code, team_id).await {
        Ok(session) => Ok(signed_in(&state, visitor.fragment, &session)),
        Err(error) if error.code() == ErrorCode::InvalidCode => Ok(login_page(
            &state,
            &visitor,
            Some(email),
            team_id,
            None,
            Some(error.message().to_string()),
        )),
        Err(error) => Err(error.into()),
    }
}

/// The portfolio with the new session's cookie set.
fn signed_in(state: &AppState, fragment: bool, session: &sessions::OpenedSession) -> Response {
    let mut response = reload(fragment, "/");
    response.headers_mut().append(
        header::SET_COOKIE,
        session_cookie(
            &session.token,
            state.config.session_ttl.num_seconds(),
            state.config.secure_cookies(),
        ),
    );
    response
}

/// `POST /team`: the same person in another of their teams.
pub async fn switch_team(
    State(state): State<AppState>,
    user: SignedIn,
    Form(form): Form,
) -> Result<Response, WebError> {
    let team_id = form
        .number("team_id")?
        .ok_or_else(|| WebError::bad_request("choose a team"))?;
    let session = sessions::switch_team(&state, &user.actor, &user.origin, team_id).await?;
    Ok(signed_in(&state, user.fragment, &session))
}

/// `POST /logout`: ends the session and clears its cookie.
pub async fn logout(State(state): State<AppState>, user: SignedIn) -> Result<Response, WebError> {
    sessions::end_session(&state, &user.actor, &user.origin).await?;
    let mut response = reload(user.fragment, "/login");
    response.headers_mut().append(
        header::SET_COOKIE,
        session_cookie("", 0, state.config.secure_cookies()),
    );
    Ok(response)
}
