//! Unit tests: hand-built streams for each rule, an independent encoder as
//! the oracle for the canonical form, and hostile input.

use std::{collections::HashMap, rc::Rc};

use proptest::prelude::*;

use super::{MAX_DEPTH, MarshalError, PythonVersion, normalize};

fn norm(data: &[u8]) -> Result<Vec<u8>, MarshalError> {
    normalize(data, PythonVersion::V3_11)
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn flag(mut object: Vec<u8>) -> Vec<u8> {
    object[0] |= 0x80;
    object
}

fn short(text: &str) -> Vec<u8> {
    cat(&[&[b'z', text.len() as u8], text.as_bytes()])
}

fn int(value: i32) -> Vec<u8> {
    cat(&[b"i", &value.to_le_bytes()])
}

fn reference(index: i32) -> Vec<u8> {
    cat(&[b"r", &index.to_le_bytes()])
}

fn small_tuple(items: &[Vec<u8>]) -> Vec<u8> {
    cat(&[&[b')', items.len() as u8], &items.concat()])
}

fn counted(code: u8, items: &[Vec<u8>]) -> Vec<u8> {
    cat(&[
        &[code],
        &(items.len() as i32).to_le_bytes(),
        &items.concat(),
    ])
}

/// A bytes or str object: type code, 4-byte length, data.
fn string(code: u8, data: &[u8]) -> Vec<u8> {
    cat(&[&[code], &(data.len() as i32).to_le_bytes(), data])
}

fn frozenset(items: &[Vec<u8>]) -> Vec<u8> {
    counted(b'>', items)
}

/// A 3.11 code object with every field filled in.
fn code_object(consts: Vec<u8>) -> Vec<u8> {
    let ints = |values: &[i32]| {
        values
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>()
    };
    cat(&[
        b"c",
        &ints(&[1, 0, 0, 2, 3]),
        &string(b's', b"\x97\x00"),
        &consts,
        &small_tuple(&[short("print")]),
        &small_tuple(&[short("x")]),
        &string(b's', b" "),
        &short("<test>"),
        &short("f"),
        &short("f"),
        &ints(&[7]),
        &string(b's', b"\x80\x00"),
        &string(b's', b""),
    ])
}

/// One of every type code, nested, with sharing.
fn sample() -> Vec<u8> {
    let shared = flag(short("shared"));
    code_object(small_tuple(&[
        b"N".to_vec(),
        b"T".to_vec(),
        b"F".to_vec(),
        b"S".to_vec(),
        b".".to_vec(),
        shared,
        int(-5),
        cat(&[b"I", &7i64.to_le_bytes()]),
        cat(&[b"l", &(-2i32).to_le_bytes(), &[1, 0, 1, 0]]),
        cat(&[b"g", &1.5f64.to_le_bytes()]),
        cat(&[b"y", &1.5f64.to_le_bytes(), &2.5f64.to_le_bytes()]),
        cat(&[b"f\x031.5"]),
        cat(&[b"x\x031.5\x01", b"2"]),
        string(b's', b"bytes"),
        string(b't', b"interned"),
        string(b'u', "ünïcode".as_bytes()),
        string(b'a', b"ascii"),
        string(b'A', b"ascii interned"),
        b"Z\x01Z".to_vec(),
        counted(b'(', &[reference(0), int(1)]),
        counted(b'[', &[int(2)]),
        cat(&[b"{", &short("k"), &reference(0), b"0"]),
        counted(b'<', &[short("b"), short("a")]),
        frozenset(&[short("d"), short("c")]),
    ]))
}

#[test]
fn sample_is_already_canonical_except_for_set_order() {
    let sample = sample();
    let normal = norm(&sample).unwrap();
    assert_eq!(normal.len(), sample.len());
    let expected = replaced(&sample, b"z\x01bz\x01a", b"z\x01az\x01b");
    let expected = replaced(&expected, b"z\x01dz\x01c", b"z\x01cz\x01d");
    assert_eq!(normal, expected);
}

/// `haystack` with the only occurrence of `from` replaced by `to`.
fn replaced(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = haystack
        .windows(from.len())
        .position(|window| window == from)
        .expect("pattern present");
    cat(&[&haystack[..at], to, &haystack[at + from.len()..]])
}

#[test]
fn flags_without_references_are_dropped() {
    let input = small_tuple(&[flag(int(1)), flag(short("x"))]);
    assert_eq!(norm(&input).unwrap(), small_tuple(&[int(1), short("x")]));
}

#[test]
fn references_are_renumbered_densely() {
    // Index 0 (the tuple) and 1 (the int) are never referred to; 2 is.
    let input = flag(small_tuple(&[flag(int(1)), flag(short("s")), reference(2)]));
    let expected = small_tuple(&[int(1), flag(short("s")), reference(0)]);
    assert_eq!(norm(&input).unwrap(), expected);
}

#[test]
fn flagged_constants_take_no_index() {
    // CPython gives a flagged None no index, so `r 0` names the int.
    let input = small_tuple(&[flag(b"N".to_vec()), flag(int(5)), reference(0)]);
    let expected = small_tuple(&[b"N".to_vec(), flag(int(5)), reference(0)]);
    assert_eq!(norm(&input).unwrap(), expected);
}

#[test]
fn flagged_dict_terminator_is_written_plain() {
    let input = cat(&[b"{", &int(1), &int(2), &[b'0' | 0x80]]);
    assert_eq!(norm(&input).unwrap(), cat(&[b"{", &int(1), &int(2), b"0"]));
}

#[test]
fn set_items_are_sorted_by_encoding() {
    let input = frozenset(&[short("b"), int(3), short("a"), short("ab")]);
    let expected = frozenset(&[int(3), short("a"), short("b"), short("ab")]);
    assert_eq!(norm(&input).unwrap(), expected);
}

#[test]
fn a_shared_object_is_defined_where_it_first_appears_after_sorting() {
    // frozenset({("q", s), ("p", s)}) with s written in full in the first
    // item: sorting puts ("p", s) first, so s moves there and ("q", s)
    // refers back to it.
    let s = flag(short("shared"));
    let input = frozenset(&[
        small_tuple(&[short("q"), s.clone()]),
        small_tuple(&[short("p"), reference(0)]),
    ]);
    let expected = frozenset(&[
        small_tuple(&[short("p"), s]),
        small_tuple(&[short("q"), reference(0)]),
    ]);
    assert_eq!(norm(&input).unwrap(), expected);
}

#[test]
fn nested_sets_are_sorted_inside_out() {
    let inner = |items: &[&str]| frozenset(&items.iter().map(|s| short(s)).collect::<Vec<_>>());
    let a = frozenset(&[inner(&["y", "b"]), inner(&["x", "a"])]);
    let b = frozenset(&[inner(&["a", "x"]), inner(&["b", "y"])]);
    assert_eq!(norm(&a).unwrap(), norm(&b).unwrap());
    assert_eq!(
        norm(&a).unwrap(),
        frozenset(&[inner(&["a", "x"]), inner(&["b", "y"])])
    );
}

#[test]
fn dicts_as_set_items_compare_at_their_terminator() {
    let small = cat(&[b"{", &int(1), &int(2), b"0"]);
    let large = cat(&[b"{", &int(1), &int(2), &int(3), &int(4), b"0"]);
    let expected = frozenset(&[small.clone(), large.clone()]);
    assert_eq!(norm(&frozenset(&[large, small])).unwrap(), expected);
}

#[test]
fn self_containing_list_and_tuple_round_trip() {
    // [[...]] and ((...),): CPython registers these before their items.
    for code in [b'[', b'('] {
        let input = flag(counted(code, &[reference(0)]));
        assert_eq!(norm(&input).unwrap(), input);
    }
    let input = flag(cat(&[b"{", &int(1), &reference(0), b"0"]));
    assert_eq!(norm(&input).unwrap(), input);
}

#[test]
fn self_containing_frozenset_or_code_is_rejected() {
    let input = flag(frozenset(&[reference(0)]));
    assert_eq!(
        norm(&input),
        Err(MarshalError::RefToIncomplete {
            offset: 5,
            index: 0,
            code: '>'
        })
    );
    let input = flag(code_object(small_tuple(&[reference(0)])));
    assert!(matches!(
        norm(&input),
        Err(MarshalError::RefToIncomplete { code: 'c', .. })
    ));
}

#[test]
fn a_cycle_inside_a_set_item_is_rejected() {
    // A set whose item refers back to the set: CPython cannot hash it.
    let input = flag(counted(b'<', &[small_tuple(&[reference(0)])]));
    assert_eq!(
        norm(&input),
        Err(MarshalError::CyclicSetElement { offset: 0 })
    );
}

#[test]
fn normalising_twice_changes_nothing() {
    let input = frozenset(&[
        small_tuple(&[short("q"), flag(short("shared"))]),
        flag(small_tuple(&[short("p"), reference(0)])),
        flag(int(9)),
    ]);
    let once = norm(&input).unwrap();
    assert_eq!(norm(&once).unwrap(), once);
}

#[test]
fn every_truncation_is_an_error() {
    let sample = sample();
    for len in 0..sample.len() {
        match norm(&sample[..len]) {
            Err(MarshalError::Truncated { .. }) => {}
            other => panic!("prefix of {len} bytes: {other:?}"),
        }
    }
}

#[test]
fn bad_references_are_rejected() {
    let input = small_tuple(&[flag(int(1)), reference(1)]);
    assert_eq!(
        norm(&input),
        Err(MarshalError::BadRef {
            offset: 7,
            index: 1,
            defined: 1
        })
    );
    let input = small_tuple(&[flag(int(1)), reference(-1)]);
    assert!(matches!(
        norm(&input),
        Err(MarshalError::BadRef { index: -1, .. })
    ));
    assert!(matches!(
        norm(&reference(0)),
        Err(MarshalError::BadRef { .. })
    ));
}

#[test]
fn unknown_type_codes_are_rejected() {
    for code in [b'?', b'@', 0xbf, 0xff, b':'] {
        let input = small_tuple(&[int(1), vec![code]]);
        assert_eq!(
            norm(&input),
            Err(MarshalError::UnknownType { offset: 7, code })
        );
    }
}

#[test]
fn nesting_is_limited_like_cpython() {
    // 1999 tuples around None: None is at depth 2000, which CPython reads.
    let nested = |tuples: usize, inner: &[u8]| cat(&[&b")\x01".repeat(tuples), inner]);
    let input = nested(MAX_DEPTH - 1, b"N");
    assert_eq!(norm(&input).unwrap(), input);
    assert_eq!(
        norm(&nested(MAX_DEPTH, b"N")),
        Err(MarshalError::TooDeep {
            offset: 2 * MAX_DEPTH,
            limit: MAX_DEPTH
        })
    );
    // A dict's terminating NULL counts as one level deeper, as in CPython.
    assert!(norm(&nested(MAX_DEPTH - 2, b"{0")).is_ok());
    assert!(matches!(
        norm(&nested(MAX_DEPTH - 1, b"{0")),
        Err(MarshalError::TooDeep { .. })
    ));
    // Far past the limit: an error, not a stack overflow.
    assert!(matches!(
        norm(&nested(1_000_000, b"N")),
        Err(MarshalError::TooDeep { .. })
    ));
}

#[test]
fn reordering_that_would_nest_too_deep_is_refused() {
    // d, a chain of 1000 tuples, is written in full under the item that
    // sorts last and referred to from the bottom of a 1000-tuple chain in
    // the item that sorts first. Sorting would move d's 1000 levels below
    // that chain.
    let chain = |levels: usize, inner: &[u8]| cat(&[&b")\x01".repeat(levels), inner]);
    let d = flag(chain(1000, b"N"));
    let input = frozenset(&[small_tuple(&[short("z"), d]), chain(1000, &reference(0))]);
    assert!(matches!(
        norm(&input),
        Err(MarshalError::ReorderedTooDeep { .. })
    ));
}

#[test]
fn sizes_are_checked_before_use() {
    let huge = i32::MAX.to_le_bytes();
    for code in [b'(', b'[', b'<', b'>', b's', b'u', b'a', b'l'] {
        let input = cat(&[&[code], &huge]);
        assert!(
            matches!(norm(&input), Err(MarshalError::Truncated { offset: 5, .. })),
            "{}",
            code as char
        );
    }
    let negative = (-1i32).to_le_bytes();
    for code in [b'(', b'[', b'<', b'>', b's', b'u', b'a'] {
        let input = cat(&[&[code], &negative]);
        assert_eq!(
            norm(&input),
            Err(MarshalError::BadSize {
                offset: 1,
                what: if b"([<>".contains(&code) {
                    "container length"
                } else {
                    "string length"
                },
                size: -1
            })
        );
    }
    let input = cat(&[b"l", &i32::MIN.to_le_bytes()]);
    assert!(matches!(norm(&input), Err(MarshalError::BadSize { .. })));
}

#[test]
fn null_where_an_object_is_needed_is_rejected() {
    assert_eq!(
        norm(b"0"),
        Err(MarshalError::UnexpectedNull {
            offset: 0,
            what: "the top level"
        })
    );
    assert_eq!(
        norm(b")\x020N"),
        Err(MarshalError::UnexpectedNull {
            offset: 2,
            what: "a container item"
        })
    );
    assert!(matches!(
        norm(&cat(&[b"{", &int(1), b"0"])),
        Err(MarshalError::UnexpectedNull {
            what: "a dict value",
            ..
        })
    ));
}

#[test]
fn trailing_bytes_are_rejected() {
    assert_eq!(
        norm(b"NN"),
        Err(MarshalError::TrailingBytes { offset: 1, len: 1 })
    );
}

#[test]
fn code_layout_follows_the_version() {
    let sample = sample();
    for minor in [11, 12, 13] {
        assert!(normalize(&sample, PythonVersion::new(3, minor)).is_ok());
    }
    // 3.10 reads six integers and one object less after the name fields.
    assert!(normalize(&sample, PythonVersion::V3_10).is_err());
    for version in [PythonVersion::new(3, 14), PythonVersion::new(2, 7)] {
        assert_eq!(
            normalize(&sample, version),
            Err(MarshalError::UnsupportedVersion { version })
        );
    }
}

/// A value model with identity: `Rc`s that are the same pointer are the
/// same object, and the encoder below writes the second occurrence as `r`.
#[derive(Debug)]
enum Value {
    None,
    Int(i32),
    Str(String),
    Tuple(Vec<Rc<Value>>),
    List(Vec<Rc<Value>>),
    FrozenSet(Vec<Rc<Value>>),
}

/// How the encoder makes the choices CPython makes by accident.
#[derive(Clone, Copy, Debug)]
struct Policy {
    /// Flag every object, as if every refcount were above one.
    flag_everything: bool,
    /// Rotate set items by this much (before `reverse_sets`).
    rotate_sets: usize,
    reverse_sets: bool,
    /// Write sets the canonical way instead: sorted by flag-free,
    /// reference-free bytes.
    canonical: bool,
}

/// An independent marshal writer for [`Value`] (recursive, which is fine
/// for the small values tests build).
struct Encoder {
    policy: Policy,
    /// Occurrences of each object (by address).
    uses: HashMap<*const Value, usize>,
    /// Index of each flagged object written so far.
    index: HashMap<*const Value, i32>,
    out: Vec<u8>,
}

impl Encoder {
    fn encode(root: &Rc<Value>, policy: Policy) -> Vec<u8> {
        let mut uses = HashMap::new();
        Self::count(root, &mut uses);
        let mut encoder = Encoder {
            policy,
            uses,
            index: HashMap::new(),
            out: Vec::new(),
        };
        encoder.write(root);
        encoder.out
    }

    fn count(value: &Rc<Value>, uses: &mut HashMap<*const Value, usize>) {
        let seen = uses.entry(Rc::as_ptr(value)).or_insert(0);
        *seen += 1;
        if *seen == 1 {
            if let Value::Tuple(items) | Value::List(items) | Value::FrozenSet(items) = &**value {
                items.iter().for_each(|item| Self::count(item, uses));
            }
        }
    }

    /// Flag-free, reference-free bytes: the canonical set sort key.
    fn expanded(value: &Rc<Value>) -> Vec<u8> {
        let policy = Policy {
            flag_everything: false,
            rotate_sets: 0,
            reverse_sets: false,
            canonical: true,
        };
        let mut encoder = Encoder {
            policy,
            uses: HashMap::new(),
            index: HashMap::new(),
            out: Vec::new(),
        };
        encoder.write(value);
        encoder.out
    }

    fn write(&mut self, value: &Rc<Value>) {
        let key = Rc::as_ptr(value);
        if let Value::None = **value {
            self.out.push(b'N');
            return;
        }
        if let Some(index) = self.index.get(&key) {
            self.out.extend(reference(*index));
            return;
        }
        let start = self.out.len();
        let shared = self.uses.get(&key).copied().unwrap_or(0) > 1;
        if shared || self.policy.flag_everything {
            let next = self.index.len() as i32;
            self.index.insert(key, next);
        }
        match &**value {
            Value::None => unreachable!(),
            Value::Int(v) => self.out.extend(int(*v)),
            Value::Str(s) => self.out.extend(short(s)),
            Value::Tuple(items) => {
                self.out.extend([b')', items.len() as u8]);
                items.iter().for_each(|item| self.write(item));
            }
            Value::List(items) => {
                self.out.push(b'[');
                self.out.extend((items.len() as i32).to_le_bytes());
                items.iter().for_each(|item| self.write(item));
            }
            Value::FrozenSet(items) => {
                self.out.push(b'>');
                self.out.extend((items.len() as i32).to_le_bytes());
                let mut items = items.clone();
                if self.policy.canonical {
                    items.sort_by_cached_key(Self::expanded);
                } else if !items.is_empty() {
                    let by = self.policy.rotate_sets % items.len();
                    items.rotate_left(by);
                    if self.policy.reverse_sets {
                        items.reverse();
                    }
                }
                items.iter().for_each(|item| self.write(item));
            }
        }
        if self.index.contains_key(&key) {
            self.out[start] |= 0x80;
        }
    }
}

/// Values to build: leaves, containers, and `Pool` entries that all name
/// one of a few shared objects.
#[derive(Clone, Debug)]
enum Shape {
    None,
    Int(i32),
    Str(String),
    Pool(usize),
    Tuple(Vec<Shape>),
    List(Vec<Shape>),
    Set(Vec<Shape>),
}

fn shape() -> impl Strategy<Value = Shape> {
    let leaf = prop_oneof![
        Just(Shape::None),
        (-3i32..300).prop_map(Shape::Int),
        "[a-d]{0,3}".prop_map(Shape::Str),
        (0usize..4).prop_map(Shape::Pool),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Shape::Tuple),
            prop::collection::vec(inner.clone(), 0..5).prop_map(Shape::List),
            prop::collection::vec(inner, 0..5).prop_map(Shape::Set),
        ]
    })
}

