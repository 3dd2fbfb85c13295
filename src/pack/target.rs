//! The interpreter a pack is built for, and what that decides about inputs.
//!
//! Two questions about an input depend on which CPython will import it, not
//! on the machine running the packer:
//!
//! * **Which shared objects are extension modules?** CPython on Linux tries
//!   three suffixes, in this order (`importlib.machinery.EXTENSION_SUFFIXES`):
//!   `.cpython-311-x86_64-linux-gnu.so` (built for exactly this interpreter),
//!   `.abi3.so` (the stable ABI, any CPython 3.x new enough) and a bare `.so`.
//!   A file tagged for another interpreter (`.cpython-312-…`, `.pypy39-…`,
//!   Windows `.pyd`) can never load and is reported as skipped.
//! * **Which wheels fit?** A wheel's file name carries *compatibility tags*
//!   (PEP 425): `{python}-{abi}-{platform}`, each possibly a `.`-separated
//!   set. [`Target::accepts_wheel_tags`] answers like `packaging.tags` does for
//!   this interpreter: `py3-none-any`, `cp311-cp311-…`, `cp3x-abi3-…` for
//!   3.2 ≤ 3.x ≤ 3.11, `py3x-none-…` for x ≤ 11, on `any`, `linux_<arch>`,
//!   `manylinux1`/`2010`/`2014` and `manylinux_X_Y` for the same architecture.
//!   `musllinux` is refused: its extension modules link against musl, and the
//!   interpreter this crate embeds is a glibc build.
//!
//! The glibc version in a `manylinux_X_Y` tag is not compared with anything:
//! the machine that will run the packed binary is not known here.

/// A CPython build that packed resources are meant for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    minor: u8,
    arch: &'static str,
}

impl Target {
    /// CPython 3.11 on x86-64 Linux with glibc: what this crate links.
    pub const CPYTHON_311_X86_64_LINUX_GNU: Target = Target {
        minor: 11,
        arch: "x86_64",
    };

    /// CPython 3.11 on 64-bit ARM Linux with glibc.
    pub const CPYTHON_311_AARCH64_LINUX_GNU: Target = Target {
        minor: 11,
        arch: "aarch64",
    };

    /// The CPython this build of the crate links
    /// ([`crate::LINKED_PYTHON_VERSION`]), on the architecture it is
    /// compiled for: what `pyembed pack` packs for.
    pub const LINKED: Target = Target {
        minor: linked_minor(),
        arch: std::env::consts::ARCH,
    };

    /// The minor version of CPython 3 (`11` for 3.11).
    pub fn python_minor(&self) -> u8 {
        self.minor
    }

    /// The CPU architecture as wheel tags and multiarch triples spell it.
    pub fn arch(&self) -> &'static str {
        self.arch
    }

    /// The suffix of extension modules built for exactly this interpreter,
    /// e.g. `.cpython-311-x86_64-linux-gnu.so`.
    pub fn extension_suffix(&self) -> String {
        format!(".cpython-3{}-{}-linux-gnu.so", self.minor, self.arch)
    }

    /// Whether a wheel with this `python-abi-platform` tag triple installs on
    /// this interpreter. Each part may be a compressed tag set (`py2.py3`).
    pub fn accepts_wheel_tags(&self, python: &str, abi: &str, platform: &str) -> bool {
        self.wheel_mismatch(python, abi, platform).is_none()
    }

    /// Why a tag triple does not fit, naming the offending part; `None` if it
    /// fits.
    pub(crate) fn wheel_mismatch(&self, python: &str, abi: &str, platform: &str) -> Option<String> {
        if !platform.split('.').any(|p| self.accepts_platform(p)) {
            return Some(format!(
                "platform tag `{platform}` is not `any` or Linux {} with glibc",
                self.arch
            ));
        }
        let accepted = python.split('.').any(|py| {
            abi.split('.')
                .any(|abi| self.accepts_interpreter_and_abi(py, abi))
        });
        if accepted {
            return None;
        }
        if !python.split('.').any(|py| self.python_tag_possible(py)) {
            Some(format!(
                "python tag `{python}` does not include CPython 3.{}",
                self.minor
            ))
        } else {
            Some(format!(
                "ABI tag `{abi}` does not load into CPython 3.{} with python tag `{python}`",
                self.minor
            ))
        }
    }

    fn accepts_platform(&self, platform: &str) -> bool {
        if platform == "any" {
            return true;
        }
        let Some(rest) = platform.strip_suffix(self.arch) else {
            return false;
        };
        let Some(prefix) = rest.strip_suffix('_') else {
            return false;
        };
        match prefix {
            "linux" | "manylinux1" | "manylinux2010" | "manylinux2014" => true,
            _ => prefix
                .strip_prefix("manylinux_")
                .and_then(|glibc| glibc.split_once('_'))
                .is_some_and(|(major, minor)| is_number(major) && is_number(minor)),
        }
    }

    /// `py3`, `py3x`/`cp3x` with x ≤ minor: tags that can appear in an
    /// accepted combination with some ABI.
    fn python_tag_possible(&self, python: &str) -> bool {
        python == "py3"
            || minor_of(python, "py3")
                .or_else(|| minor_of(python, "cp3"))
                .is_some_and(|m| m <= self.minor)
    }

    fn accepts_interpreter_and_abi(&self, python: &str, abi: &str) -> bool {
        let own = format!("cp3{}", self.minor);
        match abi {
            // Pure Python, or compiled against no ABI at all.
            "none" => {
                python == own
                    || python == "py3"
                    || minor_of(python, "py3").is_some_and(|m| m <= self.minor)
            }
            // The stable ABI: a wheel built for 3.x loads on every later 3.y.
            "abi3" => minor_of(python, "cp3").is_some_and(|m| (2..=self.minor).contains(&m)),
            // The version-specific ABI (no debug `d` flag: a release build).
            _ => python == own && abi == own,
        }
    }
}

