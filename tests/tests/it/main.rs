//! The integration tests, as one binary: each module was a test file of its own, and one binary
//! links once where fourteen linked fourteen times (the largest part of `cargo test`'s build).
//! `proxy_env` stays a binary of its own: it sets proxy variables for its whole process.

mod batches;
mod faults;
mod mock_api;
mod oauth;
mod pacing;
mod plan;
mod real_world;
mod recorded;
mod replay;
mod requests;
mod runtime;
mod security;
mod transport;
mod webhooks;
