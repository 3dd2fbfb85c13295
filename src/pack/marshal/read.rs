//! Pass 1: the stream into a [`Graph`], references resolved to edges.
//!
//! The reader keeps no recursion: each open container is a [`Frame`] on an
//! explicit stack, so hostile nesting costs heap, bounded by [`MAX_DEPTH`],
//! never native stack. Every count is checked against the bytes left before
//! it is trusted.

use std::ops::Range;

use super::{
    FLAG_REF, Graph, MAX_DEPTH, MAX_REFS, MarshalError, Node, Part, Segment, type_code as tc,
};

/// What an open container still needs.
#[derive(Clone, Copy, Debug)]
enum Pending {
    /// This many more items (tuple, list, set).
    Items(usize),
    /// A key, or the NULL that ends the dict.
    DictKey,
    /// The value for the key just read.
    DictValue,
    /// Code object: `left` more objects of `segment`, then later segments.
    Code { segment: usize, left: usize },
}

impl Pending {
    /// What the next object is for, in error messages.
    fn what(self) -> &'static str {
        match self {
            Pending::Items(_) => "a container item",
            Pending::DictKey => "a dict key",
            Pending::DictValue => "a dict value",
            Pending::Code { .. } => "a code object field",
        }
    }
}

/// A container being read.
#[derive(Debug)]
struct Frame {
    node: usize,
    /// Where its parts start in [`Reader::scratch`].
    mark: usize,
    pending: Pending,
}

/// The result of reading one type byte and what directly follows it.
enum Item {
    /// `0`.
    Null,
    /// A finished object: a scalar, or a reference to an earlier node.
    Done(usize),
    /// A container whose items come next.
    Open(Frame),
}

