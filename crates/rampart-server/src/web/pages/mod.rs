//! One module per dashboard section: handlers read the request, call the services the API
//! routes call, and render a template.

pub mod alerts;
pub mod api_keys;
pub mod audit;
pub mod code_findings;
pub mod compliance;
pub mod disclosures;
pub mod incidents;
pub mod integrations;
pub mod login;
pub mod members;
pub mod notifications;
pub mod portfolio;
pub mod products;
pub mod releases;
pub mod scans;
pub mod sync_sources;
pub mod triage;
pub mod triage_view;
pub mod usage;
pub mod vex;
pub mod vulnerabilities;
pub mod webhooks;

/// A time as pages show it (UTC, to the minute).
pub fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// An optional time, `—` when absent.
pub fn maybe_when(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map(when).unwrap_or_else(|| "—".to_string())
}

/// A page number from the query: 1 when absent.
pub fn page_number(query: &super::form::Fields) -> Result<u32, super::error::WebError> {
    Ok(query.number::<u32>("page")?.unwrap_or(1).max(1))
}

/// "Page 2 of 7" and the links around it, keeping the other query parameters.
pub struct Pager {
    pub page: u32,
    pub pages: u32,
    pub total: i64,
    pub previous: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// `base` is the path; `query` the other parameters as (name, value).
    pub fn new(base: &str, query: &[(&str, String)], page: u32, per_page: u32, total: i64) -> Self {
        let pages = (total.max(0) as u64)
            .div_ceil(u64::from(per_page.max(1)))
            .max(1) as u32;
        let link = |to: u32| {
            let mut serializer = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in query {
                if !value.is_empty() {
                    serializer.append_pair(name, value);
                }
            }
            serializer.append_pair("page", &to.to_string());
            format!("{base}?{}", serializer.finish())
        };
        Pager {
            page,
            pages,
            total,
            previous: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pager_links_keep_the_filters_and_stop_at_the_ends() {
        let query = [("sort", "epss".to_string()), ("kev", String::new())];
        let pager = Pager::new("/releases/3", &query, 2, 100, 250);
        assert_eq!(pager.pages, 3);
        assert_eq!(
            pager.previous.as_deref(),
            Some("/releases/3?sort=epss&page=1")
        );
        assert_eq!(pager.next.as_deref(), Some("/releases/3?sort=epss&page=3"));
        let last = Pager::new("/x", &[], 3, 100, 250);
        assert!(last.next.is_none() && last.previous.is_some());
        let empty = Pager::new("/x", &[], 1, 100, 0);
        assert_eq!(empty.pages, 1);
        assert!(empty.next.is_none() && empty.previous.is_none());
    }
}
