//! Deterministic `marshal` streams: parse what CPython wrote and write it back
//! in one canonical form.
//!
//! # Why `marshal.dumps` is not reproducible
//!
//! A `.pyc` file is a 16-byte header followed by `marshal.dumps(code)`. The
//! same source compiled twice can marshal to different bytes (CPython issue
//! gh-98819) for two reasons:
//!
//! * **Reference flags follow refcounts.** Version 3 and later of the format
//!   can share objects: an object written with `FLAG_REF` (`0x80` ORed into
//!   its type code) gets the next index in a table, and a later `r` entry
//!   names it by that index instead of writing it again. CPython's writer
//!   flags *every* object whose reference count is above one at dump time,
//!   whether or not it is written twice, so an unrelated reference held
//!   elsewhere (a cache, the interning table, a debugger) flips the flag and
//!   shifts every index after it.
//! * **Set order follows the same accidents.** The items of a `set` or
//!   `frozenset` (the compiler turns `x in {"a", "b"}` into a frozenset
//!   constant) have no order of their own. Up to 3.10 CPython writes them in
//!   hash-table order, which for `str` and `bytes` depends on
//!   `PYTHONHASHSEED`. From 3.11 on (bpo-37596) it sorts them by each item's
//!   own `marshal.dumps` bytes, which removes the seed but not the refcounts:
//!   an item holding `FLAG_REF` (`0x80`) sorts after one without, so holding
//!   a reference to some items reorders the set.
//!
//! [`normalize`] removes both: the result depends only on the objects and on
//! which of them are the *same* object, never on refcounts or hash seeds.
//! (Compiling the top-level standard library with 3.8, 3.9 or 3.10 under two
//! hash seeds changes 9 to 16 modules' bytes; under 3.11 the seed changes
//! none, but a held reference changes every module. After normalising, none
//! differ.)
//!
//! # The format, as far as this module needs it
//!
//! Every object starts with one type byte; bit 7 is `FLAG_REF`. Integers are
//! little-endian; "size" is a 4-byte signed count that must not be negative.
//!
//! | code        | object                    | after the type byte                        |
//! |-------------|---------------------------|--------------------------------------------|
//! | `0`         | NULL (ends a dict)        | nothing                                    |
//! | `N F T S .` | None False True StopIteration Ellipsis | nothing                       |
//! | `i`         | int fitting in 32 bits    | 4-byte signed value                        |
//! | `I`         | int (old writers)         | 8-byte signed value                        |
//! | `l`         | any other int             | 4-byte signed digit count *n*, then \|*n*\| 15-bit digits of 2 bytes each; the sign of *n* is the sign of the int |
//! | `g`, `y`    | float, complex            | 8 or 16 bytes of IEEE 754 doubles          |
//! | `f`, `x`    | float, complex (old)      | one or two (1-byte length, ASCII text)     |
//! | `s`         | bytes                     | size, bytes                                |
//! | `u`, `t`    | str, interned str         | size, UTF-8 (surrogates allowed)           |
//! | `a`, `A`    | ASCII str, interned       | size, bytes                                |
//! | `z`, `Z`    | short ASCII str, interned | 1-byte length, bytes                       |
//! | `)`         | tuple of < 256 items      | 1-byte count, items                        |
//! | `(` `[`     | tuple, list               | size, items                                |
//! | `<` `>`     | set, frozenset            | size, items                                |
//! | `{`         | dict                      | key, value, key, value, …, `0`             |
//! | `c`         | code object               | version-specific, see [`PythonVersion`]    |
//! | `r`         | reference                 | 4-byte index into the reference table      |
//!
//! The reader gives a flagged object its index when it *reads the type byte*,
//! so indices follow the pre-order position of flagged objects (a container's
//! index comes before those of its items). The six constants and NULL never
//! get an index, even if flagged. A tuple, list, dict or set is registered
//! before its items are read, so a reference to it from inside itself is
//! accepted (that is how a list containing itself round-trips); a frozenset
//! or code object is registered only once complete, and CPython rejects a
//! reference to one still being read. Nesting deeper than [`MAX_DEPTH`]
//! objects is refused. This module checks all of these the same way.
//!
//! # The canonical form
//!
//! [`normalize`] works in three passes:
//!
//! 1. **Parse** the stream into a graph: one node per object written in full,
//!    and every `r` entry resolved to the node it names. A reference is just
//!    a second edge to the same node, so which occurrence was the
//!    "definition" no longer matters.
//! 2. **Sort set items.** Bottom-up, each node gets a *class*: two nodes have
//!    the same class exactly when they would marshal to the same bytes with
//!    every reference written out in full and no flags. The items of every
//!    set and frozenset are then sorted by that flag-free, reference-free
//!    encoding (compared lazily along the first differing path, so the cost
//!    does not depend on how much sharing there is).
//! 3. **Emit** from the root, depth first. An object reached a second time is
//!    written as `r`; an object gets `FLAG_REF` exactly when it is reached
//!    more than once, and indices are handed out densely in the order the
//!    flagged objects are written. Because the graph, not the input order,
//!    decides where an object is written in full, an object shared between
//!    two set items is written in full in whichever item now comes first,
//!    and the other one refers back to it.
//!
//! Everything else is copied byte for byte, including the type code (so an
//! interned string stays interned and a short tuple stays `)`). The output
//! has the same length as the input and is a fixed point:
//! `normalize(normalize(x)) == normalize(x)`.
//!
//! # What is not checked
//!
//! The parser checks structure, not values: a stream it accepts can still be
//! refused by `marshal.loads` (invalid UTF-8 in a `u`, an unnormalised long,
//! a code object whose `co_consts` is not a tuple). Two items of one set
//! whose flag-free encodings are identical (possible only for values that
//! are not equal to themselves, such as two distinct NaN floats) keep their
//! input order.