/// Reads a stream into a [`Graph`] without recursion: open containers live
/// on an explicit stack whose height is the nesting depth.
pub(super) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    layout: &'static [Segment],
    nodes: Vec<Node>,
    parts: Vec<Part>,
    /// Parts of the containers still open, innermost last.
    scratch: Vec<Part>,
    /// The reference table: index → node.
    refs: Vec<usize>,
    completed: Vec<usize>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(data: &'a [u8], layout: &'static [Segment]) -> Reader<'a> {
        Reader {
            data,
            pos: 0,
            layout,
            nodes: Vec::new(),
            parts: Vec::new(),
            scratch: Vec::new(),
            refs: Vec::new(),
            completed: Vec::new(),
        }
    }

    pub(super) fn read(mut self) -> Result<Graph<'a>, MarshalError> {
        let mut stack: Vec<Frame> = Vec::new();
        let root = 'objects: loop {
            let offset = self.pos;
            let mut done = match self.item(stack.len() + 1)? {
                Item::Open(mut frame) => {
                    if self.settle(&mut frame)? {
                        self.close(frame.node, frame.mark);
                        frame.node
                    } else {
                        stack.push(frame);
                        continue;
                    }
                }
                Item::Done(node) => node,
                Item::Null => match stack.pop() {
                    Some(frame) if matches!(frame.pending, Pending::DictKey) => {
                        self.close(frame.node, frame.mark);
                        frame.node
                    }
                    other => {
                        let what = other.map_or("the top level", |f| f.pending.what());
                        return Err(MarshalError::UnexpectedNull { offset, what });
                    }
                },
            };
            // Hand the finished object to its parent, closing every parent
            // it completes.
            loop {
                let Some(mut frame) = stack.pop() else {
                    break 'objects done;
                };
                self.scratch.push(Part::Child(done));
                frame.pending = match frame.pending {
                    Pending::Items(left) => Pending::Items(left.saturating_sub(1)),
                    Pending::DictKey => Pending::DictValue,
                    Pending::DictValue => Pending::DictKey,
                    Pending::Code { segment, left } => Pending::Code {
                        segment,
                        left: left.saturating_sub(1),
                    },
                };
                if self.settle(&mut frame)? {
                    self.close(frame.node, frame.mark);
                    done = frame.node;
                } else {
                    stack.push(frame);
                    continue 'objects;
                }
            }
        };
        if self.pos != self.data.len() {
            return Err(MarshalError::TrailingBytes {
                offset: self.pos,
                len: self.data.len() - self.pos,
            });
        }
        Ok(Graph {
            data: self.data,
            nodes: self.nodes,
            parts: self.parts,
            completed: self.completed,
            root,
        })
    }

    /// Reads the fixed fields a container needs before its next object and
    /// says whether it is complete.
    fn settle(&mut self, frame: &mut Frame) -> Result<bool, MarshalError> {
        loop {
            let segment = match frame.pending {
                Pending::Items(left) => return Ok(left == 0),
                Pending::DictKey | Pending::DictValue => return Ok(false),
                Pending::Code { left, .. } if left > 0 => return Ok(false),
                Pending::Code { segment, .. } => segment,
            };
            let left = match self.layout.get(segment) {
                None => return Ok(true),
                Some(&Segment::Objects(count)) => count,
                Some(&Segment::Ints(count)) => {
                    let raw = self.take(4 * count, "code object integer fields")?;
                    self.push_raw(raw);
                    0
                }
            };
            frame.pending = Pending::Code {
                segment: segment + 1,
                left,
            };
        }
    }

    /// Reads one type byte and, for anything but a container, the rest of
    /// the object.
    fn item(&mut self, depth: usize) -> Result<Item, MarshalError> {
        let offset = self.pos;
        let byte = self.byte("type code")?;
        if depth > MAX_DEPTH {
            return Err(MarshalError::TooDeep {
                offset,
                limit: MAX_DEPTH,
            });
        }
        let code = byte & !FLAG_REF;
        let flagged = byte & FLAG_REF != 0;
        let start = self.pos;
        match code {
            tc::NULL => return Ok(Item::Null),
            // Constants never enter the reference table, flagged or not.
            tc::NONE | tc::FALSE | tc::TRUE | tc::STOPITER | tc::ELLIPSIS => {
                let node = self.open(code, offset, false)?;
                self.close(node, self.scratch.len());
                return Ok(Item::Done(node));
            }
            tc::REF => return self.reference(offset).map(Item::Done),
            tc::INT => self.skip(4, "int")?,
            tc::INT64 => self.skip(8, "64-bit int")?,
            tc::BINARY_FLOAT => self.skip(8, "float")?,
            tc::BINARY_COMPLEX => self.skip(16, "complex")?,
            tc::FLOAT => self.short_text("float text")?,
            tc::COMPLEX => {
                self.short_text("complex real part text")?;
                self.short_text("complex imaginary part text")?;
            }
            tc::LONG => {
                let count = self.i32("long digit count")?;
                if count == i32::MIN {
                    return Err(MarshalError::BadSize {
                        offset: start,
                        what: "long digit count",
                        size: count.into(),
                    });
                }
                let len = 2 * count.unsigned_abs() as usize;
                self.skip(len, "long digits")?;
            }
            tc::STRING | tc::INTERNED | tc::UNICODE | tc::ASCII | tc::ASCII_INTERNED => {
                let len = self.size("string length")?;
                self.skip(len, "string data")?;
            }
            tc::SHORT_ASCII | tc::SHORT_ASCII_INTERNED => self.short_text("short string")?,
            tc::SMALL_TUPLE => {
                let count = self.byte("small tuple length")?.into();
                return self.open_items(code, offset, flagged, start, count);
            }
            tc::TUPLE | tc::LIST | tc::SET | tc::FROZENSET => {
                let count = self.size("container length")?;
                return self.open_items(code, offset, flagged, start, count);
            }
            tc::DICT => {
                let node = self.open(code, offset, flagged)?;
                return Ok(Item::Open(Frame {
                    node,
                    mark: self.scratch.len(),
                    pending: Pending::DictKey,
                }));
            }
            tc::CODE => {
                let node = self.open(code, offset, flagged)?;
                return Ok(Item::Open(Frame {
                    node,
                    mark: self.scratch.len(),
                    pending: Pending::Code {
                        segment: 0,
                        left: 0,
                    },
                }));
            }
            _ => return Err(MarshalError::UnknownType { offset, code: byte }),
        }
        // A scalar: its payload is everything after the type byte.
        let node = self.open(code, offset, flagged)?;
        let mark = self.scratch.len();
        self.push_raw(start..self.pos);
        self.close(node, mark);
        Ok(Item::Done(node))
    }

    /// Opens a tuple, list or set whose count field spans `start..self.pos`.
    fn open_items(
        &mut self,
        code: u8,
        offset: usize,
        flagged: bool,
        start: usize,
        count: usize,
    ) -> Result<Item, MarshalError> {
        // Every item takes at least one byte: refuse counts the input cannot
        // hold before anything is sized from them.
        self.check(count, "container items")?;
        let node = self.open(code, offset, flagged)?;
        let mark = self.scratch.len();
        self.push_raw(start..self.pos);
        Ok(Item::Open(Frame {
            node,
            mark,
            pending: Pending::Items(count),
        }))
    }

    /// Resolves an `r` entry whose type byte is at `offset`.
    fn reference(&mut self, offset: usize) -> Result<usize, MarshalError> {
        let index = self.i32("reference index")?;
        let bad = MarshalError::BadRef {
            offset,
            index: index.into(),
            defined: self.refs.len(),
        };
        let slot = usize::try_from(index).map_err(|_| bad)?;
        let node = *self.refs.get(slot).ok_or(bad)?;
        let target = &self.nodes[node];
        let registered_early = matches!(
            target.code,
            tc::TUPLE | tc::SMALL_TUPLE | tc::LIST | tc::DICT | tc::SET
        );
        if !target.complete && !registered_early {
            return Err(MarshalError::RefToIncomplete {
                offset,
                index: index.unsigned_abs(),
                code: char::from(target.code),
            });
        }
        Ok(node)
    }

    /// Creates a node, giving it the next reference index if flagged.
    fn open(&mut self, code: u8, offset: usize, flagged: bool) -> Result<usize, MarshalError> {
        let node = self.nodes.len();
        if flagged {
            if self.refs.len() >= MAX_REFS {
                return Err(MarshalError::TooManyRefs {
                    offset,
                    limit: MAX_REFS,
                });
            }
            self.refs.push(node);
        }
        self.nodes.push(Node {
            code,
            offset,
            parts: 0..0,
            complete: false,
        });
        Ok(node)
    }

    /// Moves a node's parts from the scratch stack into the graph.
    fn close(&mut self, node: usize, mark: usize) {
        let start = self.parts.len();
        self.parts.extend(self.scratch.drain(mark..));
        let node_ref = &mut self.nodes[node];
        node_ref.parts = start..self.parts.len();
        node_ref.complete = true;
        self.completed.push(node);
    }

    fn push_raw(&mut self, raw: Range<usize>) {
        self.scratch.push(Part::Raw {
            start: raw.start,
            end: raw.end,
        });
    }

    /// Fails unless `needed` more bytes are there.
    fn check(&self, needed: usize, what: &'static str) -> Result<(), MarshalError> {
        let available = self.data.len() - self.pos;
        if needed > available {
            return Err(MarshalError::Truncated {
                offset: self.pos,
                what,
                needed: needed as u64,
                available,
            });
        }
        Ok(())
    }

    fn take(&mut self, len: usize, what: &'static str) -> Result<Range<usize>, MarshalError> {
        self.check(len, what)?;
        let start = self.pos;
        self.pos += len;
        Ok(start..self.pos)
    }

    fn skip(&mut self, len: usize, what: &'static str) -> Result<(), MarshalError> {
        self.take(len, what).map(drop)
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, MarshalError> {
        let at = self.take(1, what)?.start;
        Ok(self.data[at])
    }

    fn i32(&mut self, what: &'static str) -> Result<i32, MarshalError> {
        let raw = self.take(4, what)?;
        let mut bytes = [0; 4];
        bytes.copy_from_slice(&self.data[raw]);
        Ok(i32::from_le_bytes(bytes))
    }

    /// A 4-byte size that must not be negative.
    fn size(&mut self, what: &'static str) -> Result<usize, MarshalError> {
        let offset = self.pos;
        let size = self.i32(what)?;
        usize::try_from(size).map_err(|_| MarshalError::BadSize {
            offset,
            what,
            size: size.into(),
        })
    }

    /// A 1-byte length and that many bytes.
    fn short_text(&mut self, what: &'static str) -> Result<(), MarshalError> {
        let len = self.byte(what)?.into();
        self.skip(len, what)
    }
}
