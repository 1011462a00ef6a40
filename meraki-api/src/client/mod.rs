//! The client's construction ([`builder`], from the environment in [`env`]) and its methods
//! beyond the operations: counts, the directory, dry runs, OAuth revocation.

mod builder;
mod env;
mod user_agent;

pub use builder::{ClientBuilder, BASE_URL_ENV, DEFAULT_BASE_URL};

use progenitor_client::ClientInfo;

use crate::error::{ConfigError, Error};
use crate::pacing::directory::Directory;
use crate::request::state::Stats;
use crate::Client;

impl Client {
    /// Requests, retries, 429s and lookups since this client was built (shared by its clones).
    pub fn stats(&self) -> Stats {
        self.inner().stats()
    }

    /// Every way this client's answers differed from the spec so far, by operation: values
    /// repaired, enum values the spec does not list, and fields it does not list (looked for in
    /// each operation's first answer). Names and paths, never values: each entry is a report to
    /// send. Each new one is also traced once (target `meraki_api::drift`). Decoding with
    /// `.call()` and the paginators counts; progenitor's `.send()` and the caller's own types
    /// (`pages_as`) do not.
    pub fn drift(&self) -> Vec<crate::Drift> {
        self.inner().drift_log().report()
    }

    /// Which organization owns each network and device the client knows: what their
    /// requests are paced by. Shared by clones; register ids, or save and restore it between
    /// runs ([`Directory::snapshot`], [`ClientBuilder::directory`]).
    pub fn directory(&self) -> &Directory {
        self.inner().directory()
    }

    /// Lists an organization's networks and devices so that requests for any of them are
    /// paced by its rate limit from the first one, without lookups (the Python SDK's
    /// pre-loading). Reads up to the client's listing page limit of each. Returns how many
    /// networks and devices the directory knows afterwards.
    pub async fn learn_organization(&self, organization_id: &str) -> Result<usize, Error> {
        let state = self.inner();
        state
            .resolver()
            .learn_organization(state, self.client(), organization_id)
            .await?;
        Ok(self.directory().len())
    }

    /// This client in dry-run mode ([`ClientBuilder::dry_run`]), sharing its connections,
    /// limits, directory and counts.
    pub fn dry_run(&self) -> Client {
        let state = self.inner().with_dry_run(true);
        Client::new_with_client(self.baseurl(), self.client().clone(), state)
    }

    /// Revokes this client's OAuth grant at the authorization server (the refresh token, RFC
    /// 7009). Its calls fail with [`crate::oauth::OAuthError::Revoked`] afterwards. An error if
    /// the client authenticates with an API key.
    pub async fn revoke_oauth(&self) -> Result<(), Error> {
        let Some(source) = self.inner().oauth() else {
            return Err(
                ConfigError::new("oauth", "this client authenticates with an API key").into(),
            );
        };
        source.revoke().await.map_err(|error| Error::OAuth {
            operation: "",
            error,
        })
    }

    /// Whether writes are sent ([`ClientBuilder::dry_run`]).
    pub fn is_dry_run(&self) -> bool {
        self.inner().is_dry_run()
    }
}
