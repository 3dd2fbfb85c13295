//! Enumerations used by the interpreter configuration.
//!
//! Every enum has a stable string form (the one used in TOML/JSON configuration
//! files and on command lines): [`std::fmt::Display`] prints it, and
//! [`TryFrom<&str>`] / [`std::str::FromStr`] parse it back. An unknown string is
//! an [`UnknownVariant`] error that names the type and lists the accepted values.

use std::fmt;

/// Error returned when a string names no variant of a configuration enum.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {type_name}; expected one of: {expected}")]
pub struct UnknownVariant {
    /// The enum that was being parsed.
    pub type_name: &'static str,
    /// The rejected input.
    pub value: String,
    /// The accepted values, separated by spaces.
    pub expected: &'static str,
}

/// Defines a fieldless enum whose variants map one-to-one onto strings.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $s:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable string form of this value.
            pub const fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $s),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl TryFrom<&str> for $name {
            type Error = UnknownVariant;

            fn try_from(value: &str) -> Result<Self, Self::Error> {
                match value {
                    $($s => Ok($name::$variant),)+
                    _ => Err(UnknownVariant {
                        type_name: stringify!($name),
                        value: value.to_string(),
                        expected: concat!($($s, " "),+).trim_ascii_end(),
                    }),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownVariant;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::try_from(s)
            }
        }

        impl From<$name> for &'static str {
            fn from(value: $name) -> &'static str {
                value.as_str()
            }
        }

        #[cfg(feature = "serialization")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        #[cfg(feature = "serialization")]
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::try_from(s.as_ref()).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_enum! {
    /// The base configuration an interpreter starts from before individual fields
    /// are applied.
    ///
    /// `Isolated` starts from `PyConfig_InitIsolatedConfig()`: environment
    /// variables, command-line parsing, the user site directory and locale
    /// configuration are all off. `Python` starts from
    /// `PyConfig_InitPythonConfig()`, which behaves like the `python` executable.
    pub enum PythonInterpreterProfile {
        /// `PyConfig_InitIsolatedConfig()`.
        Isolated => "isolated",
        /// `PyConfig_InitPythonConfig()`.
        Python => "python",
    }
}

string_enum! {
    /// The `PyPreConfig.allocator` value: which memory allocator CPython installs
    /// itself during pre-initialisation (`PYTHONMALLOC`).
    ///
    /// This is distinct from [`MemoryAllocatorBackend`], which replaces the
    /// allocator functions with one provided by this crate.
    pub enum Allocator {
        /// `PYMEM_ALLOCATOR_NOT_SET`: leave CPython's choice alone.
        NotSet => "not-set",
        /// `PYMEM_ALLOCATOR_DEFAULT`.
        Default => "default",
        /// `PYMEM_ALLOCATOR_DEBUG`: the default allocators with debug hooks.
        Debug => "debug",
        /// `PYMEM_ALLOCATOR_MALLOC`: libc `malloc` for every domain.
        Malloc => "malloc",
        /// `PYMEM_ALLOCATOR_MALLOC_DEBUG`.
        MallocDebug => "malloc-debug",
        /// `PYMEM_ALLOCATOR_PYMALLOC`.
        PyMalloc => "py-malloc",
        /// `PYMEM_ALLOCATOR_PYMALLOC_DEBUG`.
        PyMallocDebug => "py-malloc-debug",
    }
}

impl Allocator {
    /// The `PYMEM_ALLOCATOR_*` constant CPython expects in `PyPreConfig.allocator`.
    pub const fn as_raw(&self) -> i32 {
        match self {
            Allocator::NotSet => 0,
            Allocator::Default => 1,
            Allocator::Debug => 2,
            Allocator::Malloc => 3,
            Allocator::MallocDebug => 4,
            Allocator::PyMalloc => 5,
            Allocator::PyMallocDebug => 6,
        }
    }
}

string_enum! {
    /// A memory allocator implementation this crate can register with CPython.
    ///
    /// `Default` is the per-target choice of
    /// [`crate::PythonMemoryAllocator::target_default_backend`]; where that is
    /// `System`, CPython's own allocators are left alone. `System` installs
    /// the C library's `malloc` family into the configured domains. A backend
    /// whose Cargo feature is off is a
    /// [`crate::NewInterpreterError::Unsupported`] error. See
    /// [`crate::PythonMemoryAllocator`].
    pub enum MemoryAllocatorBackend {
        /// The per-target default.
        Default => "default",
        /// The C library's `malloc`, `calloc`, `realloc` and `free`.
        System => "system",
        /// jemalloc (feature `allocator-jemalloc`).
        Jemalloc => "jemalloc",
        /// mimalloc (feature `allocator-mimalloc`).
        Mimalloc => "mimalloc",
        /// snmalloc (feature `allocator-snmalloc`).
        Snmalloc => "snmalloc",
        /// Rust's global allocator (`std::alloc`), with a size header per block.
        Rust => "rust",
    }
}

