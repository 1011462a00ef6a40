//! How a page's body becomes items: as the operation's generated type, as the caller's own
//! type, or one by one (a bad item an error of its own).

use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use super::PageBody;
use crate::body::{decode_page, ItemCounts, ItemsOf};
use crate::drift::DriftLog;
use crate::error::{DecodeError, Error};
use crate::operations::operation::OperationSpec;
use crate::request::Exchange;

/// How a page's body becomes items.
pub(super) trait PageDecoder: Send {
    type Item: Send + 'static;
    /// Decodes `exchange`'s body; decoding into the generated types notes drift in `drift`.
    fn decode(
        spec: &'static OperationSpec,
        exchange: &Exchange,
        drift: &DriftLog,
    ) -> Result<(Vec<Self::Item>, Option<ItemCounts>), Error>;
}

/// Items as the operation's generated type.
pub(super) struct AsGenerated<B>(PhantomData<fn() -> B>);

impl<B> PageDecoder for AsGenerated<B>
where
    B: PageBody + DeserializeOwned + Send + 'static,
    B::Item: Send + 'static,
{
    type Item = B::Item;

    fn decode(
        spec: &'static OperationSpec,
        exchange: &Exchange,
        drift: &DriftLog,
    ) -> Result<(Vec<B::Item>, Option<ItemCounts>), Error> {
        let body =
            crate::operations::decode::decode::<B>(drift, spec.operation_id, &exchange.body)?;
        Ok(body.into_parts())
    }
}

/// Items as the caller's own type.
pub(super) struct As<T>(PhantomData<fn() -> T>);

impl<T: DeserializeOwned + Send + 'static> PageDecoder for As<T> {
    type Item = T;

    // The caller's own type: what it leaves out is its choice, not drift.
    fn decode(
        spec: &'static OperationSpec,
        exchange: &Exchange,
        _: &DriftLog,
    ) -> Result<(Vec<T>, Option<ItemCounts>), Error> {
        let body = &exchange.body;
        decode_page::<T>(body).or_else(|e| {
            let operation = spec.operation_id;
            match crate::operations::lenient::decode_repaired::<ItemsOf<T>>(body) {
                Some(Ok((ItemsOf::Items(items, counts), _))) => Ok((items, counts)),
                Some(Err(left)) => Err(Error::Decode(left.into_error(operation))),
                // Not JSON, or not a page: where the body stops being JSON is what there is to say.
                _ => Err(Error::Decode(DecodeError::locate::<serde::de::IgnoredAny>(
                    operation, body, &e,
                ))),
            }
        })
    }
}

/// Items of the generated type decoded one by one: a bad item is an error of its own.
pub(super) struct EachItem<T>(PhantomData<fn() -> T>);

impl<T: DeserializeOwned + Send + 'static> PageDecoder for EachItem<T> {
    type Item = Result<T, Error>;

    fn decode(
        spec: &'static OperationSpec,
        exchange: &Exchange,
        drift: &DriftLog,
    ) -> Result<(Vec<Self::Item>, Option<ItemCounts>), Error> {
        let (values, counts) = As::<serde_json::Value>::decode(spec, exchange, drift)?;
        let mut found = Vec::new();
        let mut repairs = Vec::new();
        let items = crate::drift::watch_enums(&mut found, || {
            values
                .into_iter()
                .enumerate()
                .map(|(index, value)| {
                    if let Ok(item) = T::deserialize(&value) {
                        return Ok(item);
                    }
                    let raw = value.to_string();
                    let mut value = value;
                    match crate::operations::lenient::decode_value_repaired::<T>(&mut value) {
                        Ok((item, repaired)) => {
                            for mut finding in repaired {
                                finding.at = format!("[]{}", path_suffix(&finding.at));
                                finding.add_to(&mut repairs);
                            }
                            Ok(item)
                        }
                        Err(left) => {
                            let mut error = left.into_error(spec.operation_id);
                            error.path = format!("[{index}]{}", path_suffix(&error.path));
                            error.item = Some((index, raw));
                            Err(Error::Decode(error))
                        }
                    }
                })
                .collect::<Vec<_>>()
        });
        found.extend(repairs);
        drift.note(spec.operation_id, found);
        Ok((items, counts))
    }
}

/// `.a.b` for a path `a.b` (`[1].a` stays), to follow an item's index.
fn path_suffix(path: &str) -> String {
    match path {
        "." | "" => String::new(),
        p if p.starts_with('[') => p.to_owned(),
        p => format!(".{p}"),
    }
}
