//! GitHub and GitLab REST APIs as integrations use them: "test connection" (who the token
//! is) and repository discovery, paginated the way each documents it (GitHub's `Link:
//! rel="next"`, GitLab's `X-Next-Page`). Every request goes through the outbound guard.

use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, LINK};
use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::sync::{OutboundClient, OutboundPolicy};

/// Most pages read in one discovery (100 repositories each).
const MAX_PAGES: usize = 100;
const PER_PAGE: usize = 100;
/// Largest response read from a VCS API.
const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// The hosted services' API roots, used when an integration has no base URL.
pub const GITHUB_API: &str = "https://api.github.com";
pub const GITLAB_URL: &str = "https://gitlab.com";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VcsKind {
    /// `base` is the REST API root (`https://api.github.com`, or
    /// `https://github.example.com/api/v3` for GitHub Enterprise Server).
    GitHub,
    /// `base` is the instance (`https://gitlab.example.com`); `/api/v4` is added.
    GitLab,
}

/// Whom the token authenticates as.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VcsIdentity {
    pub login: String,
    pub id: i64,
}

/// A discovered repository.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DiscoveredRepository {
    /// `owner/name` (GitHub `full_name`, GitLab `path_with_namespace`).
    pub full_name: String,
    pub default_branch: Option<String>,
    pub private: bool,
    pub web_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum VcsError {
    #[error("{0}")]
    Refused(String),
    #[error("the service answered HTTP {status}: {message}")]
    Status { status: u16, message: String },
    #[error("{0}")]
    Transport(String),
}

#[derive(Deserialize)]
struct GitHubUser {
    login: String,
    id: i64,
}

#[derive(Deserialize)]
struct GitHubRepository {
    full_name: String,
    default_branch: Option<String>,
    #[serde(default)]
    private: bool,
    html_url: Option<String>,
}

#[derive(Deserialize)]
struct GitLabUser {
    username: String,
    id: i64,
}

#[derive(Deserialize)]
struct GitLabProject {
    path_with_namespace: String,
    default_branch: Option<String>,
    visibility: Option<String>,
    web_url: Option<String>,
}

/// A client for one integration's service.
pub struct VcsClient {
    kind: VcsKind,
    base: String,
    token: String,
    client: OutboundClient,
}

impl VcsClient {
    /// `policy` is the server's outbound policy; the response size and time are bounded
    /// further for API calls.
    pub fn new(
        kind: VcsKind,
        base_url: Option<&str>,
        token: &str,
        policy: &OutboundPolicy,
    ) -> Result<VcsClient, VcsError> {
        let mut policy = policy.clone();
        policy.max_response_bytes = policy.max_response_bytes.min(MAX_RESPONSE_BYTES);
        policy.request_timeout = policy
            .request_timeout
            .min(std::time::Duration::from_secs(30));
        let default = match kind {
            VcsKind::GitHub => GITHUB_API,
            VcsKind::GitLab => GITLAB_URL,
        };
        let base = base_url
            .unwrap_or(default)
            .trim_end_matches('/')
            .to_string();
        let client =
            OutboundClient::new(policy).map_err(|error| VcsError::Transport(error.to_string()))?;
        Ok(VcsClient {
            kind,
            base,
            token: token.to_string(),
            client,
        })
    }

    fn url(&self, path: &str) -> String {
        match self.kind {
            VcsKind::GitHub => format!("{}{path}", self.base),
            VcsKind::GitLab => format!("{}/api/v4{path}", self.base),
        }
    }