string_enum! {
    /// What `bytes == str` comparisons do (`-b` / `-bb`, `PyConfig.bytes_warning`).
    pub enum BytesWarning {
        /// No warning.
        None => "none",
        /// Emit a `BytesWarning` (`-b`).
        Warn => "warn",
        /// Raise `BytesWarning` (`-bb`).
        Raise => "raise",
    }
}

impl BytesWarning {
    /// The integer CPython stores in `PyConfig.bytes_warning`.
    pub const fn as_raw(&self) -> i32 {
        match self {
            BytesWarning::None => 0,
            BytesWarning::Warn => 1,
            BytesWarning::Raise => 2,
        }
    }
}

impl From<i32> for BytesWarning {
    /// `0` is `None`, `1` is `Warn`, anything larger is `Raise` (as CPython treats it).
    fn from(value: i32) -> Self {
        match value {
            i32::MIN..=0 => BytesWarning::None,
            1 => BytesWarning::Warn,
            _ => BytesWarning::Raise,
        }
    }
}

string_enum! {
    /// How hash-based `.pyc` files are validated (`--check-hash-based-pycs`).
    pub enum CheckHashPycsMode {
        /// Always check the source hash.
        Always => "always",
        /// Never check it.
        Never => "never",
        /// Check only pycs whose `check_source` flag is set.
        Default => "default",
    }
}

string_enum! {
    /// Locale coercion during pre-initialisation (`PyPreConfig.coerce_c_locale`, PEP 538).
    pub enum CoerceCLocale {
        /// Coerce to `LC_CTYPE`.
        LCCtype => "LC_CTYPE",
        /// Coerce to the `C` locale.
        C => "C",
    }
}

impl CoerceCLocale {
    /// The integer CPython stores in `PyPreConfig.coerce_c_locale`.
    pub const fn as_raw(&self) -> i32 {
        match self {
            CoerceCLocale::LCCtype => 1,
            CoerceCLocale::C => 2,
        }
    }
}

string_enum! {
    /// Whether and how `multiprocessing.set_start_method()` is called when the
    /// `multiprocessing` module is first imported.
    pub enum MultiprocessingStartMethod {
        /// Leave the start method alone (what plain Python does).
        None => "none",
        /// `fork`.
        Fork => "fork",
        /// `forkserver`.
        ForkServer => "forkserver",
        /// `spawn`.
        Spawn => "spawn",
        /// CPython's own default for the platform (`fork` on Linux with
        /// Python 3.11–3.13, `spawn` on macOS and Windows), which works from a
        /// pyembed executable: nothing is called and no hook is installed.
        Auto => "auto",
    }
}

impl MultiprocessingStartMethod {
    /// The method name made the default when `multiprocessing` is imported, or
    /// `None` when CPython's default is kept (`None` and `Auto`).
    pub const fn method_name(&self) -> Option<&'static str> {
        match self {
            MultiprocessingStartMethod::None => None,
            MultiprocessingStartMethod::Fork => Some("fork"),
            MultiprocessingStartMethod::ForkServer => Some("forkserver"),
            MultiprocessingStartMethod::Spawn => Some("spawn"),
            MultiprocessingStartMethod::Auto => None,
        }
    }
}

/// Bytecode optimisation level (`-O`, `-OO`, `PyConfig.optimization_level`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BytecodeOptimizationLevel {
    /// No optimisation.
    Zero = 0,
    /// `-O`: `assert` statements and `__debug__`-dependent code removed.
    One = 1,
    /// `-OO`: additionally docstrings removed.
    Two = 2,
}

impl BytecodeOptimizationLevel {
    /// Every level.
    pub const ALL: &'static [BytecodeOptimizationLevel] = &[Self::Zero, Self::One, Self::Two];

    /// The string form: `"0"`, `"1"` or `"2"`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Zero => "0",
            Self::One => "1",
            Self::Two => "2",
        }
    }
}

impl fmt::Display for BytecodeOptimizationLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<i32> for BytecodeOptimizationLevel {
    type Error = UnknownVariant;

    fn try_from(value: i32) -> Result<Self, Self::Error> {
        match value {
            0 => Ok(Self::Zero),
            1 => Ok(Self::One),
            2 => Ok(Self::Two),
            _ => Err(UnknownVariant {
                type_name: "BytecodeOptimizationLevel",
                value: value.to_string(),
                expected: "0 1 2",
            }),
        }
    }
}

