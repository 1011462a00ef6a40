//! Deserialization helpers the generated types use where the API is looser than its specs.

use serde::{Deserialize, Deserializer};

/// Decodes `null` as an empty collection (the API sends `null` for arrays it documents).
pub(crate) fn null_as_empty<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// What an open enum (`x-open-enum` in the spec) has beyond its generated variants: the build
/// script adds an `Unknown(String)` variant and invokes this with the listed variants and their
/// wire strings. Unlisted values decode into `Unknown`, and `Display`, `FromStr` and
/// serialization give back exactly what the API sent.
macro_rules! open_enum {
    ($name:ident { $($variant:ident => $wire:literal),* $(,)? }) => {
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(match self {
                    $(Self::$variant => $wire,)*
                    Self::Unknown(value) => value,
                })
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = self::error::ConversionError;
            fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(Self::from_wire(value))
            }
        }

        // Written out rather than derived: serde's derive buffers every value to try an
        // untagged variant.
        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                struct WireString;
                impl ::serde::de::Visitor<'_> for WireString {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: ::serde::de::Error>(
                        self,
                        value: &str,
                    ) -> ::std::result::Result<$name, E> {
                        Ok($name::from_wire(value))
                    }
                }
                deserializer.deserialize_str(WireString)
            }
        }

        impl $name {
            /// The variant for a value as the API sends it; unlisted values are kept.
            pub fn from_wire(value: &str) -> Self {
                match value {
                    $($wire => Self::$variant,)*
                    other => Self::Unknown(other.to_owned()),
                }
            }

            /// Whether this is a value the spec did not list.
            pub fn is_unknown(&self) -> bool {
                matches!(self, Self::Unknown(_))
            }
        }
    };
}
pub(crate) use open_enum;
