//! Pass 3: the canonical stream, flags and indices assigned as written.

use super::{FLAG_REF, Graph, MAX_DEPTH, MAX_REFS, MarshalError, Part, type_code as tc};

impl Graph<'_> {
    /// Pass 3: writes the graph depth first, flagging exactly the nodes
    /// reached more than once and numbering them in the order written.
    pub(super) fn emit(&self) -> Result<Vec<u8>, MarshalError> {
        let mut reached = vec![0u32; self.nodes.len()];
        reached[self.root] = 1;
        for part in &self.parts {
            if let Part::Child(child) = *part {
                reached[child] = reached[child].saturating_add(1);
            }
        }
        let mut writer = Writer {
            graph: self,
            reached,
            index: vec![None; self.nodes.len()],
            next_index: 0,
            out: Vec::with_capacity(self.data.len()),
        };
        // Open containers and the position of their next part.
        let mut stack: Vec<(usize, usize)> = Vec::new();
        if writer.enter(self.root, 1)? {
            stack.push((self.root, self.nodes[self.root].parts.start));
        }
        while let Some(&(node, next)) = stack.last() {
            let depth = stack.len() + 1;
            if next == self.nodes[node].parts.end {
                stack.pop();
                if self.nodes[node].code == tc::DICT {
                    writer.check_depth(node, depth)?;
                    writer.out.push(tc::NULL);
                }
                continue;
            }
            if let Some(top) = stack.last_mut() {
                top.1 += 1;
            }
            match self.parts[next] {
                Part::Raw { start, end } => writer.out.extend_from_slice(&self.data[start..end]),
                Part::Child(child) => {
                    if writer.enter(child, depth)? {
                        stack.push((child, self.nodes[child].parts.start));
                    }
                }
            }
        }
        Ok(writer.out)
    }
}

/// State of pass 3.
struct Writer<'g, 'a> {
    graph: &'g Graph<'a>,
    /// How many times each node is reached from the root.
    reached: Vec<u32>,
    /// Reference index of each flagged node already written.
    index: Vec<Option<u32>>,
    next_index: usize,
    out: Vec<u8>,
}

impl Writer<'_, '_> {
    /// Writes a node's type byte, or a reference if it was written before.
    /// Returns whether its parts must be written next.
    fn enter(&mut self, node: usize, depth: usize) -> Result<bool, MarshalError> {
        self.check_depth(node, depth)?;
        if let Some(index) = self.index[node] {
            self.out.push(tc::REF);
            self.out.extend_from_slice(&index.to_le_bytes());
            return Ok(false);
        }
        let code = self.graph.nodes[node].code;
        let constant = matches!(
            code,
            tc::NONE | tc::FALSE | tc::TRUE | tc::STOPITER | tc::ELLIPSIS
        );
        if self.reached[node] > 1 && !constant {
            let index = u32::try_from(self.next_index)
                .ok()
                .filter(|&index| (index as usize) < MAX_REFS)
                .ok_or(MarshalError::TooManyRefs {
                    offset: self.graph.nodes[node].offset,
                    limit: MAX_REFS,
                })?;
            self.index[node] = Some(index);
            self.next_index += 1;
            self.out.push(code | FLAG_REF);
        } else {
            self.out.push(code);
        }
        Ok(true)
    }

    fn check_depth(&self, node: usize, depth: usize) -> Result<(), MarshalError> {
        if depth > MAX_DEPTH {
            return Err(MarshalError::ReorderedTooDeep {
                offset: self.graph.nodes[node].offset,
                limit: MAX_DEPTH,
            });
        }
        Ok(())
    }
}