impl TryFrom<&str> for BytecodeOptimizationLevel {
    type Error = UnknownVariant;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        match value {
            "0" => Ok(Self::Zero),
            "1" => Ok(Self::One),
            "2" => Ok(Self::Two),
            _ => Err(UnknownVariant {
                type_name: "BytecodeOptimizationLevel",
                value: value.to_string(),
                expected: "0 1 2",
            }),
        }
    }
}

impl std::str::FromStr for BytecodeOptimizationLevel {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::try_from(s)
    }
}

#[cfg(feature = "serialization")]
impl serde::Serialize for BytecodeOptimizationLevel {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(*self as u8)
    }
}

#[cfg(feature = "serialization")]
impl<'de> serde::Deserialize<'de> for BytecodeOptimizationLevel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let level = i64::deserialize(deserializer)?;
        i32::try_from(level)
            .map_err(|_| UnknownVariant {
                type_name: "BytecodeOptimizationLevel",
                value: level.to_string(),
                expected: "0 1 2",
            })
            .and_then(Self::try_from)
            .map_err(serde::de::Error::custom)
    }
}

/// How the `TERMINFO_DIRS` environment variable is set up for curses/readline.
///
/// Terminal databases live in different places on different distributions; a
/// statically linked ncurses only knows the path it was built with. `Dynamic`
/// detects the running system and sets `TERMINFO_DIRS` to its usual locations
/// (only when the variable is not already set). String forms: `dynamic`,
/// `none`, and `static:<value>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TerminfoResolution {
    /// Detect the OS/distribution and set `TERMINFO_DIRS` if unset.
    Dynamic,
    /// Do nothing.
    None,
    /// Set `TERMINFO_DIRS` to this value if unset.
    Static(String),
}

impl fmt::Display for TerminfoResolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dynamic => f.write_str("dynamic"),
            Self::None => f.write_str("none"),
            Self::Static(value) => write!(f, "static:{value}"),
        }
    }
}

impl TryFrom<&str> for TerminfoResolution {
    type Error = UnknownVariant;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        match value {
            "dynamic" => Ok(Self::Dynamic),
            "none" => Ok(Self::None),
            _ => match value.strip_prefix("static:") {
                Some(dirs) => Ok(Self::Static(dirs.to_string())),
                None => Err(UnknownVariant {
                    type_name: "TerminfoResolution",
                    value: value.to_string(),
                    expected: "dynamic none static:<dirs>",
                }),
            },
        }
    }
}

impl std::str::FromStr for TerminfoResolution {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::try_from(s)
    }
}

#[cfg(feature = "serialization")]
impl serde::Serialize for TerminfoResolution {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(feature = "serialization")]
impl<'de> serde::Deserialize<'de> for TerminfoResolution {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::try_from(s.as_ref()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T>(values: &[T])
    where
        T: fmt::Display + for<'a> TryFrom<&'a str, Error = UnknownVariant> + PartialEq + fmt::Debug,
    {
        for value in values {
            let s = value.to_string();
            assert_eq!(&T::try_from(s.as_str()).unwrap(), value, "{s}");
        }
    }

    #[test]
    fn string_forms_round_trip() {
        round_trip(PythonInterpreterProfile::ALL);
        round_trip(Allocator::ALL);
        round_trip(MemoryAllocatorBackend::ALL);
        round_trip(BytesWarning::ALL);
        round_trip(CheckHashPycsMode::ALL);
        round_trip(CoerceCLocale::ALL);
        round_trip(MultiprocessingStartMethod::ALL);
        round_trip(BytecodeOptimizationLevel::ALL);
        round_trip(&[
            TerminfoResolution::Dynamic,
            TerminfoResolution::None,
            TerminfoResolution::Static("/usr/share/terminfo:/etc/terminfo".into()),
        ]);
    }

    #[test]
    fn unknown_values_name_the_type_and_choices() {
        let err = MemoryAllocatorBackend::try_from("tcmalloc").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`tcmalloc` is not a valid MemoryAllocatorBackend; expected one of: \
             default system jemalloc mimalloc snmalloc rust"
        );
        assert!(BytecodeOptimizationLevel::try_from(3).is_err());
        assert!(TerminfoResolution::try_from("static").is_err());
        assert_eq!("LC_CTYPE".parse(), Ok(CoerceCLocale::LCCtype));
    }

    #[test]
    fn raw_values_match_cpython() {
        assert_eq!(Allocator::PyMallocDebug.as_raw(), 6);
        assert_eq!(BytesWarning::from(7), BytesWarning::Raise);
        assert_eq!(BytesWarning::Warn.as_raw(), 1);
        assert_eq!(CoerceCLocale::C.as_raw(), 2);
        assert_eq!(
            BytecodeOptimizationLevel::try_from(2),
            Ok(BytecodeOptimizationLevel::Two)
        );
    }
}
