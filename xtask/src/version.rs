//! Dashboard API versions, compared numerically (1.70.0 > 1.9.0), with semver pre-releases
//! (Meraki's early-access specs: `1.35.0-beta.0` < `1.35.0`).

use std::cmp::Ordering;
use std::fmt;

/// A dotted numeric version such as `1.53.0`, optionally a pre-release (`1.35.0-beta.0`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiVersion {
    parts: Vec<u64>,
    /// The dot-separated identifiers after `-`; empty for a release.
    pre: Vec<Identifier>,
    text: String,
}

/// A pre-release identifier: numeric ones compare as numbers and before alphanumeric ones.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Identifier {
    Number(u64),
    Text(String),
}

impl ApiVersion {
    /// Parses `1.53.0` or `1.35.0-beta.0` (build metadata after `+` is ignored, as semver says);
    /// `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let without_build = text.split_once('+').map_or(text, |(v, _)| v);
        let (release, pre) = match without_build.split_once('-') {
            Some((release, pre)) => (release, Some(pre)),
            None => (without_build, None),
        };
        let is_number = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        let parts = release
            .split('.')
            .map(|part| {
                if is_number(part) {
                    part.parse().ok()
                } else {
                    None
                }
            })
            .collect::<Option<Vec<u64>>>()?;
        let pre = match pre {
            None => Vec::new(),
            Some(pre) => pre
                .split('.')
                .map(|id| {
                    if is_number(id) {
                        id.parse().ok().map(Identifier::Number)
                    } else if !id.is_empty()
                        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    {
                        Some(Identifier::Text(id.to_owned()))
                    } else {
                        None
                    }
                })
                .collect::<Option<Vec<_>>>()?,
        };
        Some(Self {
            parts,
            pre,
            text: text.to_owned(),
        })
    }
}

impl Ord for ApiVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        // Missing trailing components count as zero: 1.70 == 1.70.0.
        let len = self.parts.len().max(other.parts.len());
        let release = (0..len)
            .map(|i| {
                let a = self.parts.get(i).copied().unwrap_or(0);
                let b = other.parts.get(i).copied().unwrap_or(0);
                a.cmp(&b)
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal);
        // A pre-release comes before its release; pre-releases compare identifier by
        // identifier, a longer list winning a tie (semver 2.0.0, item 11).
        release.then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => self.pre.cmp(&other.pre),
        })
    }
}

impl PartialOrd for ApiVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::ApiVersion;

    fn v(s: &str) -> ApiVersion {
        ApiVersion::parse(s).unwrap()
    }

    #[test]
    fn compares_numerically_not_lexically() {
        assert!(v("1.70.0") > v("1.9.0"));
        assert!(v("1.53.0") > v("1.42.0"));
        assert!(v("2.0.0") > v("1.99.99"));
        assert_eq!(v("1.70").cmp(&v("1.70.0")), std::cmp::Ordering::Equal);
    }

    #[test]
    fn rejects_what_is_not_a_version() {
        for bad in [
            "",
            "1..0",
            "v1.2",
            "1.2.x",
            "1.2-",
            "1.2-beta..1",
            "1.2-be ta",
        ] {
            assert!(ApiVersion::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn pre_releases_order_by_semver_precedence() {
        // semver.org's own example chain, then Meraki's early-access form.
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ];
        for pair in chain.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert!(v("1.35.0-beta.0") < v("1.35.0"));
        assert!(v("1.35.0-beta.0") > v("1.34.0"));
        assert!(v("1.35.0-beta.1") > v("1.35.0-beta.0"));
        assert_eq!(
            v("1.35.0+build.5").cmp(&v("1.35.0")),
            std::cmp::Ordering::Equal
        );
        assert_eq!(v("1.35.0-beta.0").to_string(), "1.35.0-beta.0");
    }
}
