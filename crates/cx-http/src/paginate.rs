//! Paginators as `Stream`s, with a loop guard.
//!
//! Three cursor styles appear in the seeds:
//! - page token (`nextPageToken` → `?pageToken=`), seed 000 step 5's audit logs:
//!   [`Client::page_token_stream`];
//! - next-page URI (`nextPageUri`, an absolute or base-relative URL), seed 002's
//!   agent skills: [`Client::next_uri_stream`];
//! - offset/limit, stopping on an empty or short page or at the total, with
//!   several pages in flight, seed 003's history query: [`offset_pages`].
//!
//! All of them yield items one by one while holding at most one page in memory,
//! and end with [`ErrorKind::PaginationLoop`] when a cursor repeats, or with
//! [`ErrorKind::PageLimit`] when the page limit (default 10,000 pages) is
//! reached, so a server bug cannot hang a caller.

use std::collections::HashSet;
use std::future::Future;

use futures::stream::{self, FuturesOrdered, Stream, StreamExt, TryStreamExt};
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
        /// Hashes of the cursors followed (8 bytes a page, not the
        /// cursor: a long pull's URLs add up).
        seen: HashSet<u64>,
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
                    Some(next) if !st.seen.insert(cursor_hash(next)) => {
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

/// Pages of a list whose answers link to the next page (CXone's
/// `_links.next`, `../shared/CXONE_REST.md` §2): `first` is sent, then each
/// next page's link through [`Client::link`] (so it must stay on the API's
/// origin). A 204 or blank answer is an empty last page; any other answer
/// goes to `decode`, which returns its items and the next link (`None`
/// ends the list).
///
/// # Errors
/// As [`cursor_pages`]; `decode`'s error; the runtime's errors.
pub fn link_pages<T, D>(
    http: Client,
    first: crate::client::RequestBuilder,
    max_pages: u64,
    decode: D,
) -> impl Stream<Item = Result<Page<T>, Error>>
where
    D: Fn(&crate::client::Response) -> Result<Page<T>, Error> + Clone,
{
    let mut first = Some(first);
    cursor_pages(max_pages, move |next: Option<String>| {
        let req = match next {
            Some(href) => Some(http.link(http::Method::GET, &href)),
            None => first.take(),
        };
        let decode = decode.clone();
        async move {
            let req =
                req.ok_or_else(|| Error::new(ErrorKind::PaginationLoop, "first page asked twice"))?;
            let resp = req.send().await?;
            if resp.status() == 204 || resp.body().iter().all(u8::is_ascii_whitespace) {
                return Ok(Page {
                    items: Vec::new(),
                    next: None,
                });
            }
            decode(&resp)
        }
    })
}

/// A fixed-key hash of `cursor` (the same in every run).
fn cursor_hash(cursor: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    cursor.hash(&mut h);
    h.finish()
}

/// One page of an offset/limit list, as [`offset_pages`] yields it.
#[derive(Debug, Clone, PartialEq)]
pub struct OffsetPage<T> {
    /// Offset of the page's first item.
    pub offset: u64,
    /// The page's items.
    pub items: Vec<T>,
    /// The list's total the server sent with the page (`totalCount`), if any.
    pub total: Option<u64>,
}

/// Offset/limit pages, in offset order: `fetch(offset, limit)` returns the
/// page at `offset` (offsets 0, limit, 2·limit, ...).
///
/// The first page is fetched alone; once it has told the total, up to
/// `max_in_flight` pages (at least 1) are requested at once, and still
/// yielded in offset order. The stream ends after a page that is empty or
/// shorter than `limit`, or when the offset reaches the total; requests
/// still in flight then are dropped. At most `max_in_flight` pages are held
/// at a time.
///
/// # Errors
/// Yields `fetch`'s first error and stops; yields [`ErrorKind::PageLimit`]
/// when `max_pages` pages were fetched and the list has not ended.
pub fn offset_pages<T, F, Fut>(
    limit: u64,
    max_pages: u64,
    max_in_flight: usize,
    fetch: F,
) -> impl Stream<Item = Result<OffsetPage<T>, Error>>
where
    F: FnMut(u64, u64) -> Fut,
    Fut: Future<Output = Result<OffsetPage<T>, Error>>,
{
    struct State<F, Fut: Future> {
        fetch: F,
        limit: u64,
        next: u64,
        total: Option<u64>,
        fetched: u64,
        in_flight: FuturesOrdered<Fut>,
        done: bool,
    }

    impl<T, F, Fut> State<F, Fut>
    where
        F: FnMut(u64, u64) -> Fut,
        Fut: Future<Output = Result<OffsetPage<T>, Error>>,
    {
        /// Start requests up to the in-flight cap (1 until the total is
        /// known); the page-limit error when the list is not finished.
        fn refill(&mut self, max_pages: u64, max_in_flight: usize) -> Result<(), Error> {
            let cap = if self.total.is_none() {
                1
            } else {
                max_in_flight
            };
            while self.in_flight.len() < cap && self.total.is_none_or(|t| self.next < t) {
                if self.fetched >= max_pages {
                    if self.in_flight.is_empty() {
                        return Err(Error::new(
                            ErrorKind::PageLimit,
                            format!("pagination stopped after {max_pages} pages (page limit)"),
                        ));
                    }
                    break;
                }
                self.in_flight
                    .push_back((self.fetch)(self.next, self.limit));
                self.next += self.limit;
                self.fetched += 1;
            }
            Ok(())
        }
    }

    let state = State {
        fetch,
        limit: limit.max(1),
        next: 0,
        total: None,
        fetched: 0,
        in_flight: FuturesOrdered::new(),
        done: false,
    };
    let max_in_flight = max_in_flight.max(1);
    stream::unfold(state, move |mut st| async move {
        if st.done {
            return None;
        }
        if let Err(e) = st.refill(max_pages, max_in_flight) {
            st.done = true;
            return Some((Err(e), st));
        }
        match st.in_flight.next().await? {
            Err(e) => {
                st.done = true;
                Some((Err(e), st))
            }
            Ok(page) => {
                if st.total.is_none() {
                    st.total = Some(page.total.unwrap_or(u64::MAX));
                }
                if (page.items.len() as u64) < st.limit {
                    st.done = true;
                }
                Some((Ok(page), st))
            }
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

    /// Items `offset..offset+limit` of a list of `len`, telling the total
    /// when `tell` is set.
    fn slice(offset: u64, limit: u64, len: u64, tell: bool) -> OffsetPage<u64> {
        OffsetPage {
            offset,
            items: (offset..(offset + limit).min(len)).collect(),
            total: tell.then_some(len),
        }
    }

    fn offsets(pages: &[Result<OffsetPage<u64>, Error>]) -> Vec<u64> {
        pages.iter().flatten().map(|p| p.offset).collect()
    }

    #[test]
    fn offset_pages_stop_on_short_page_or_at_the_total() {
        // (list length, totalCount sent, in flight) → pages fetched
        for (len, tell, in_flight, want) in [
            (25, false, 1, vec![0, 10, 20]),
            (25, true, 4, vec![0, 10, 20]),
            (30, true, 4, vec![0, 10, 20]),
            (30, false, 1, vec![0, 10, 20, 30]),
            (0, true, 4, vec![0]),
        ] {
            let asked = std::sync::Mutex::new(Vec::new());
            let got: Vec<_> = block_on(
                offset_pages(10, 100, in_flight, |offset, limit| {
                    asked.lock().map(|mut a| a.push(offset)).ok();
                    async move { Ok(slice(offset, limit, len, tell)) }
                })
                .collect(),
            );
            assert_eq!(offsets(&got), want, "{len} {tell}");
            let items: Vec<u64> = got.into_iter().flatten().flat_map(|p| p.items).collect();
            assert_eq!(items, (0..len).collect::<Vec<_>>());
            // Past the total nothing is asked; a short page ends the list.
            let asked = asked.into_inner().unwrap_or_default();
            assert!(asked.iter().all(|o| !tell || *o < len.max(1)), "{asked:?}");
        }
    }

    #[test]
    fn offset_pages_keep_order_with_pages_in_flight() {
        // Later pages answer first; the stream still yields in offset order
        // and never holds more than 3 requests.
        let live = std::sync::atomic::AtomicUsize::new(0);
        let most = std::sync::atomic::AtomicUsize::new(0);
        let got: Vec<_> = block_on(
            offset_pages(10, 100, 3, |offset, limit| {
                let now = live.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                let live = &live;
                async move {
                    for _ in 0..(100 - offset) / 10 {
                        tokio::task::yield_now().await;
                    }
                    live.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    Ok(slice(offset, limit, 95, true))
                }
            })
            .collect(),
        );
        assert_eq!(offsets(&got), (0..10).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(most.into_inner(), 3);
    }

    #[test]
    fn offset_pages_stop_at_the_page_limit_and_on_an_error() {
        let got: Vec<_> = block_on(
            offset_pages(10, 3, 2, |offset, limit| async move {
                Ok(slice(offset, limit, 1000, true))
            })
            .collect(),
        );
        assert_eq!(offsets(&got), [0, 10, 20]);
        assert!(matches!(got.last(), Some(Err(e)) if e.kind() == ErrorKind::PageLimit));
        let got: Vec<_> = block_on(
            offset_pages(10, 100, 2, |offset, limit| async move {
                if offset == 20 {
                    Err(Error::new(ErrorKind::Decode, "bad page"))
                } else {
                    Ok(slice(offset, limit, 1000, true))
                }
            })
            .collect(),
        );
        assert_eq!(offsets(&got), [0, 10]);
        assert_eq!(got.len(), 3);
        assert!(matches!(got.last(), Some(Err(e)) if e.kind() == ErrorKind::Decode));
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