    async fn get(&self, url: &str) -> Result<(HeaderMap, Vec<u8>), VcsError> {
        self.client
            .policy()
            .admit(url)
            .await
            .map_err(|refused| VcsError::Refused(refused.to_string()))?;
        let url = Url::parse(url).map_err(|error| VcsError::Refused(error.to_string()))?;
        let request = self.client.get(url);
        let request = match self.kind {
            VcsKind::GitHub => request
                .header(AUTHORIZATION, format!("Bearer {}", self.token))
                .header(ACCEPT, "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28"),
            VcsKind::GitLab => request.header("PRIVATE-TOKEN", &self.token),
        };
        let response = request
            .send()
            .await
            .map_err(|error| VcsError::Transport(describe(error)))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = self
            .client
            .read_body(response)
            .await
            .map_err(|error| VcsError::Transport(error.to_string()))?;
        if !status.is_success() {
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| {
                    v.get("message")
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                })
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
            return Err(VcsError::Status {
                status: status.as_u16(),
                message: message.chars().take(300).collect(),
            });
        }
        Ok((headers, body))
    }

    fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, VcsError> {
        serde_json::from_slice(body)
            .map_err(|error| VcsError::Transport(format!("unexpected response: {error}")))
    }

    /// The authenticated user (`GET /user`).
    pub async fn identity(&self) -> Result<VcsIdentity, VcsError> {
        let (_, body) = self.get(&self.url("/user")).await?;
        Ok(match self.kind {
            VcsKind::GitHub => {
                let user: GitHubUser = Self::parse(&body)?;
                VcsIdentity {
                    login: user.login,
                    id: user.id,
                }
            }
            VcsKind::GitLab => {
                let user: GitLabUser = Self::parse(&body)?;
                VcsIdentity {
                    login: user.username,
                    id: user.id,
                }
            }
        })
    }

    /// Every repository the token can see: GitHub `GET /user/repos`, GitLab
    /// `GET /api/v4/projects?membership=true`, all pages (at most 100 of 100).
    pub async fn repositories(&self) -> Result<Vec<DiscoveredRepository>, VcsError> {
        let mut next = Some(match self.kind {
            VcsKind::GitHub => self.url(&format!("/user/repos?per_page={PER_PAGE}&page=1")),
            VcsKind::GitLab => self.url(&format!(
                "/projects?membership=true&per_page={PER_PAGE}&page=1"
            )),
        });
        let mut out = Vec::new();
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(VcsError::Refused(format!(
                    "more than {} repositories: select repositories instead of ALL",
                    MAX_PAGES * PER_PAGE
                )));
            }
            let (headers, body) = self.get(&url).await?;
            match self.kind {
                VcsKind::GitHub => {
                    let page: Vec<GitHubRepository> = Self::parse(&body)?;
                    out.extend(page.into_iter().map(|r| DiscoveredRepository {
                        full_name: r.full_name,
                        default_branch: r.default_branch,
                        private: r.private,
                        web_url: r.html_url,
                    }));
                    next = headers
                        .get(LINK)
                        .and_then(|v| v.to_str().ok())
                        .and_then(next_link);
                }
                VcsKind::GitLab => {
                    let page: Vec<GitLabProject> = Self::parse(&body)?;
                    out.extend(page.into_iter().map(|p| DiscoveredRepository {
                        full_name: p.path_with_namespace,
                        default_branch: p.default_branch,
                        private: p.visibility.as_deref() != Some("public"),
                        web_url: p.web_url,
                    }));
                    next = headers
                        .get("x-next-page")
                        .and_then(|v| v.to_str().ok())
                        .map(str::trim)
                        .filter(|page| !page.is_empty())
                        .and_then(|page| page.parse::<u32>().ok())
                        .map(|page| {
                            self.url(&format!(
                                "/projects?membership=true&per_page={PER_PAGE}&page={page}"
                            ))
                        });
                }
            }
        }
        Ok(out)
    }
}

/// The `rel="next"` target of an RFC 8288 `Link` header.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let mut pieces = part.split(';');
        let target = pieces.next()?.trim();
        let is_next = pieces.any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        (is_next && target.starts_with('<') && target.ends_with('>'))
            .then(|| target[1..target.len() - 1].to_string())
    })
}

/// A transport error without the URL's query (never a token, but keep messages short).
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_link_is_found_among_others() {
        let header = "<https://api.github.com/user/repos?page=3>; rel=\"last\", \
                      <https://api.github.com/user/repos?page=2>; rel=\"next\"";
        assert_eq!(
            next_link(header).as_deref(),
            Some("https://api.github.com/user/repos?page=2")
        );
        assert_eq!(next_link("<https://x/?page=1>; rel=\"prev\""), None);
        assert_eq!(next_link(""), None);
    }
}
