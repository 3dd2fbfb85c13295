//! The stdlib policy: which standard-library modules are packed, and in
//! which tier.
//!
//! The policy is data, kept in `python-stdlib/policy.toml` and explained in
//! `python-stdlib/README.md`; [`Policy::bundled`] is that file as compiled
//! into this crate, [`Policy::load`] reads another one. It has two parts:
//!
//! * `[[exclude]]` rules, each with a `reason`, naming `modules` (a module or
//!   package and everything beneath it) and/or `components` (any package with
//!   that name anywhere in its dotted path, e.g. every `tests` subpackage).
//! * `[tiers]`: the `default` tier (`"raw"`: tier 0, memory-mapped and served
//!   without a copy; or `"compressed"`: tier 1, zstd, decompressed on first
//!   use), and `[[tiers.compressed]]` rules, each with a `reason`, naming the
//!   `modules` that go to the compressed tier.
//!
//! [`Policy::apply`] sorts an [`Inventory`]'s entries into kept (with a tier)
//! and excluded (with the rule and its reason). Only entries that come from a
//! [`InputKind::Stdlib`] input are subject to the policy: an application's
//! own `test` package is not the stdlib's. Other entries are kept, raw.
//!
//! # Strictness
//!
//! The schema is closed: an unknown key, a missing `reason`, a name that is
//! not a dotted identifier, a name listed twice, or a module both excluded
//! and tiered is an error naming the key (`exclude[2].modules[0]`). A policy
//! that silently ignored a misspelt key would pack what it meant to exclude.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::error::PolicyError;
use super::filename::{is_identifier, is_module_name};
use super::inventory::{Counts, Entry, Inventory};
use super::scan::InputKind;

/// The bundled policy file, `python-stdlib/policy.toml`.
pub const BUNDLED_POLICY: &str = include_str!("../../python-stdlib/policy.toml");

/// The one schema version this code reads (`schema = 1` in the file).
pub const SCHEMA_VERSION: i64 = 1;

/// A parsed stdlib policy; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Exclusion rules, in file order.
    pub exclude: Vec<ExcludeRule>,
    /// Tier assignment.
    pub tiers: Tiers,
}

/// One `[[exclude]]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExcludeRule {
    /// Why these modules are left out.
    pub reason: String,
    /// Modules or packages excluded with everything beneath them.
    pub modules: Vec<String>,
    /// Package names excluded wherever they appear in a dotted name.
    pub components: Vec<String>,
}

/// The `[tiers]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tiers {
    /// The tier of modules no rule names.
    pub default: Tier,
    /// `[[tiers.compressed]]` rules.
    pub compressed: Vec<TierRule>,
}

/// One `[[tiers.compressed]]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TierRule {
    /// Why these modules are compressed.
    pub reason: String,
    /// Modules or packages compressed with everything beneath them.
    pub modules: Vec<String>,
}

/// Where a resource is stored in the container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// Tier 0: stored raw, memory-mapped, served without a copy.
    Raw,
    /// Tier 1: zstd-compressed, decompressed on first use.
    Compressed,
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tier::Raw => "raw",
            Tier::Compressed => "compressed",
        })
    }
}

/// The rule that excluded an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exclusion<'a> {
    /// What matched: `module `idlelib`` or `component `tests``.
    pub selector: Selector<'a>,
    /// The rule's reason.
    pub reason: &'a str,
}

/// The part of a rule that matched a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selector<'a> {
    /// A `modules` entry.
    Module(&'a str),
    /// A `components` entry.
    Component(&'a str),
}

impl fmt::Display for Selector<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Module(name) => write!(f, "module `{name}`"),
            Selector::Component(name) => write!(f, "component `{name}`"),
        }
    }
}

/// An entry the policy keeps, and its tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kept {
    /// The entry.
    pub entry: Entry,
    /// Its tier.
    pub tier: Tier,
}

/// An entry the policy excludes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Excluded {
    /// The entry.
    pub entry: Entry,
    /// What matched, as text (`module `idlelib``).
    pub selector: String,
    /// The rule's reason.
    pub reason: String,
}

/// The result of [`Policy::apply`], in inventory order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyOutcome {
    /// Entries to pack.
    pub kept: Vec<Kept>,
    /// Entries left out.
    pub excluded: Vec<Excluded>,
}

