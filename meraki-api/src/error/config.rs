//! A setting the client cannot be built with.

use std::fmt;

/// A setting the client cannot be built with, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// The setting as the builder names it: `api_key`, `base_url`, `caller`,
    /// `rate_limit.per_org_rate`, `retry.max_attempts`, ...
    pub setting: &'static str,
    /// What is wrong with it (never the key itself).
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(setting: &'static str, message: impl Into<String>) -> Self {
        Self {
            setting,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.setting, self.message)
    }
}

impl std::error::Error for ConfigError {}
