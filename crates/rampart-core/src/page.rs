//! Pagination of listings: one validated request type, one limit. The API reads `page` and
//! `per_page` into a [`PageRequest`]; the store reads its offset and limit from it.

use thiserror::Error;

/// The largest `per_page` any listing accepts (DESIGN §3).
pub const MAX_PER_PAGE: u32 = 500;
/// The `per_page` of a listing that does not say otherwise.
pub const DEFAULT_PER_PAGE: u32 = 50;

/// One page of a listing: `page` is 1-based, `per_page` from 1 to [`MAX_PER_PAGE`]. Only
/// [`PageRequest::new`] and [`PageRequest::from_query`] make one, so a held value is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u32,
    per_page: u32,
}

/// Which parameter is out of range; the message names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PageError {
    #[error("`page` starts at 1")]
    Page,
    #[error("`per_page` must be between 1 and {MAX_PER_PAGE}")]
    PerPage,
}

impl PageError {
    /// The query parameter at fault: `page` or `per_page`.
    pub fn field(self) -> &'static str {
        match self {
            PageError::Page => "page",
            PageError::PerPage => "per_page",
        }
    }
}

impl PageRequest {
    /// The first page at the largest size.
    pub const FIRST_OF_LARGEST: PageRequest = PageRequest {
        page: 1,
        per_page: MAX_PER_PAGE,
    };

    /// Checks `page` (1 or more) first, then `per_page` (1 to [`MAX_PER_PAGE`]). Takes `i64`
    /// so that a query read as signed numbers is checked here rather than cast.
    pub fn new(page: i64, per_page: i64) -> Result<Self, PageError> {
        let page = u32::try_from(page)
            .ok()
            .filter(|page| *page >= 1)
            .ok_or(PageError::Page)?;
        let per_page = u32::try_from(per_page)
            .ok()
            .filter(|size| (1..=MAX_PER_PAGE).contains(size))
            .ok_or(PageError::PerPage)?;
        Ok(PageRequest { page, per_page })
    }

    /// A request from optional query parameters: `page` defaults to 1, `per_page` to
    /// `default_per_page`.
    pub fn from_query<N: Into<i64>>(
        page: Option<N>,
        per_page: Option<N>,
        default_per_page: u32,
    ) -> Result<Self, PageError> {
        PageRequest::new(
            page.map_or(1, Into::into),
            per_page.map_or(i64::from(default_per_page), Into::into),
        )
    }

    pub fn page(self) -> u32 {
        self.page
    }

    pub fn per_page(self) -> u32 {
        self.per_page
    }

    /// Rows before this page (SQL `OFFSET`).
    pub fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }

    /// Rows on this page at most (SQL `LIMIT`).
    pub fn limit(self) -> i64 {
        i64::from(self.per_page)
    }

    /// Pages needed for `total` rows.
    pub fn page_count(self, total: u64) -> u64 {
        total.div_ceil(u64::from(self.per_page))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_first_page_at_the_default_size() {
        let request = PageRequest::from_query(None::<u32>, None, DEFAULT_PER_PAGE).unwrap();
        assert_eq!((request.page(), request.per_page()), (1, 50));
        assert_eq!((request.offset(), request.limit()), (0, 50));
        let request = PageRequest::from_query(None::<u32>, None, 20).unwrap();
        assert_eq!(request.per_page(), 20);
    }

    #[test]
    fn offset_and_limit_follow_page_and_size() {
        let request = PageRequest::from_query(Some(3u32), Some(25), DEFAULT_PER_PAGE).unwrap();
        assert_eq!((request.offset(), request.limit()), (50, 25));
        let last = PageRequest::new(i64::from(u32::MAX), i64::from(MAX_PER_PAGE)).unwrap();
        assert_eq!(last.offset(), i64::from(u32::MAX - 1) * 500);
    }

    #[test]
    fn the_limits_are_inclusive_and_errors_name_the_field() {
        assert!(PageRequest::new(1, 1).is_ok());
        assert!(PageRequest::new(1, 500).is_ok());
        for (page, per_page, error) in [
            (0, 50, PageError::Page),
            (-1, 50, PageError::Page),
            (i64::from(u32::MAX) + 1, 50, PageError::Page),
            (1, 0, PageError::PerPage),
            (1, 501, PageError::PerPage),
            (1, -5, PageError::PerPage),
            // Both wrong: `page` is named first.
            (0, 0, PageError::Page),
        ] {
            assert_eq!(
                PageRequest::new(page, per_page),
                Err(error),
                "{page} {per_page}"
            );
        }
        assert_eq!(PageError::Page.to_string(), "`page` starts at 1");
        assert_eq!(PageError::Page.field(), "page");
        assert_eq!(
            PageError::PerPage.to_string(),
            "`per_page` must be between 1 and 500"
        );
        assert_eq!(PageError::PerPage.field(), "per_page");
    }

    #[test]
    fn pages_needed_round_up() {
        let request = PageRequest::new(1, 20).unwrap();
        assert_eq!(request.page_count(0), 0);
        assert_eq!(request.page_count(20), 1);
        assert_eq!(request.page_count(21), 2);
        assert_eq!(PageRequest::FIRST_OF_LARGEST.limit(), 500);
    }
}
