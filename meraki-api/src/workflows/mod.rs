//! What is built on calls: action batches ([`batch`]), plans of what a bulk change would change
//! ([`plan`]), and finding the organization a network or device counts against ([`owners`]).

pub mod batch;
pub(crate) mod owners;
pub mod plan;
