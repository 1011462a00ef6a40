//! The glue to the generated code: what every operation builder has ([`operation`]: `.call()`,
//! its spec), the checks before sending and progenitor's hooks ([`hooks`]), decoding success
//! bodies ([`decode`], with [`lenient`]'s repairs and open enums), clearable fields ([`patch`]),
//! Link-header pagination ([`pagination`]) and raw calls ([`raw`]).

pub(crate) mod decode;
pub(crate) mod hooks;
pub(crate) mod lenient;
pub mod operation;
pub mod pagination;
pub(crate) mod patch;
pub mod raw;
