//! Paginators as `Stream`s, with a loop guard.
//!
//! Three cursor styles appear in the seeds:
//! - page token (`nextPageToken` → `?pageToken=`), seed 000 step 5's audit logs:
//!   [`Client::page_token_stream`];
//! - next-page URI (`nextPageUri`, an absolute or base-relative URL), seed 002's
//!   agent skills: [`Client::next_uri_stream`];
//! - offset/limit, stopping on an empty or short page, seed 003's history query:
//!   [`offset_pages`].
//!
//! All of them yield items one by one while holding at most one page in memory,
//! and end with [`ErrorKind::PaginationLoop`] when a cursor repeats, or with
//! [`ErrorKind::PageLimit`] when the page limit (default 10,000 pages) is
//! reached, so a server bug cannot hang a caller.

use std::collections::HashSet;
use std::future::Future;

use futures::stream::{self, Stream, TryStreamExt};
use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::path::ApiPath;

/// Most pages any paginator follows before giving up with [`ErrorKind::PageLimit`].
pub const DEFAULT_MAX_PAGES: u64 = 10_000;

/// One page: its items and the cursor of the next page (`None` on the last).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// Items of this page.
    pub items: Vec<T>,
    /// Cursor (token, URI or offset) of the next page.
    pub next: Option<String>,
}

/// Follow cursors from `fetch` (called with `None` for the first page) and
/// yield pages, stopping when `next` is `None`.
///
/// # Errors
/// Yields `fetch`'s error and stops; yields [`ErrorKind::PaginationLoop`] when a
/// cursor repeats or more than `max_pages` pages are fetched.
pub fn cursor_pages<T, F, Fut>(
    max_pages: u64,
    fetch: F,
) -> impl Stream<Item = Result<Page<T>, Error>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, Error>>,
{
    struct State<F> {
        fetch: F,
        cursor: Option<String>,
        seen: HashSet<String>,
        pages: u64,
        done: bool,
        pending: Option<Error>,
    }
    let state = State {
        fetch,
        cursor: None,
        seen: HashSet::new(),
        pages: 0,
        done: false,
        pending: None,
    };
    stream::unfold(state, move |mut st| async move {
        if let Some(err) = st.pending.take() {
            return Some((Err(err), st));
        }
        if st.done {
            return None;
        }
        if st.pages >= max_pages {
            st.done = true;
            let err = Error::new(
                ErrorKind::PageLimit,
                format!("pagination stopped after {max_pages} pages (page limit)"),
            );
            return Some((Err(err), st));
        }
        st.pages += 1;
        match (st.fetch)(st.cursor.take()).await {
            Err(e) => {
                st.done = true;
                Some((Err(e), st))
            }
            Ok(page) => {
                match &page.next {
                    None => st.done = true,
                    Some(next) if next.is_empty() => st.done = true,
                    Some(next) if !st.seen.insert(next.clone()) => {
                        // Yield this page's items, then the loop error.
                        st.done = true;
                        st.pending = Some(Error::new(
                            ErrorKind::PaginationLoop,
                            format!(
                                "pagination loop: cursor {next:?} was already followed (page {})",
                                st.pages
                            ),
                        ));
                    }
                    Some(next) => st.cursor = Some(next.clone()),
                }
                Some((Ok(page), st))
            }
        }
    })
}

/// Offset/limit pages: `fetch(offset, limit)` is called with offsets 0, limit,
/// 2·limit, ... until a page comes back empty or shorter than `limit`.
///
/// # Errors
/// As [`cursor_pages`].
pub fn offset_pages<T, F, Fut>(
    limit: u64,
    max_pages: u64,
    mut fetch: F,
) -> impl Stream<Item = Result<Page<T>, Error>>
where
    F: FnMut(u64, u64) -> Fut,
    Fut: Future<Output = Result<Vec<T>, Error>>,
{
    let limit = limit.max(1);
    cursor_pages(max_pages, move |cursor| {
        let offset = cursor.and_then(|c| c.parse::<u64>().ok()).unwrap_or(0);
        let fut = fetch(offset, limit);
        async move {
            let items = fut.await?;
            let next = (items.len() as u64 >= limit).then(|| (offset + limit).to_string());
            Ok(Page { items, next })
        }
    })
}

/// Flatten a stream of pages into a stream of items.
pub fn items<T>(
    pages: impl Stream<Item = Result<Page<T>, Error>>,
) -> impl Stream<Item = Result<T, Error>> {
    pages
        .map_ok(|page| stream::iter(page.items.into_iter().map(Ok)))
        .try_flatten()
}

