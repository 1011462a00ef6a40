//! Dashboard API versions, compared numerically (1.70.0 > 1.9.0), with semver pre-releases
//! (Meraki's early-access specs: `1.35.0-beta.0` < `1.35.0`).

use std::cmp::Ordering;
use std::fmt;

/// A dotted numeric version such as `1.53.0`, optionally a pre-release (`1.35.0-beta.0`): a
/// semver version (missing minor or patch read as zero), kept with its text.
#[derive(Clone, Debug)]
pub struct ApiVersion {
    version: semver::Version,
    text: String,
}

impl ApiVersion {
    /// Parses `1.53.0`, `1.70` or `1.35.0-beta.0` (build metadata after `+` is ignored in
    /// comparisons, as semver says); `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        // semver wants three components; Meraki sometimes writes two.
        let end = text.find(['-', '+']).unwrap_or(text.len());
        let (release, rest) = text.split_at(end);
        let missing = 2usize.checked_sub(release.matches('.').count())?;
        let padded = format!("{release}{}{rest}", ".0".repeat(missing));
        let version = semver::Version::parse(&padded).ok()?;
        Some(Self {
            version,
            text: text.to_owned(),
        })
    }
}

impl Ord for ApiVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.version.cmp_precedence(&other.version)
    }
}

impl PartialOrd for ApiVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ApiVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for ApiVersion {}

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
