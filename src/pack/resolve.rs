//! Merging the inputs as `sys.path` would: who wins a contested name.
//!
//! Each input was classified on its own into a layer
//! ([`classify`](super::classify)); this module combines the layers in
//! input order the way CPython's `PathFinder` searches `sys.path`:
//!
//! * For a top-level name, the first input that has it as a module or a
//!   regular package wins. Namespace-package directories only count if no
//!   input has a module or regular package of that name; then all of them
//!   together, in input order, form the namespace package (PEP 420), and a
//!   regular package in a *later* input still beats them.
//! * A submodule `a.b` is only searched for in the inputs that make up `a`:
//!   the one input of a regular package, or the portions of a namespace
//!   package. So `a/b.py` in a later input is not importable when an earlier
//!   input has a regular package `a` (it is reported as a conflict at `a`).
//! * Package data follows its package: the files of `a` come from the inputs
//!   that make up `a`; a namespace package's portions are searched in order.
//! * Distribution metadata is matched by normalized project name (`Six` and
//!   `six` are one project), shared libraries by their root-relative path;
//!   the earlier input wins.
//!
//! Every loser is recorded as a [`Conflict`] naming both files. When a
//! package loses, what lies beneath it in that input is dropped without
//! further reports.

use std::collections::BTreeMap;

use super::classify::{Candidate, Form, Layer};
use super::inventory::{Claim, Conflict, ConflictReason, Entry, Inventory, Skipped};
use super::scan::{FileRef, Input};

/// How a module name was resolved.
struct Resolved {
    /// The layers searched for its submodules and data (empty for a module
    /// that is not a package).
    portions: Vec<usize>,
}

/// Combine the layers of `inputs` (same order) into an [`Inventory`].
pub(crate) fn resolve(inputs: Vec<Input>, layers: Vec<Layer>) -> Inventory {
    let mut entries = Vec::new();
    let mut skipped: Vec<Skipped> = Vec::new();
    let mut conflicts: Vec<Conflict> = Vec::new();
    for layer in &layers {
        skipped.extend(layer.skipped.iter().cloned());
        conflicts.extend(layer.conflicts.iter().cloned());
    }

    let resolved = resolve_modules(&layers, &mut entries, &mut conflicts);
    resolve_data(&layers, &resolved, &mut entries, &mut conflicts);
    resolve_distributions(&layers, &mut entries, &mut conflicts);
    resolve_shared_libraries(&layers, &mut entries, &mut conflicts);

    entries.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    skipped.sort();
    skipped.dedup();
    conflicts.sort();
    conflicts.dedup();
    Inventory {
        inputs,
        entries,
        skipped,
        conflicts,
    }
}

fn resolve_modules(
    layers: &[Layer],
    entries: &mut Vec<Entry>,
    conflicts: &mut Vec<Conflict>,
) -> BTreeMap<String, Resolved> {
    // Name → (layer, candidate), in layer order. A `BTreeMap` visits `a`
    // before `a.b` (`.` sorts before every identifier character), so parents
    // are always resolved before their children.
    let mut candidates: BTreeMap<&str, Vec<(usize, &Candidate)>> = BTreeMap::new();
    for (index, layer) in layers.iter().enumerate() {
        for (name, candidate) in &layer.modules {
            candidates
                .entry(name.as_str())
                .or_default()
                .push((index, candidate));
        }
    }

    let mut resolved: BTreeMap<String, Resolved> = BTreeMap::new();
    for (name, all) in candidates {
        let searched: Vec<(usize, &Candidate)> = match name.rsplit_once('.') {
            None => all,
            Some((parent, _)) => {
                let Some(parent) = resolved.get(parent) else {
                    continue;
                };
                all.into_iter()
                    .filter(|(layer, _)| parent.portions.contains(layer))
                    .collect()
            }
        };
        let winner = searched
            .iter()
            .position(|(_, candidate)| candidate.form != Form::Namespace);
        match winner {
            Some(winner_at) => {
                let (winner_layer, winner) = searched[winner_at];
                for (at, (_, loser)) in searched.iter().enumerate() {
                    if at == winner_at {
                        continue;
                    }
                    let reason = if at < winner_at {
                        ConflictReason::PackageOverNamespace
                    } else {
                        ConflictReason::EarlierInput
                    };
                    conflicts.push(Conflict {
                        claim: Claim::Module(name.to_owned()),
                        kept: winner.file.clone(),
                        shadowed: loser.file.clone(),
                        reason,
                    });
                }
                let portions = if winner.form.is_package() {
                    vec![winner_layer]
                } else {
                    Vec::new()
                };
                entries.push(module_entry(name, winner));
                resolved.insert(name.to_owned(), Resolved { portions });
            }
            None if searched.is_empty() => {}
            None => {
                entries.push(Entry::NamespacePackage {
                    name: name.to_owned(),
                    portions: searched
                        .iter()
                        .map(|(_, candidate)| candidate.file.clone())
                        .collect(),
                });
                let portions = searched.iter().map(|(layer, _)| *layer).collect();
                resolved.insert(name.to_owned(), Resolved { portions });
            }
        }
    }
    resolved
}

