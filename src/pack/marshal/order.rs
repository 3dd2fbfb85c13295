//! Pass 2: classes of equal encodings, and set items sorted by encoding.

use std::{cmp::Ordering, collections::HashMap};

use super::{Graph, MarshalError, Part, type_code as tc};

/// The identity of a node's reference-free encoding: nodes with equal keys
/// (and so equal class numbers) encode to the same bytes.
#[derive(PartialEq, Eq, Hash)]
struct ClassKey<'a> {
    code: u8,
    parts: Vec<KeyPart<'a>>,
}

#[derive(PartialEq, Eq, Hash)]
enum KeyPart<'a> {
    Raw(&'a [u8]),
    Class(usize),
}

impl<'a> Graph<'a> {
    fn node_parts(&self, node: usize) -> &[Part] {
        &self.parts[self.nodes[node].parts.clone()]
    }

    /// Pass 2: gives every node reachable without a cycle a class, sorting
    /// the items of each set by their reference-free encoding on the way.
    pub(super) fn sort_sets(&mut self) -> Result<(), MarshalError> {
        let mut rank = vec![usize::MAX; self.nodes.len()];
        for (position, &node) in self.completed.iter().enumerate() {
            rank[node] = position;
        }
        let mut class: Vec<Option<usize>> = vec![None; self.nodes.len()];
        let mut classes: HashMap<ClassKey<'a>, usize> = HashMap::new();
        for position in 0..self.completed.len() {
            let node = self.completed[position];
            // A child completed after its parent is an ancestor reached by a
            // reference: the node sits on (or above) a cycle and has no
            // finite encoding.
            let finite = self.node_parts(node).iter().all(|part| match *part {
                Part::Raw { .. } => true,
                Part::Child(child) => rank[child] < position && class[child].is_some(),
            });
            let code = self.nodes[node].code;
            let is_set = matches!(code, tc::SET | tc::FROZENSET);
            if !finite {
                if is_set {
                    return Err(MarshalError::CyclicSetElement {
                        offset: self.nodes[node].offset,
                    });
                }
                continue;
            }
            if is_set {
                self.sort_items(node, &class);
            }
            let data = self.data;
            let parts = self
                .node_parts(node)
                .iter()
                .map(|part| match *part {
                    Part::Raw { start, end } => KeyPart::Raw(&data[start..end]),
                    Part::Child(child) => KeyPart::Class(class[child].unwrap_or(usize::MAX)),
                })
                .collect();
            let next = classes.len();
            class[node] = Some(*classes.entry(ClassKey { code, parts }).or_insert(next));
        }
        Ok(())
    }

    /// Sorts the items of a set node (its parts after the count).
    fn sort_items(&mut self, node: usize, class: &[Option<usize>]) {
        let range = self.nodes[node].parts.clone();
        let items = range.start + 1..range.end;
        let mut children: Vec<usize> = self.parts[items.clone()]
            .iter()
            .filter_map(|part| match *part {
                Part::Child(child) => Some(child),
                Part::Raw { .. } => None,
            })
            .collect();
        children.sort_by(|&a, &b| self.compare(class, a, b));
        for (slot, child) in self.parts[items].iter_mut().zip(children) {
            *slot = Part::Child(child);
        }
    }

    /// Orders two nodes by their reference-free, flag-free encodings.
    ///
    /// Both must have a class. Equal classes mean equal encodings; otherwise
    /// the encodings first differ either in a copied byte run of these two
    /// nodes or inside the first pair of children whose classes differ, so
    /// the comparison walks a single path down and never expands sharing.
    /// (Marshal encodings are self-delimiting, so comparing part by part is
    /// the same as comparing the concatenated bytes.)
    fn compare(&self, class: &[Option<usize>], mut a: usize, mut b: usize) -> Ordering {
        loop {
            if class[a] == class[b] {
                return Ordering::Equal;
            }
            let (code_a, code_b) = (self.nodes[a].code, self.nodes[b].code);
            if code_a != code_b {
                return code_a.cmp(&code_b);
            }
            let (parts_a, parts_b) = (self.node_parts(a), self.node_parts(b));
            let mut next = None;
            for i in 0..parts_a.len().max(parts_b.len()) {
                match (parts_a.get(i), parts_b.get(i)) {
                    (Some(&Part::Raw { start, end }), Some(&Part::Raw { start: s, end: e })) => {
                        let order = self.data[start..end].cmp(&self.data[s..e]);
                        if order.is_ne() {
                            return order;
                        }
                    }
                    (Some(&Part::Child(x)), Some(&Part::Child(y))) => {
                        if class[x] != class[y] {
                            next = Some((x, y));
                            break;
                        }
                    }
                    // Only dicts can differ in shape here: one ends (its
                    // NULL) where the other has another key.
                    (x, y) => {
                        return self
                            .first_byte(x)
                            .cmp(&self.first_byte(y))
                            .then(x.is_some().cmp(&y.is_some()));
                    }
                }
            }
            match next {
                Some((x, y)) => (a, b) = (x, y),
                None => return Ordering::Equal,
            }
        }
    }

    /// The first encoded byte of a part, or of a dict's terminating NULL.
    fn first_byte(&self, part: Option<&Part>) -> u8 {
        match part {
            None => tc::NULL,
            Some(&Part::Raw { start, .. }) => self.data.get(start).copied().unwrap_or(0),
            Some(&Part::Child(child)) => self.nodes[child].code,
        }
    }
}