impl PolicyOutcome {
    /// Counts of the kept entries by kind.
    pub fn kept_counts(&self) -> Counts {
        Counts::of(self.kept.iter().map(|kept| &kept.entry))
    }
}

/// Whether `name` is `prefix` or lies beneath it.
fn within(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

impl Policy {
    /// The policy bundled with this crate (`python-stdlib/policy.toml`).
    pub fn bundled() -> Result<Policy, PolicyError> {
        Policy::from_toml(BUNDLED_POLICY, Path::new("python-stdlib/policy.toml"))
    }

    /// Read a policy file.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.to_owned(),
            source,
        })?;
        Policy::from_toml(&text, path)
    }

    /// Parse policy TOML; `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Policy, PolicyError> {
        let table: Table = text.parse().map_err(|source| PolicyError::Toml {
            path: origin.to_owned(),
            source,
        })?;
        let policy = Parser { origin }.policy(&table)?;
        policy.validate(origin)?;
        Ok(policy)
    }

    /// The rule excluding module `name`, if any (the first in file order).
    pub fn exclusion(&self, name: &str) -> Option<Exclusion<'_>> {
        self.exclude.iter().find_map(|rule| {
            let selector = rule
                .modules
                .iter()
                .find(|module| within(name, module))
                .map(|module| Selector::Module(module))
                .or_else(|| {
                    rule.components
                        .iter()
                        .find(|component| name.split('.').any(|part| part == *component))
                        .map(|component| Selector::Component(component))
                })?;
            Some(Exclusion {
                selector,
                reason: &rule.reason,
            })
        })
    }

    /// The tier of module `name` (or of data of package `name`).
    pub fn tier(&self, name: &str) -> Tier {
        let compressed = self
            .tiers
            .compressed
            .iter()
            .any(|rule| rule.modules.iter().any(|module| within(name, module)));
        if compressed {
            Tier::Compressed
        } else {
            self.tiers.default
        }
    }

    /// Sort `inventory`'s entries into kept and excluded; see the module docs.
    pub fn apply(&self, inventory: &Inventory) -> PolicyOutcome {
        let mut outcome = PolicyOutcome::default();
        for entry in &inventory.entries {
            let from_stdlib = inventory
                .inputs
                .get(entry.input().0)
                .is_some_and(|input| input.kind == InputKind::Stdlib);
            let name = entry.module_name().filter(|_| from_stdlib);
            if let Some(exclusion) = name.and_then(|name| self.exclusion(name)) {
                outcome.excluded.push(Excluded {
                    entry: entry.clone(),
                    selector: exclusion.selector.to_string(),
                    reason: exclusion.reason.to_owned(),
                });
                continue;
            }
            let tier = match (from_stdlib, name) {
                (true, Some(name)) => self.tier(name),
                (true, None) => self.tiers.default,
                (false, _) => Tier::Raw,
            };
            outcome.kept.push(Kept {
                entry: entry.clone(),
                tier,
            });
        }
        outcome
    }

    /// Names are well formed, listed once, and not both excluded and tiered.
    fn validate(&self, origin: &Path) -> Result<(), PolicyError> {
        let error = |key: String, problem: String| PolicyError::Schema {
            path: origin.to_owned(),
            key,
            problem,
        };
        let mut seen_modules = BTreeSet::new();
        let mut seen_components = BTreeSet::new();
        for (index, rule) in self.exclude.iter().enumerate() {
            for (at, module) in rule.modules.iter().enumerate() {
                let key = format!("exclude[{index}].modules[{at}]");
                if !is_module_name(module) {
                    return Err(error(
                        key,
                        format!("{module:?} is not a dotted module name"),
                    ));
                }
                if !seen_modules.insert(module.as_str()) {
                    return Err(error(key, format!("lists {module:?} a second time")));
                }
            }
            for (at, component) in rule.components.iter().enumerate() {
                let key = format!("exclude[{index}].components[{at}]");
                if !is_identifier(component) {
                    return Err(error(key, format!("{component:?} is not an identifier")));
                }
                if !seen_components.insert(component.as_str()) {
                    return Err(error(key, format!("lists {component:?} a second time")));
                }
            }
        }
        let mut seen_tiered = BTreeSet::new();
        for (index, rule) in self.tiers.compressed.iter().enumerate() {
            for (at, module) in rule.modules.iter().enumerate() {
                let key = format!("tiers.compressed[{index}].modules[{at}]");
                if !is_module_name(module) {
                    return Err(error(
                        key,
                        format!("{module:?} is not a dotted module name"),
                    ));
                }
                if !seen_tiered.insert(module.as_str()) {
                    return Err(error(key, format!("lists {module:?} a second time")));
                }
                if let Some(exclusion) = self.exclusion(module) {
                    return Err(error(
                        key,
                        format!(
                            "names {module:?}, which is excluded by {}",
                            exclusion.selector
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Maps a TOML table onto the policy types, refusing unknown keys.
struct Parser<'a> {
    origin: &'a Path,
}

impl Parser<'_> {
    fn error(&self, key: &str, problem: impl Into<String>) -> PolicyError {
        PolicyError::Schema {
            path: PathBuf::from(self.origin),
            key: key.to_owned(),
            problem: problem.into(),
        }
    }

    fn policy(&self, table: &Table) -> Result<Policy, PolicyError> {
        self.only_keys(table, "", &["schema", "exclude", "tiers"])?;
        match table.get("schema") {
            Some(Value::Integer(SCHEMA_VERSION)) => {}
            Some(other) => {
                return Err(self.error(
                    "schema",
                    format!("is {other}, but this build reads schema {SCHEMA_VERSION}"),
                ));
            }
            None => return Err(self.error("schema", "is missing")),
        }
        let exclude = self
            .tables(table, "exclude", "exclude")?
            .into_iter()
            .enumerate()
            .map(|(index, rule)| {
                let at = format!("exclude[{index}]");
                self.only_keys(rule, &at, &["reason", "modules", "components"])?;
                let rule = ExcludeRule {
                    reason: self.reason(rule, &at)?,
                    modules: self.strings(rule, "modules", &at)?,
                    components: self.strings(rule, "components", &at)?,
                };
                if rule.modules.is_empty() && rule.components.is_empty() {
                    return Err(self.error(&at, "names no `modules` and no `components`"));
                }
                Ok(rule)
            })
            .collect::<Result<_, _>>()?;
        let tiers = match table.get("tiers") {
            None => Tiers {
                default: Tier::Raw,
                compressed: Vec::new(),
            },
            Some(Value::Table(tiers)) => self.tiers(tiers)?,
            Some(_) => return Err(self.error("tiers", "must be a table")),
        };
        Ok(Policy { exclude, tiers })
    }

    fn tiers(&self, table: &Table) -> Result<Tiers, PolicyError> {
        self.only_keys(table, "tiers", &["default", "compressed"])?;
        let default = match table.get("default") {
            None => Tier::Raw,
            Some(Value::String(tier)) if tier == "raw" => Tier::Raw,
            Some(Value::String(tier)) if tier == "compressed" => Tier::Compressed,
            Some(_) => {
                return Err(self.error("tiers.default", "must be \"raw\" or \"compressed\""));
            }
        };
        let compressed = self
            .tables(table, "compressed", "tiers.compressed")?
            .into_iter()
            .enumerate()
            .map(|(index, rule)| {
                let at = format!("tiers.compressed[{index}]");
                self.only_keys(rule, &at, &["reason", "modules"])?;
                let rule = TierRule {
                    reason: self.reason(rule, &at)?,
                    modules: self.strings(rule, "modules", &at)?,
                };
                if rule.modules.is_empty() {
                    return Err(self.error(&at, "names no `modules`"));
                }
                Ok(rule)
            })
            .collect::<Result<_, _>>()?;
        Ok(Tiers {
            default,
            compressed,
        })
    }

    fn only_keys(&self, table: &Table, at: &str, allowed: &[&str]) -> Result<(), PolicyError> {
        match table.keys().find(|key| !allowed.contains(&key.as_str())) {
            None => Ok(()),
            Some(key) => {
                let full = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                Err(self.error(
                    &full,
                    format!(
                        "is not a known key (expected one of: {})",
                        allowed.join(", ")
                    ),
                ))
            }
        }
    }

    /// An optional array of tables.
    fn tables<'t>(
        &self,
        table: &'t Table,
        key: &str,
        at: &str,
    ) -> Result<Vec<&'t Table>, PolicyError> {
        match table.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(index, item)| match item {
                    Value::Table(item) => Ok(item),
                    _ => Err(self.error(&format!("{at}[{index}]"), "must be a table")),
                })
                .collect(),
            Some(_) => Err(self.error(at, format!("must be an array of tables ([[{at}]])"))),
        }
    }

    fn reason(&self, table: &Table, at: &str) -> Result<String, PolicyError> {
        let key = format!("{at}.reason");
        match table.get("reason") {
            Some(Value::String(reason)) if !reason.trim().is_empty() => {
                Ok(reason.trim().to_owned())
            }
            Some(Value::String(_)) => Err(self.error(&key, "is empty; say why")),
            Some(_) => Err(self.error(&key, "must be a string")),
            None => Err(self.error(&key, "is missing; every rule says why")),
        }
    }

    /// An optional array of strings.
    fn strings(&self, table: &Table, key: &str, at: &str) -> Result<Vec<String>, PolicyError> {
        let full = format!("{at}.{key}");
        match table.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(index, item)| match item {
                    Value::String(item) => Ok(item.clone()),
                    _ => Err(self.error(&format!("{full}[{index}]"), "must be a string")),
                })
                .collect(),
            Some(_) => Err(self.error(&full, "must be an array of strings")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Policy, PolicyError> {
        Policy::from_toml(text, Path::new("test.toml"))
    }

    #[test]
    fn bundled_policy_parses() {
        let policy = Policy::bundled().unwrap();
        assert!(policy.exclusion("idlelib.idle_test.htest").is_some());
        assert!(policy.exclusion("unittest.test.testmock").is_some());
        assert!(policy.exclusion("json").is_none());
        assert!(
            policy.exclusion("testing").is_none(),
            "prefix is per component"
        );
        assert_eq!(policy.tier("json.decoder"), Tier::Raw);
        assert_eq!(policy.tier("pydoc"), Tier::Compressed);
    }

    #[test]
    fn rejects_unknown_and_missing_keys() {
        let error = parse("schema = 1\n[[exclude]]\nreason = \"x\"\nmodule = [\"a\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`exclude[0].module` is not a known key"),
            "{error}"
        );
        let error = parse("schema = 1\n[[exclude]]\nmodules = [\"a\"]\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("`exclude[0].reason` is missing"), "{error}");
        let error = parse("[[exclude]]\nreason = \"x\"\nmodules = [\"a\"]\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("`schema` is missing"), "{error}");
        let error = parse("schema = 2\n").unwrap_err().to_string();
        assert!(error.contains("schema 1"), "{error}");
        let error = parse("schema = 1\n[tiers]\ndefault = \"fast\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("`tiers.default`"), "{error}");
    }

    #[test]
    fn rejects_bad_names_duplicates_and_contradictions() {
        let bad = parse("schema = 1\n[[exclude]]\nreason = \"x\"\nmodules = [\"a-b\"]\n");
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("exclude[0].modules[0]")
        );
        let twice = parse(
            "schema = 1\n[[exclude]]\nreason = \"x\"\nmodules = [\"a\"]\n\
             [[exclude]]\nreason = \"y\"\nmodules = [\"a\"]\n",
        );
        assert!(twice.unwrap_err().to_string().contains("second time"));
        let both = parse(
            "schema = 1\n[[exclude]]\nreason = \"x\"\ncomponents = [\"tests\"]\n\
             [[tiers.compressed]]\nreason = \"y\"\nmodules = [\"a.tests\"]\n",
        );
        let both = both.unwrap_err().to_string();
        assert!(both.contains("excluded by component `tests`"), "{both}");
    }

    #[test]
    fn matching_is_by_whole_components() {
        let policy = parse(
            "schema = 1\n[[exclude]]\nreason = \"x\"\nmodules = [\"a.b\"]\ncomponents = [\"t\"]\n",
        )
        .unwrap();
        assert!(policy.exclusion("a.b").is_some());
        assert!(policy.exclusion("a.b.c").is_some());
        assert!(policy.exclusion("a.bc").is_none());
        assert!(policy.exclusion("a").is_none());
        assert_eq!(
            policy.exclusion("x.t.y").map(|e| e.selector),
            Some(Selector::Component("t"))
        );
    }
}
