//! RFC 8288 `Link` header parsing, as far as pagination needs it.
//!
//! Meraki sends `<https://n1.meraki.com/api/v1/...?startingAfter=x>; rel=next, <...>; rel=last`
//! with unquoted rels; other servers quote them, list several rels in one value, or put commas
//! inside the URL. All of that parses; anything malformed is skipped, never a panic.

use reqwest::header::{HeaderMap, LINK};
use reqwest::Url;

/// One link target and its relation types (lower-cased).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Link {
    /// The target as written between `<` and `>`.
    pub target: String,
    /// Its `rel` values, lower-cased.
    pub rels: Vec<String>,
}

/// Parses every link of a `Link` header value.
pub fn parse_link_header(value: &str) -> Vec<Link> {
    let mut links = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        let Some(after_open) = rest.strip_prefix('<') else {
            // Not at a link: skip to the next comma outside quotes, if any.
            match skip_past_comma(rest) {
                Some(next) => {
                    rest = next;
                    continue;
                }
                None => break,
            }
        };
        let Some(close) = after_open.find('>') else {
            break;
        };
        let target = after_open[..close].trim().to_owned();
        let (params, next) = split_params(&after_open[close + 1..]);
        rest = next;
        let rels = params
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("rel"))
            .flat_map(|(_, value)| value.split_whitespace())
            .map(str::to_ascii_lowercase)
            .collect();
        links.push(Link { target, rels });
    }
    links
}

/// The target of the first link with relation `rel`.
pub fn find_rel<'a>(links: &'a [Link], rel: &str) -> Option<&'a str> {
    links
        .iter()
        .find(|l| l.rels.iter().any(|r| r == rel))
        .map(|l| l.target.as_str())
}

/// Reads `; name=value; name="quoted, value"` up to the comma that ends this link.
fn split_params(mut s: &str) -> (Vec<(String, String)>, &str) {
    let mut params = Vec::new();
    loop {
        s = s.trim_start();
        let Some(after) = s.strip_prefix(';') else {
            return (params, s);
        };
        let after = after.trim_start();
        let name_end = after.find(['=', ';', ',']).unwrap_or(after.len());
        let name = after[..name_end].trim().to_owned();
        let rest = &after[name_end..];
        let Some(value_part) = rest.strip_prefix('=') else {
            params.push((name, String::new()));
            s = rest;
            continue;
        };
        let value_part = value_part.trim_start();
        if let Some(quoted) = value_part.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    _ => value.push(c),
                }
            }
            params.push((name, value));
            s = &quoted[end.min(quoted.len())..];
        } else {
            let end = value_part.find([';', ',']).unwrap_or(value_part.len());
            params.push((name, value_part[..end].trim().to_owned()));
            s = &value_part[end..];
        }
    }
}

fn skip_past_comma(s: &str) -> Option<&str> {
    let mut in_quotes = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => return Some(&s[i + 1..]),
            _ => {}
        }
    }
    None
}

/// The `Link` targets of a page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageLinks {
    /// `rel=first`.
    pub first: Option<String>,
    /// `rel=prev`.
    pub prev: Option<String>,
    /// `rel=next`.
    pub next: Option<String>,
    /// `rel=last`.
    pub last: Option<String>,
}

/// The `Link` targets of a response, by relation; an error naming the header when one is there
/// and yields no link at all (a header that does not parse must not end a stream silently).
pub(crate) fn page_links(headers: &HeaderMap) -> Result<PageLinks, String> {
    let mut links = Vec::new();
    for value in headers.get_all(LINK) {
        let Ok(text) = value.to_str() else {
            return Err("the `Link` header is not text".to_owned());
        };
        let parsed = parse_link_header(text);
        if parsed.is_empty() && !text.trim().is_empty() {
            let shown: String = text.chars().take(120).collect();
            return Err(format!("the `Link` header does not parse: `{shown}`"));
        }
        links.extend(parsed);
    }
    Ok(PageLinks {
        first: find_rel(&links, "first").map(str::to_owned),
        prev: find_rel(&links, "prev").map(str::to_owned),
        next: find_rel(&links, "next").map(str::to_owned),
        last: find_rel(&links, "last").map(str::to_owned),
    })
}

/// A `Link` target as a URL: absolute as Meraki sends them, or relative to the page's URL
/// (RFC 8288 resolves them against it).
pub(crate) fn resolve_target(page: &Url, target: &str) -> Result<Url, String> {
    page.join(target)
        .map_err(|e| format!("`Link` target is not a URL ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_merakis_unquoted_form() {
        let header = "<https://n149.meraki.com/api/v1/organizations/1/licenses?perPage=3&startingAfter=aaa>; rel=first, <https://n149.meraki.com/api/v1/organizations/1/licenses?perPage=3&startingAfter=ccc>; rel=next, <https://n149.meraki.com/api/v1/organizations/1/licenses?endingBefore=zzz&perPage=3>; rel=last";
        let links = parse_link_header(header);
        assert_eq!(links.len(), 3);
        assert_eq!(
            find_rel(&links, "next"),
            Some("https://n149.meraki.com/api/v1/organizations/1/licenses?perPage=3&startingAfter=ccc")
        );
        assert!(find_rel(&links, "prev").is_none());
    }

    #[test]
    fn parses_quoted_multiple_rels_and_commas_in_urls() {
        let header = r#"<https://x/a?ids=1,2>;rel="next last" ; title="a, b", <https://x/b>; REL = prev ;anchor"#;
        let links = parse_link_header(header);
        assert_eq!(links.len(), 2, "{links:?}");
        assert_eq!(links[0].target, "https://x/a?ids=1,2");
        assert_eq!(links[0].rels, ["next", "last"]);
        assert_eq!(find_rel(&links, "last"), Some("https://x/a?ids=1,2"));
        assert_eq!(find_rel(&links, "prev"), Some("https://x/b"));
    }

    #[test]
    fn tolerates_garbage() {
        for header in [
            "",
            ",,,",
            "garbage",
            "<unterminated",
            "<a>; rel",
            "<a>; rel=\"open",
            "x, <b>; rel=next",
        ] {
            let _ = parse_link_header(header);
        }
        assert_eq!(
            find_rel(&parse_link_header("x, <b>; rel=next"), "next"),
            Some("b")
        );
    }

    #[test]
    fn a_header_that_yields_no_link_is_an_error_and_relative_targets_resolve() {
        let mut headers = HeaderMap::new();
        headers.insert(LINK, "garbage; rel=next".parse().unwrap());
        let error = page_links(&headers).unwrap_err();
        assert!(error.contains("garbage"), "{error}");
        assert_eq!(page_links(&HeaderMap::new()).unwrap(), PageLinks::default());
        let page =
            Url::parse("https://api.meraki.com/api/v1/organizations/1/licenses?perPage=3").unwrap();
        assert_eq!(
            resolve_target(&page, "/api/v1/organizations/1/licenses?startingAfter=x")
                .unwrap()
                .as_str(),
            "https://api.meraki.com/api/v1/organizations/1/licenses?startingAfter=x"
        );
        assert_eq!(
            resolve_target(&page, "licenses?startingAfter=y")
                .unwrap()
                .as_str(),
            "https://api.meraki.com/api/v1/organizations/1/licenses?startingAfter=y"
        );
    }
}
