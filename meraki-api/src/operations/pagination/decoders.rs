//! How a page's body becomes items: as the operation's generated type, as the caller's own
//! type, or one by one (a bad item an error of its own).

use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use super::PageBody;
use crate::body::{decode_page, ItemCounts, ItemsOf};
use crate::error::{DecodeError, Error};
use crate::operations::operation::OperationSpec;
use crate::request::Exchange;

/// How a page's body becomes items.
pub(super) trait PageDecoder: Send {
    type Item: Send + 'static;
    fn decode(
        spec: &'static OperationSpec,
        exchange: &Exchange,
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
    ) -> Result<(Vec<B::Item>, Option<ItemCounts>), Error> {
        Ok(crate::operations::decode::decode::<B>(spec.operation_id, &exchange.body)?.into_parts())
    }
}

/// Items as the caller's own type.
pub(super) struct As<T>(PhantomData<fn() -> T>);

impl<T: DeserializeOwned + Send + 'static> PageDecoder for As<T> {
    type Item = T;

    fn decode(
        spec: &'static OperationSpec,
        exchange: &Exchange,
    ) -> Result<(Vec<T>, Option<ItemCounts>), Error> {
        let body = &exchange.body;
        decode_page::<T>(body).or_else(|e| {
            let operation = spec.operation_id;
            match crate::operations::lenient::decode_repaired::<ItemsOf<T>>(body) {
                Some(Ok(ItemsOf::Items(items, counts))) => Ok((items, counts)),
                Some(Err(left)) => Err(Error::Decode(left.into_error(operation))),
                _ => Err(Error::Decode(DecodeError::locate::<ItemsOf<T>>(
                    operation, body, &e,
                ))),
            }
        })
    }
}

/// Items decoded one by one: a bad item is an error of its own.
pub(super) struct EachItem<T>(PhantomData<fn() -> T>);

impl<T: DeserializeOwned + Send + 'static> PageDecoder for EachItem<T> {
    type Item = Result<T, Error>;

    fn decode(
        spec: &'static OperationSpec,
        exchange: &Exchange,
    ) -> Result<(Vec<Self::Item>, Option<ItemCounts>), Error> {
        let (values, counts) = As::<serde_json::Value>::decode(spec, exchange)?;
        let items = values
            .into_iter()
            .enumerate()
            .map(|(index, value)| {
                if let Ok(item) = T::deserialize(&value) {
                    return Ok(item);
                }
                let raw = value.to_string();
                crate::operations::lenient::decode_value_repaired::<T>(value).map_err(|left| {
                    let mut error = left.into_error(spec.operation_id);
                    error.path = format!("[{index}]{}", path_suffix(&error.path));
                    error.item = Some((index, raw));
                    Error::Decode(error)
                })
            })
            .collect();
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