use std::{fmt, ops::Range};

mod error;
mod order;
mod read;
#[cfg(test)]
mod tests;
mod write;

pub use error::MarshalError;

use read::Reader;

/// How deeply objects may nest before reading fails, as in CPython's
/// `MAX_MARSHAL_STACK_DEPTH` (Windows builds of CPython use 1000).
pub const MAX_DEPTH: usize = 2000;

/// Set on a type byte to give the object an index in the reference table.
const FLAG_REF: u8 = 0x80;

/// The largest reference table CPython's reader accepts.
const MAX_REFS: usize = 0x7fff_fffe;

/// Type codes, without [`FLAG_REF`].
mod type_code {
    pub const NULL: u8 = b'0';
    pub const NONE: u8 = b'N';
    pub const FALSE: u8 = b'F';
    pub const TRUE: u8 = b'T';
    pub const STOPITER: u8 = b'S';
    pub const ELLIPSIS: u8 = b'.';
    pub const INT: u8 = b'i';
    pub const INT64: u8 = b'I';
    pub const FLOAT: u8 = b'f';
    pub const BINARY_FLOAT: u8 = b'g';
    pub const COMPLEX: u8 = b'x';
    pub const BINARY_COMPLEX: u8 = b'y';
    pub const LONG: u8 = b'l';
    pub const STRING: u8 = b's';
    pub const INTERNED: u8 = b't';
    pub const REF: u8 = b'r';
    pub const TUPLE: u8 = b'(';
    pub const LIST: u8 = b'[';
    pub const DICT: u8 = b'{';
    pub const CODE: u8 = b'c';
    pub const UNICODE: u8 = b'u';
    pub const SET: u8 = b'<';
    pub const FROZENSET: u8 = b'>';
    pub const ASCII: u8 = b'a';
    pub const ASCII_INTERNED: u8 = b'A';
    pub const SMALL_TUPLE: u8 = b')';
    pub const SHORT_ASCII: u8 = b'z';
    pub const SHORT_ASCII_INTERNED: u8 = b'Z';
}

/// The CPython version that wrote a stream.
///
/// Every version from 3.4 on writes marshal format 4 with the same type
/// codes; what changes is the layout of a code object, a run of 4-byte
/// integers and nested objects:
///
/// | versions    | layout after `c`                                                    |
/// |-------------|---------------------------------------------------------------------|
/// | 3.8 – 3.10  | argcount, posonlyargcount, kwonlyargcount, nlocals, stacksize, flags (6 ints); code, consts, names, varnames, freevars, cellvars, filename, name; firstlineno (int); linetable |
/// | 3.11 – 3.13 | argcount, posonlyargcount, kwonlyargcount, stacksize, flags (5 ints); code, consts, names, localsplusnames, localspluskinds, filename, name, qualname; firstlineno (int); linetable, exceptiontable |
///
/// Both were checked by normalising every top-level standard library module
/// as compiled by each of 3.8, 3.9, 3.10, 3.12 and 3.13 (and the test suite
/// does it for 3.11): every byte is consumed, and the other layout fails on
/// every module. 3.14 writes marshal format 5, which adds slices, and is not
/// supported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PythonVersion {
    /// Major version, 3.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
}

