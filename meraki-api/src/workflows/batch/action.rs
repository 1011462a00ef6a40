//! Actions: what one write of a batch is, built from any batchable operation's builder.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, InvalidRequest};
use crate::operations::operation::{Operation, OperationSpec};
use crate::Client;

/// One action of a batch, as the API takes it: `{"resource", "operation", "body"}`. Its
/// `Debug` masks secret-looking body fields ([`crate::secrets::mask_secrets`]); it is sent whole.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Action {
    /// The resource path, below the base URL: `/networks/N_1/devices`.
    pub resource: String,
    /// `create`, `update`, `destroy`, or a verb such as `claim`.
    pub operation: String,
    /// The request body, if the operation takes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

impl Action {
    /// An action on `resource` (a path below the base URL) with `operation` (`create`,
    /// `update`, `destroy` or a verb such as `claim`) and its body. For generated operations,
    /// [`Batchable::into_action`] builds it checked.
    pub fn new(
        resource: impl Into<String>,
        operation: impl Into<String>,
        body: Option<Value>,
    ) -> Self {
        Self {
            resource: resource.into(),
            operation: operation.into(),
            body,
        }
    }
}

impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Action")
            .field("resource", &self.resource)
            .field("operation", &self.operation)
            .field(
                "body",
                &self.body.as_ref().map(crate::secrets::mask_secrets),
            )
            .finish()
    }
}

/// A batch's actions as reports show them: secret-looking body fields masked.
pub(super) fn masked_actions<S: serde::Serializer>(
    actions: &[Action],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = serializer.serialize_seq(Some(actions.len()))?;
    for action in actions {
        seq.serialize_element(&Action {
            resource: action.resource.clone(),
            operation: action.operation.clone(),
            body: action.body.as_ref().map(crate::secrets::mask_secrets),
        })?;
    }
    seq.end()
}

/// An operation that action batches can carry (generated for every operation in Meraki's
/// `x-batchable-actions` list). Sealed, like [`Operation`].
pub trait Batchable: Operation {
    /// The action this call would be, checked as `.call()` checks it; nothing is sent.
    fn into_action(self) -> Result<Action, Error> {
        let (client, request) = self.into_parts();
        action_from(Self::SPEC, &client, request?)
    }
}

/// The action a batchable operation's request would be.
fn action_from(
    spec: &'static OperationSpec,
    client: &Client,
    request: reqwest::Request,
) -> Result<Action, Error> {
    use progenitor_client::ClientInfo as _;
    let invalid = |message: String| {
        Error::InvalidRequest(InvalidRequest {
            operation: spec.operation_id,
            parameter: None,
            message,
        })
    };
    let Some(batch) = spec.batch else {
        return Err(invalid(
            "the API does not take this operation in action batches".into(),
        ));
    };
    if let Some(query) = request.url().query() {
        return Err(invalid(format!(
            "action batches cannot carry query parameters (`{query}`)"
        )));
    }
    let body = match request.body().map(|b| b.as_bytes()) {
        None => None,
        Some(Some(bytes)) => Some(
            serde_json::from_slice(bytes)
                .map_err(|e| invalid(format!("the body is not JSON: {e}")))?,
        ),
        Some(None) => return Err(invalid("the body is a stream, not JSON".into())),
    };
    // The resource is the request path cut to the template's length: `/networks/N_1` for
    // `POST /networks/N_1/split`, the whole path for `create`, `update`, `destroy`, `claim`.
    let path = client.inner().relative_path(request.url());
    let segments = batch.resource.split('/').count();
    let resource = path.split('/').take(segments).collect::<Vec<_>>().join("/");
    Ok(Action {
        resource,
        operation: batch.operation.to_owned(),
        body,
    })
}
