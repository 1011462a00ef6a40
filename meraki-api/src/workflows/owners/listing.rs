//! An organization's networks or devices, listed into the directory page by page: in a task of
//! its own after a lookup (the caller that needed the lookup goes ahead at once; a cancelled
//! caller neither cancels nor restarts it), or by the caller (`Client::learn_organization`).

use reqwest::Url;
use tokio::sync::OwnedSemaphorePermit;

use super::lookups::{Listing, ListingRun};
use super::send_get;
use crate::error::{Error, InvalidRequest};
use crate::operations::pagination::link::{page_links, resolve_target};
use crate::request::state::ClientState;

impl Listing {
    fn operation(self) -> &'static str {
        match self {
            Listing::Networks => "getOrganizationNetworks",
            Listing::Devices => "getOrganizationDevices",
        }
    }

    fn template(self) -> &'static str {
        match self {
            Listing::Networks => "/organizations/{organizationId}/networks",
            Listing::Devices => "/organizations/{organizationId}/devices",
        }
    }

    /// The first page's path and query.
    pub(super) fn first_page(self, org: &str) -> Result<String, Error> {
        let what = match self {
            Listing::Networks => "networks",
            Listing::Devices => "devices",
        };
        let Some(segment) = path_segment(org) else {
            return Err(Error::InvalidRequest(InvalidRequest {
                operation: self.operation(),
                parameter: Some("organizationId".into()),
                message: format!("`{}` cannot be an organization id", org.escape_debug()),
            }));
        };
        Ok(format!("/organizations/{segment}/{what}?perPage=1000"))
    }
}

/// Reads up to `max_pages` pages of a listing from `run.next`; the pages teach the directory as
/// any listing does. `turn` (the lookup's) is given back after the first page: an organization
/// of up to 1,000 networks is then known, and later pages need not hold other lookups up. A
/// page that fails leaves `run.next` at itself, to be resumed.
pub(super) async fn list(
    state: &ClientState,
    http: &reqwest::Client,
    org: &str,
    listing: Listing,
    run: &mut ListingRun,
    max_pages: usize,
    turn: &mut Option<OwnedSemaphorePermit>,
) -> Result<(), Error> {
    for _ in 0..max_pages {
        let Some(path_and_query) = run.next.clone() else {
            return Ok(());
        };
        let pace = state.pacer().listing(org);
        let exchange = send_get(
            state,
            http,
            &path_and_query,
            pace,
            listing.operation(),
            listing.template(),
        )
        .await?;
        turn.take();
        let base = state.base_url().as_str().trim_end_matches('/');
        let page_url = Url::parse(&format!("{base}{path_and_query}")).ok();
        let links = page_links(&exchange.headers).unwrap_or_default();
        run.next = next_page(state, page_url.as_ref(), links.next.as_deref());
    }
    // The page limit: what is left is looked up id by id.
    run.next = None;
    Ok(())
}

/// The path and query of the next page, if its `Link` names one on a trusted host.
fn next_page(state: &ClientState, page: Option<&Url>, next: Option<&str>) -> Option<String> {
    let target = next?;
    let url = match page {
        Some(page) => resolve_target(page, target).ok()?,
        None => Url::parse(target).ok()?,
    };
    if !state.trusted().trusts(&url) {
        return None;
    }
    let path = state.relative_path(&url).to_owned();
    Some(match url.query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    })
}

/// An id taken from an answer or a caller, as one path segment: percent-encoded, and refused
/// (`None`) when it cannot be an id (empty, `.` or `..`, control characters, over 256 bytes).
pub(crate) fn path_segment(id: &str) -> Option<String> {
    if id.is_empty()
        || id == "."
        || id == ".."
        || id.len() > 256
        || id.chars().any(char::is_control)
    {
        return None;
    }
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    Some(percent_encoding::utf8_percent_encode(id, SEGMENT).to_string())
}

#[cfg(test)]
mod tests {
    use super::path_segment;

    #[test]
    fn ids_from_answers_are_one_encoded_segment_or_refused() {
        assert_eq!(path_segment("N_24329156").as_deref(), Some("N_24329156"));
        assert_eq!(
            path_segment("L_1/../admin").as_deref(),
            Some("L_1%2F..%2Fadmin")
        );
        assert_eq!(path_segment("a?b#c d").as_deref(), Some("a%3Fb%23c%20d"));
        for bad in ["", ".", "..", "a\nb", &"x".repeat(300)] {
            assert_eq!(path_segment(bad), None, "{bad:?}");
        }
    }
}