impl PythonVersion {
    /// CPython 3.10.
    pub const V3_10: PythonVersion = PythonVersion::new(3, 10);
    /// CPython 3.11, the interpreter this crate embeds.
    pub const V3_11: PythonVersion = PythonVersion::new(3, 11);
    /// CPython 3.12.
    pub const V3_12: PythonVersion = PythonVersion::new(3, 12);
    /// CPython 3.13.
    pub const V3_13: PythonVersion = PythonVersion::new(3, 13);

    /// A version from its two numbers.
    pub const fn new(major: u8, minor: u8) -> PythonVersion {
        PythonVersion { major, minor }
    }

    /// The code object layout, or `None` for a version this module does not
    /// know.
    fn code_layout(self) -> Option<&'static [Segment]> {
        match (self.major, self.minor) {
            (3, 8..=10) => Some(CODE_3_8),
            (3, 11..=13) => Some(CODE_3_11),
            _ => None,
        }
    }
}

impl fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// One run of a code object's fields.
#[derive(Clone, Copy, Debug)]
enum Segment {
    /// This many 4-byte integers.
    Ints(usize),
    /// This many nested objects.
    Objects(usize),
}

const CODE_3_8: &[Segment] = &[
    Segment::Ints(6),
    Segment::Objects(8),
    Segment::Ints(1),
    Segment::Objects(1),
];

const CODE_3_11: &[Segment] = &[
    Segment::Ints(5),
    Segment::Objects(8),
    Segment::Ints(1),
    Segment::Objects(2),
];

/// Rewrites a marshal stream written by CPython `version` into its canonical
/// form (see the [module docs](self)).
///
/// The input is one complete object, as returned by `marshal.dumps` (for a
/// `.pyc` file, everything after the 16-byte header). The output has the
/// same length and loads to an equal object with the same sharing.
///
/// ```
/// use pyembed::pack::marshal::{normalize, PythonVersion};
///
/// // ("a", "a") with the string flagged, then referenced...
/// let shared = b")\x02\xfa\x01ar\x00\x00\x00\x00";
/// // ...and frozenset({"b", "a"}) with a flag nothing refers to.
/// let flagged = b">\x02\x00\x00\x00\xfa\x01bz\x01a";
/// assert_eq!(normalize(shared, PythonVersion::V3_11)?, shared);
/// assert_eq!(
///     normalize(flagged, PythonVersion::V3_11)?,
///     b">\x02\x00\x00\x00z\x01az\x01b"
/// );
/// # Ok::<(), pyembed::pack::marshal::MarshalError>(())
/// ```
pub fn normalize(data: &[u8], version: PythonVersion) -> Result<Vec<u8>, MarshalError> {
    let layout = version
        .code_layout()
        .ok_or(MarshalError::UnsupportedVersion { version })?;
    let mut graph = Reader::new(data, layout).read()?;
    graph.sort_sets()?;
    graph.emit()
}

/// Everything after an object's type byte: copied bytes and nested objects,
/// in stream order.
#[derive(Clone, Copy, Debug)]
enum Part {
    /// Input bytes `start..end`, copied verbatim.
    Raw { start: usize, end: usize },
    /// A nested object (which may be shared with other parents).
    Child(usize),
}

/// One object written in full somewhere in the input.
#[derive(Clone, Debug)]
struct Node {
    /// Type code without [`FLAG_REF`].
    code: u8,
    /// Offset of its type byte in the input, for errors.
    offset: usize,
    /// Its parts, a range of [`Graph::parts`].
    parts: Range<usize>,
    /// Whether all of its parts have been read.
    complete: bool,
}

/// A parsed stream: objects as nodes, references resolved to edges.
struct Graph<'a> {
    data: &'a [u8],
    nodes: Vec<Node>,
    parts: Vec<Part>,
    /// Node ids in the order they were completed (children before parents,
    /// except along reference cycles).
    completed: Vec<usize>,
    root: usize,
}