fn module_entry(name: &str, candidate: &Candidate) -> Entry {
    match candidate.form {
        Form::Source { is_package } => Entry::Module {
            name: name.to_owned(),
            is_package,
            source: candidate.file.clone(),
        },
        Form::Extension { is_package } => Entry::ExtensionModule {
            name: name.to_owned(),
            is_package,
            data: candidate.file.clone(),
        },
        // Namespace candidates never win over a module; see the caller.
        Form::Namespace => Entry::NamespacePackage {
            name: name.to_owned(),
            portions: vec![candidate.file.clone()],
        },
    }
}

fn resolve_data(
    layers: &[Layer],
    resolved: &BTreeMap<String, Resolved>,
    entries: &mut Vec<Entry>,
    conflicts: &mut Vec<Conflict>,
) {
    let mut winners: BTreeMap<(&str, &str), &FileRef> = BTreeMap::new();
    for (index, layer) in layers.iter().enumerate() {
        for ((package, relative_name), file) in &layer.data {
            let belongs = resolved
                .get(package)
                .is_some_and(|package| package.portions.contains(&index));
            if !belongs {
                continue;
            }
            let key = (package.as_str(), relative_name.as_str());
            match winners.get(&key) {
                Some(kept) => conflicts.push(Conflict {
                    claim: Claim::PackageData {
                        package: package.clone(),
                        relative_name: relative_name.clone(),
                    },
                    kept: (*kept).clone(),
                    shadowed: file.clone(),
                    reason: ConflictReason::EarlierInput,
                }),
                None => {
                    winners.insert(key, file);
                }
            }
        }
    }
    entries.extend(winners.into_iter().map(|((package, relative_name), file)| {
        Entry::PackageData {
            package: package.to_owned(),
            relative_name: relative_name.to_owned(),
            data: file.clone(),
        }
    }));
}

fn resolve_distributions(
    layers: &[Layer],
    entries: &mut Vec<Entry>,
    conflicts: &mut Vec<Conflict>,
) {
    let mut winners: BTreeMap<String, &FileRef> = BTreeMap::new();
    for layer in layers {
        for (dir_name, distribution) in &layer.distributions {
            let project = project_name(dir_name);
            if let Some(kept) = winners.get(&project) {
                let reason = if kept.input == distribution.dir.input {
                    ConflictReason::SameDirectory
                } else {
                    ConflictReason::EarlierInput
                };
                conflicts.push(Conflict {
                    claim: Claim::Distribution(project),
                    kept: (*kept).clone(),
                    shadowed: distribution.dir.clone(),
                    reason,
                });
                continue;
            }
            winners.insert(project, &distribution.dir);
            entries.extend(distribution.files.iter().map(|(relative_name, file)| {
                Entry::DistributionFile {
                    distribution_dir: dir_name.clone(),
                    relative_name: relative_name.clone(),
                    data: file.clone(),
                }
            }));
        }
    }
}

fn resolve_shared_libraries(
    layers: &[Layer],
    entries: &mut Vec<Entry>,
    conflicts: &mut Vec<Conflict>,
) {
    let mut winners: BTreeMap<&str, &FileRef> = BTreeMap::new();
    for layer in layers {
        for (path, file) in &layer.shared_libraries {
            match winners.get(path.as_str()) {
                Some(kept) => conflicts.push(Conflict {
                    claim: Claim::SharedLibrary(path.clone()),
                    kept: (*kept).clone(),
                    shadowed: file.clone(),
                    reason: ConflictReason::EarlierInput,
                }),
                None => {
                    winners.insert(path, file);
                }
            }
        }
    }
    entries.extend(
        winners
            .into_iter()
            .map(|(path, file)| Entry::SharedLibrary {
                path: path.to_owned(),
                data: file.clone(),
            }),
    );
}

/// The PEP 503 normalized project name of a `.dist-info`/`.egg-info`
/// directory: the part before the first `-`, lower-cased, with runs of `-`,
/// `_` and `.` replaced by one `-`.
pub(crate) fn project_name(distribution_dir: &str) -> String {
    let stem = distribution_dir
        .strip_suffix(".dist-info")
        .or_else(|| distribution_dir.strip_suffix(".egg-info"))
        .unwrap_or(distribution_dir);
    let name = stem.split('-').next().unwrap_or(stem);
    let mut normalized = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !normalized.ends_with('-') {
                normalized.push('-');
            }
        } else {
            normalized.extend(c.to_lowercase());
        }
    }
    normalized
}

#[cfg(test)]
mod tests {
    use super::project_name;

    #[test]
    fn normalizes_project_names() {
        assert_eq!(project_name("six-1.16.0.dist-info"), "six");
        assert_eq!(project_name("Foo_Bar-2.0.dist-info"), "foo-bar");
        assert_eq!(
            project_name("zope.interface-6.0-py3.11.egg-info"),
            "zope-interface"
        );
        assert_eq!(project_name("thing.egg-info"), "thing");
    }
}