fn build(shape: &Shape, pool: &[Rc<Value>]) -> Rc<Value> {
    let all = |items: &[Shape]| items.iter().map(|s| build(s, pool)).collect::<Vec<_>>();
    Rc::new(match shape {
        Shape::None => Value::None,
        Shape::Int(v) => Value::Int(*v),
        Shape::Str(s) => Value::Str(s.clone()),
        Shape::Pool(i) => return pool[i % pool.len()].clone(),
        Shape::Tuple(items) => Value::Tuple(all(items)),
        Shape::List(items) => Value::List(all(items)),
        Shape::Set(items) => {
            // A set's items are distinct values; drop repeats, which would
            // leave the order of equal items to chance.
            let mut seen = Vec::new();
            let mut kept = Vec::new();
            for item in all(items) {
                let bytes = Encoder::expanded(&item);
                if !seen.contains(&bytes) {
                    seen.push(bytes);
                    kept.push(item);
                }
            }
            Value::FrozenSet(kept)
        }
    })
}

fn pool() -> Vec<Rc<Value>> {
    let shared = Rc::new(Value::Str("shared".into()));
    vec![
        shared.clone(),
        Rc::new(Value::Int(1_000)),
        Rc::new(Value::Tuple(vec![shared, Rc::new(Value::Int(7))])),
        Rc::new(Value::FrozenSet(vec![
            Rc::new(Value::Str("x".into())),
            Rc::new(Value::Str("y".into())),
        ])),
    ]
}