impl Default for Target {
    /// [`Target::LINKED`], the interpreter this build of the crate links
    /// (CPython 3.11 on x86-64 Linux with the repository's defaults).
    fn default() -> Target {
        Target::LINKED
    }
}

/// The `y` of the linked CPython's `3.y`, at compile time.
const fn linked_minor() -> u8 {
    let version = crate::LINKED_PYTHON_VERSION.as_bytes();
    assert!(
        version.len() > 2 && version[0] == b'3' && version[1] == b'.',
        "the linked CPython is not a 3.y"
    );
    let mut minor: u8 = 0;
    let mut i = 2;
    while i < version.len() {
        assert!(
            version[i].is_ascii_digit(),
            "the linked CPython is not a 3.y"
        );
        minor = minor * 10 + (version[i] - b'0');
        i += 1;
    }
    minor
}

/// The `x` of a `py3x`/`cp3x` tag, given its prefix (`py3` or `cp3`).
fn minor_of(tag: &str, prefix: &str) -> Option<u8> {
    tag.strip_prefix(prefix)
        .filter(|m| is_number(m))
        .and_then(|m| m.parse().ok())
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Target = Target::CPYTHON_311_X86_64_LINUX_GNU;

    #[test]
    fn accepts_the_tags_pip_would_install() {
        for (py, abi, plat) in [
            ("py3", "none", "any"),
            ("py2.py3", "none", "any"),
            ("py311", "none", "any"),
            ("py38", "none", "any"),
            ("cp311", "none", "any"),
            (
                "cp311",
                "cp311",
                "manylinux_2_17_x86_64.manylinux2014_x86_64",
            ),
            ("cp311", "cp311", "linux_x86_64"),
            ("cp37", "abi3", "manylinux1_x86_64"),
            ("cp311", "abi3", "manylinux2010_x86_64"),
        ] {
            assert!(T.accepts_wheel_tags(py, abi, plat), "{py}-{abi}-{plat}");
        }
    }

    #[test]
    fn the_default_target_is_the_linked_cpython() {
        let linked = Target::default();
        assert_eq!(
            format!("3.{}", linked.python_minor()),
            crate::LINKED_PYTHON_VERSION
        );
        assert_eq!(linked.arch(), std::env::consts::ARCH);
        assert_eq!(
            linked.extension_suffix(),
            format!(
                ".cpython-3{}-{}-linux-gnu.so",
                linked.python_minor(),
                std::env::consts::ARCH
            )
        );
    }

    #[test]
    fn refuses_other_interpreters_and_platforms() {
        for (py, abi, plat, part) in [
            (
                "cp312",
                "cp312",
                "manylinux_2_17_x86_64",
                "python tag `cp312`",
            ),
            (
                "cp312",
                "abi3",
                "manylinux_2_17_x86_64",
                "python tag `cp312`",
            ),
            ("py312", "none", "any", "python tag `py312`"),
            ("py2", "none", "any", "python tag `py2`"),
            ("cp311", "cp311", "win_amd64", "platform tag `win_amd64`"),
            ("cp311", "cp311", "macosx_11_0_arm64", "platform tag"),
            ("cp311", "cp311", "manylinux_2_17_aarch64", "platform tag"),
            ("cp311", "cp311", "musllinux_1_1_x86_64", "platform tag"),
            ("cp311", "cp311d", "linux_x86_64", "ABI tag `cp311d`"),
            ("cp310", "cp310", "linux_x86_64", "ABI tag `cp310`"),
        ] {
            let why = T.wheel_mismatch(py, abi, plat);
            assert!(
                why.as_deref().is_some_and(|w| w.contains(part)),
                "{py}-{abi}-{plat}: {why:?}"
            );
        }
    }

    #[test]
    fn extension_suffix_matches_cpython() {
        assert_eq!(T.extension_suffix(), ".cpython-311-x86_64-linux-gnu.so");
        assert_eq!(
            Target::CPYTHON_311_AARCH64_LINUX_GNU.extension_suffix(),
            ".cpython-311-aarch64-linux-gnu.so"
        );
    }
}
