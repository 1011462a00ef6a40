//! Answers that do not decode, and excerpts of them that are safe to print.

use std::fmt;

use serde::de::DeserializeOwned;

/// A response that does not decode. Its excerpt and `Debug` mask secret-looking fields
/// ([`crate::mask_json_text`]); [`DecodeError::item`] holds a lenient stream's item as sent.
#[non_exhaustive]
pub struct DecodeError {
    /// The operation, as its spec names it.
    pub operation: &'static str,
    /// JSON path of the value that failed, e.g. `[3].permanentlyQueuedLicenses[0].id`.
    pub path: String,
    /// The decoder's message.
    pub message: String,
    /// A short excerpt of the body around the failure, secret-looking values masked.
    pub excerpt: String,
    /// Where a paginator decodes items one by one ([`crate::pagination::Paginator::lenient_items`]):
    /// the item's position in its page and its JSON as sent (whole: not masked).
    pub item: Option<(usize, String)>,
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeError")
            .field("operation", &self.operation)
            .field("path", &self.path)
            .field("message", &self.message)
            .field("excerpt", &self.excerpt)
            .field(
                "item",
                &self
                    .item
                    .as_ref()
                    .map(|(index, raw)| (index, crate::secrets::mask_json_text(raw))),
            )
            .finish()
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: response does not decode at `{}`: {} (near: {})",
            self.operation, self.path, self.message, self.excerpt
        )
    }
}

impl std::error::Error for DecodeError {}

impl DecodeError {
    /// What no repair could fix in an answer: the path, the decoder's message, and the JSON of
    /// the object holding the value (masked here).
    pub(crate) fn unrepaired(
        operation: &'static str,
        path: String,
        message: String,
        context: &str,
    ) -> Self {
        let masked = crate::secrets::mask_json_text(context);
        Self {
            operation,
            path,
            message,
            excerpt: excerpt(&masked, 0, 80),
            item: None,
        }
    }

    /// Re-decodes a body that failed, this time tracking the path, to say where it failed.
    pub(crate) fn locate<T: DeserializeOwned>(
        operation: &'static str,
        body: &[u8],
        original: &serde_json::Error,
    ) -> Self {
        let mut de = serde_json::Deserializer::from_slice(body);
        let (path, message) = match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Err(e) => (e.path().to_string(), e.inner().to_string()),
            Ok(_) => (".".to_owned(), original.to_string()),
        };
        let text = String::from_utf8_lossy(body);
        let offset = byte_offset(&text, original.line(), original.column());
        let (masked, offset) = crate::secrets::mask_json_text_at(&text, offset);
        Self {
            operation,
            path,
            message,
            excerpt: excerpt(&masked, offset, 80),
            item: None,
        }
    }
}

fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (line_start + column.saturating_sub(1)).min(text.len())
}

/// Up to `width` characters of `text` around byte `offset`, on one line.
pub(crate) fn excerpt(text: &str, offset: usize, width: usize) -> String {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let center = chars.partition_point(|(i, _)| *i < offset);
    let start = center.saturating_sub(width / 2);
    let end = (start + width).min(chars.len());
    let mut out: String = chars[start..end]
        .iter()
        .map(|(_, c)| if c.is_control() { ' ' } else { *c })
        .collect();
    if start > 0 {
        out.insert(0, '…');
    }
    if end < chars.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Item {
        id: String,
    }

    #[test]
    fn decode_errors_name_the_path() {
        let body = br#"[{"id": "1"}, {"id": 2}]"#;
        let err = serde_json::from_slice::<Vec<Item>>(body).unwrap_err();
        let decoded = DecodeError::locate::<Vec<Item>>("getThings", body, &err);
        assert_eq!(decoded.path, "[1].id");
        assert!(decoded.excerpt.contains("\"id\": 2"), "{}", decoded.excerpt);
    }

    #[test]
    fn excerpts_and_debug_never_show_secrets_from_the_answer() {
        let body = br#"[{"id": "1", "psk": "hunter22", "radius": {"secret": "s3cret"}, "n": 2}, {"id": 2}]"#;
        let err = serde_json::from_slice::<Vec<Item>>(body).unwrap_err();
        let mut decoded = DecodeError::locate::<Vec<Item>>("getThings", body, &err);
        decoded.item = Some((0, String::from_utf8_lossy(body).into_owned()));
        for shown in [decoded.to_string(), format!("{decoded:?}")] {
            assert!(
                !shown.contains("hunter22") && !shown.contains("s3cret"),
                "{shown}"
            );
        }
        assert!(decoded.item.as_ref().unwrap().1.contains("hunter22"));
        let unrepaired = DecodeError::unrepaired(
            "op",
            "[0].n".into(),
            "invalid type".into(),
            r#"{"psk":"hunter22","n":"x"}"#,
        );
        assert!(!format!("{unrepaired} {unrepaired:?}").contains("hunter22"));
    }

    #[test]
    fn excerpts_are_short_and_char_safe() {
        let text = "é".repeat(500);
        let e = excerpt(&text, 501, 20);
        assert!(e.chars().count() <= 22);
        assert_eq!(excerpt("abc", 99, 10), "abc");
    }
}