/// Typical type bytes and small numbers, so random input gets past the
/// first byte more often than uniform bytes would.
fn noisy_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        prop::sample::select(b"0NFTS.iIfgxylstr([{c<>uaA)zZ?".to_vec()),
        prop::sample::select(b"0NFTS.iIfgxylstr([{c<>uaA)zZ".to_vec()).prop_map(|c| c | 0x80),
        0u8..4,
        any::<u8>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_policy_normalises_to_the_canonical_encoding(
        shape in shape(),
        flag_everything in any::<bool>(),
        rotate_sets in 0usize..5,
        reverse_sets in any::<bool>(),
    ) {
        let value = build(&shape, &pool());
        let policy = Policy { flag_everything, rotate_sets, reverse_sets, canonical: false };
        let canonical = Policy {
            flag_everything: false,
            rotate_sets: 0,
            reverse_sets: false,
            canonical: true,
        };
        let input = Encoder::encode(&value, policy);
        let expected = Encoder::encode(&value, canonical);
        let normal = norm(&input).unwrap();
        prop_assert_eq!(&normal, &expected);
        prop_assert_eq!(norm(&normal).unwrap(), normal);
    }

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(noisy_byte(), 0..256)) {
        if let Ok(normal) = norm(&data) {
            prop_assert_eq!(normal.len(), data.len());
            prop_assert_eq!(norm(&normal).unwrap(), normal);
        }
    }

    #[test]
    fn damaged_samples_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut data = sample();
        for (at, byte) in edits {
            let at = at.index(data.len());
            data[at] = byte;
        }
        if let Ok(normal) = norm(&data) {
            prop_assert_eq!(normal.len(), data.len());
            prop_assert_eq!(norm(&normal).unwrap(), normal);
        }
    }
}
