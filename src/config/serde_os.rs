//! serde support for `Option<Vec<OsString>>` as a list of strings.
//!
//! serde's own `OsString` encoding is an externally tagged byte array
//! (`{"Unix": [...]}`), which is unreadable in a configuration file. Arguments
//! are written as plain strings instead; one that is not valid UTF-8 cannot be
//! written to TOML or JSON and is reported as an error naming it.

use std::ffi::OsString;

use serde::{Deserialize, Deserializer, Serializer, ser::SerializeSeq};

pub(crate) fn serialize<S: Serializer>(
    value: &Option<Vec<OsString>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        None => serializer.serialize_none(),
        Some(items) => {
            let mut seq = serializer.serialize_seq(Some(items.len()))?;
            for item in items {
                let s = item.to_str().ok_or_else(|| {
                    serde::ser::Error::custom(format!(
                        "argument {item:?} is not valid UTF-8 and cannot be serialized"
                    ))
                })?;
                seq.serialize_element(s)?;
            }
            seq.end()
        }
    }
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<OsString>>, D::Error> {
    let items = Option::<Vec<String>>::deserialize(deserializer)?;
    Ok(items.map(|items| items.into_iter().map(OsString::from).collect()))
}
