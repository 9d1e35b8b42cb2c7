//! Who is looking at a page: [`SignedIn`] for pages behind the login (a session from the OTP
//! login, read from its cookie by the API's `identify` layer), [`Visitor`] for the login page.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use rampart_engine::services::teams;
use rampart_engine::{Actor, Credential, RequestOrigin};

use super::csrf;
use super::error::WebError;
use super::layout::{wants_fragment, Layout, TeamChoice, UserBar};
use crate::state::AppState;

/// A person signed in to the dashboard with a session (API keys do not open the dashboard).
pub struct SignedIn {
    pub actor: Actor,
    pub origin: RequestOrigin,
    pub csrf: String,
    pub fragment: bool,
    teams: Vec<TeamChoice>,
}

impl SignedIn {
    /// The layout of a page in `nav`'s section.
    pub fn layout(&self, title: impl Into<String>, nav: &'static str) -> Layout {
        let mut layout = Layout::new(title, nav, self.csrf.clone(), self.fragment);
        layout.user = Some(UserBar {
            email: self.actor.user_email.clone(),
            role: self.actor.role.to_string(),
            teams: self
                .teams
                .iter()
                .map(|team| TeamChoice {
                    id: team.id,
                    name: team.name.clone(),
                    role: team.role.clone(),
                    current: team.current,
                })
                .collect(),
        });
        layout
    }

    pub fn can(&self, scope: rampart_core::Scope) -> bool {
        self.actor.scopes.contains(scope)
    }
}

/// The signed-in actor of a request, when its credential is a session.
pub fn session_actor(extensions: &axum::http::Extensions) -> Option<&Actor> {
    crate::auth::identified(extensions)
        .filter(|actor| matches!(actor.credential, Credential::Session { .. }))
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let actor = session_actor(&parts.extensions)
            .cloned()
            .ok_or(WebError::SignIn)?;
        let csrf = csrf::expected(&parts.headers).ok_or(WebError::SignIn)?;
        let teams = teams::memberships(state, &actor)
            .await?
            .into_iter()
            .map(|m| TeamChoice {
                current: m.team_id == actor.team_id,
                id: m.team_id,
                name: m.team_name,
                role: m.role,
            })
            .collect();
        Ok(SignedIn {
            origin: origin(parts),
            fragment: wants_fragment(&parts.headers),
            actor,
            csrf,
            teams,
        })
    }
}

fn origin(parts: &Parts) -> RequestOrigin {
    parts
        .extensions
        .get::<RequestOrigin>()
        .cloned()
        .unwrap_or_default()
}

/// Someone on the login pages, signed in or not.
pub struct Visitor {
    pub headers: HeaderMap,
    pub origin: RequestOrigin,
    pub fragment: bool,
    pub signed_in: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, WebError> {
        Ok(Visitor {
            headers: parts.headers.clone(),
            origin: origin(parts),
            fragment: wants_fragment(&parts.headers),
            signed_in: session_actor(&parts.extensions).is_some(),
        })
    }
}
