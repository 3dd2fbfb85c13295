//! [`MarshalError`]: what can be wrong with a stream, and where.

use super::PythonVersion;

/// Why a stream could not be normalised. Offsets count bytes from the start
/// of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MarshalError {
    /// The input ends inside an object.
    #[error(
        "marshal data ends early: {what} at offset {offset} needs {needed} byte(s), {available} left"
    )]
    Truncated {
        /// Where the missing field starts.
        offset: usize,
        /// The field being read.
        what: &'static str,
        /// How many bytes it needs (at least).
        needed: u64,
        /// How many bytes the input has left.
        available: usize,
    },
    /// A type byte this module (and CPython) does not know.
    #[error("unknown marshal type code {code:#04x} at offset {offset}")]
    UnknownType {
        /// Offset of the type byte.
        offset: usize,
        /// The type byte, `FLAG_REF` included.
        code: u8,
    },
    /// A size field is negative (or, for a long, `i32::MIN`).
    #[error("{what} {size} at offset {offset} is out of range")]
    BadSize {
        /// Offset of the size field.
        offset: usize,
        /// The field.
        what: &'static str,
        /// Its value.
        size: i64,
    },
    /// An `r` entry names an index the table does not have yet.
    #[error(
        "reference at offset {offset} names object {index}, but only {defined} object(s) were flagged before it"
    )]
    BadRef {
        /// Offset of the `r` byte.
        offset: usize,
        /// The index it names.
        index: i64,
        /// How many indices were handed out before it.
        defined: usize,
    },
    /// An `r` entry names a frozenset or code object from inside itself.
    #[error(
        "reference at offset {offset} names object {index} (type {code:?}) from inside it; CPython only allows that for tuples, lists, dicts and sets"
    )]
    RefToIncomplete {
        /// Offset of the `r` byte.
        offset: usize,
        /// The index it names.
        index: u32,
        /// Type code of the object being read, as a character.
        code: char,
    },
    /// A NULL (`0`) where an object is required (anywhere but a dict key).
    #[error("NULL at offset {offset} where {what} needs an object")]
    UnexpectedNull {
        /// Offset of the `0` byte.
        offset: usize,
        /// What needed an object.
        what: &'static str,
    },
    /// Objects nest more than [`MAX_DEPTH`](super::MAX_DEPTH) levels deep.
    #[error("objects nest deeper than {limit} levels at offset {offset}")]
    TooDeep {
        /// Offset of the first object past the limit.
        offset: usize,
        /// The limit, [`MAX_DEPTH`](super::MAX_DEPTH).
        limit: usize,
    },
    /// More objects are flagged than CPython's reference table can hold.
    #[error(
        "too many flagged objects at offset {offset}: the reference table is limited to {limit}"
    )]
    TooManyRefs {
        /// Offset of the object that overflowed the table.
        offset: usize,
        /// The table size limit.
        limit: usize,
    },
    /// Bytes follow the top-level object.
    #[error("{len} byte(s) follow the end of the marshal data at offset {offset}")]
    TrailingBytes {
        /// Where the top-level object ends.
        offset: usize,
        /// How many bytes follow it.
        len: usize,
    },
    /// A set or frozenset item contains a reference cycle, so it has no
    /// finite encoding to sort by (and CPython could not hash it either).
    #[error(
        "set at offset {offset} has an item that contains a reference cycle; such a set cannot be loaded"
    )]
    CyclicSetElement {
        /// Offset of the set's type byte.
        offset: usize,
    },
    /// Sorting set items moved a shared object's full encoding under a
    /// deeper path, past [`MAX_DEPTH`](super::MAX_DEPTH); the result would not load.
    #[error(
        "after sorting set items, the object from offset {offset} would nest deeper than {limit} levels"
    )]
    ReorderedTooDeep {
        /// Offset, in the input, of the object that would be too deep.
        offset: usize,
        /// The limit, [`MAX_DEPTH`](super::MAX_DEPTH).
        limit: usize,
    },
    /// The code object layout of this Python version is not known.
    #[error("no marshal code object layout for Python {version}; supported: 3.8 to 3.13")]
    UnsupportedVersion {
        /// The version asked for.
        version: PythonVersion,
    },
}