/// Where a page's items and cursor sit in a JSON body.
#[derive(Debug, Clone, Copy)]
pub struct PageFields {
    /// Field holding the array of items (`"items"`, `"entities"`, `"data"`).
    pub items: &'static str,
    /// Field holding the next cursor (`"nextPageToken"`, `"nextPageUri"`).
    pub next: &'static str,
}

fn split_page<T: DeserializeOwned>(
    body: serde_json::Value,
    fields: PageFields,
) -> Result<Page<T>, Error> {
    let serde_json::Value::Object(mut map) = body else {
        return Err(Error::new(ErrorKind::Decode, "page is not a JSON object"));
    };
    let raw_items = map
        .remove(fields.items)
        .unwrap_or(serde_json::Value::Array(Vec::new()));
    let items = serde_json::from_value(raw_items).map_err(|e| {
        Error::new(
            ErrorKind::Decode,
            format!(
                "page field `{}` is not the expected item array",
                fields.items
            ),
        )
        .with_source(e)
    })?;
    let next = map
        .remove(fields.next)
        .and_then(|v| v.as_str().map(str::to_owned))
        .filter(|s| !s.is_empty());
    Ok(Page { items, next })
}

impl Client {
    /// Items of a page-token API (`GET path?query&pageToken=...`), as seed 000's
    /// audit-log export pages through `/api/v2/audit/logs`.
    ///
    /// `token_param` is the query parameter the token goes back in (`"pageToken"`).
    pub fn page_token_stream<T: DeserializeOwned>(
        &self,
        path: ApiPath,
        query: Vec<(String, String)>,
        fields: PageFields,
        token_param: &'static str,
    ) -> impl Stream<Item = Result<T, Error>> {
        let client = self.clone();
        items(cursor_pages(DEFAULT_MAX_PAGES, move |token| {
            let req = client
                .get(path.clone())
                .query(&query)
                .query_opt(token_param, token.as_deref());
            async move { split_page(req.send_json().await?, fields) }
        }))
    }

    /// Items of a next-page-URI API (`{entities, nextPageUri}`), as seed 002's
    /// agent skills. The first page is `first`; each next URI is followed
    /// through [`Client::link`], so it may be absolute or relative but must
    /// stay on the base URL's origin.
    ///
    /// # Errors
    /// Yields [`ErrorKind::ForeignOrigin`] naming the origin of a next-page
    /// URI on another host (nothing is sent there), besides the paginator's
    /// own errors.
    pub fn next_uri_stream<T: DeserializeOwned>(
        &self,
        first: ApiPath,
        fields: PageFields,
    ) -> impl Stream<Item = Result<T, Error>> {
        let client = self.clone();
        items(cursor_pages(DEFAULT_MAX_PAGES, move |uri| {
            let req = match uri {
                Some(uri) => client.link(crate::Method::GET, &uri),
                None => client.get(first.clone()),
            };
            async move { split_page(req.send_json().await?, fields) }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::block_on;
    use futures::StreamExt;

    #[test]
    fn loop_guard_stops_a_repeating_cursor() {
        let got: Vec<Result<u32, Error>> = block_on(
            items(cursor_pages(100, |cursor| async move {
                // page "a" points at "b", "b" points back at "a".
                let next = match cursor.as_deref() {
                    None => "a",
                    Some("a") => "b",
                    _ => "a",
                };
                Ok(Page {
                    items: vec![1],
                    next: Some(next.to_owned()),
                })
            }))
            .collect(),
        );
        assert_eq!(got.iter().filter(|r| r.is_ok()).count(), 3);
        let last = got.last().and_then(|r| r.as_ref().err()).map(Error::kind);
        assert_eq!(last, Some(ErrorKind::PaginationLoop));
    }

    #[test]
    fn offset_pages_stop_on_short_page() {
        let total = 25u64;
        let got: Vec<u64> = block_on(
            items(offset_pages(10, 100, |offset, limit| async move {
                Ok((offset..(offset + limit).min(total)).collect::<Vec<_>>())
            }))
            .try_collect(),
        )
        .unwrap_or_default();
        assert_eq!(got, (0..25).collect::<Vec<_>>());
    }

    #[test]
    fn page_limit_is_an_error_not_a_hang() {
        let got: Vec<Result<u32, Error>> = block_on(
            items(cursor_pages(5, |cursor| async move {
                let n = cursor.and_then(|c| c.parse::<u32>().ok()).unwrap_or(0);
                Ok(Page {
                    items: vec![n],
                    next: Some((n + 1).to_string()),
                })
            }))
            .collect(),
        );
        assert_eq!(got.len(), 6);
        assert!(matches!(got.last(), Some(Err(e)) if e.kind() == ErrorKind::PageLimit));
    }
}
