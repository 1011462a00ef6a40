//! Dashboard API versions, compared numerically (1.70.0 > 1.9.0).

use std::cmp::Ordering;
use std::fmt;

/// A dotted numeric version such as `1.53.0`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiVersion {
    parts: Vec<u64>,
    text: String,
}

impl ApiVersion {
    /// Parses `1.53.0`; `None` for anything that is not dot-separated digits.
    pub fn parse(text: &str) -> Option<Self> {
        let parts = text
            .split('.')
            .map(|part| {
                if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                    None
                } else {
                    part.parse().ok()
                }
            })
            .collect::<Option<Vec<u64>>>()?;
        Some(Self {
            parts,
            text: text.to_owned(),
        })
    }
}

impl Ord for ApiVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        // Missing trailing components count as zero: 1.70 == 1.70.0.
        let len = self.parts.len().max(other.parts.len());
        (0..len)
            .map(|i| {
                let a = self.parts.get(i).copied().unwrap_or(0);
                let b = other.parts.get(i).copied().unwrap_or(0);
                a.cmp(&b)
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
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
    fn rejects_non_numeric_versions() {
        for bad in ["", "1..0", "v1.2", "1.2.x", "1.2-beta"] {
            assert!(ApiVersion::parse(bad).is_none(), "{bad}");
        }
    }
}
