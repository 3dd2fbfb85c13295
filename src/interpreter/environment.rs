//! Environment variables the embedded interpreter's C libraries read:
//! `TERMINFO_DIRS` for (n)curses and readline, `TCL_LIBRARY` for Tcl/Tk.

use std::path::Path;

use crate::config::{ResolvedOxidizedPythonInterpreterConfig, TerminfoResolution};

/// Terminal-database directories by distribution family. A statically linked
/// ncurses only knows the directory of the machine it was built on, so a
/// portable binary tells it where this machine keeps terminfo.
const DEBIAN_TERMINFO_DIRS: &str = "/etc/terminfo:/lib/terminfo:/usr/share/terminfo";
const REDHAT_TERMINFO_DIRS: &str = "/usr/share/terminfo";
const GENERIC_TERMINFO_DIRS: &str = "/usr/share/terminfo";

/// The `TERMINFO_DIRS` value to use on this machine, or `None` to leave the
/// environment alone.
pub(crate) fn terminfo_dirs(resolution: &TerminfoResolution, root: &Path) -> Option<String> {
    match resolution {
        TerminfoResolution::None => None,
        TerminfoResolution::Static(dirs) => Some(dirs.clone()),
        TerminfoResolution::Dynamic => {
            if cfg!(windows) {
                None
            } else if root.join("etc/debian_version").exists() {
                Some(DEBIAN_TERMINFO_DIRS.to_string())
            } else if root.join("etc/redhat-release").exists()
                || root.join("etc/fedora-release").exists()
            {
                Some(REDHAT_TERMINFO_DIRS.to_string())
            } else {
                Some(GENERIC_TERMINFO_DIRS.to_string())
            }
        }
    }
}

/// Set the variables the configuration asks for, never overriding a value
/// the user already exported.
pub(crate) fn apply(config: &ResolvedOxidizedPythonInterpreterConfig<'_>) {
    if std::env::var_os("TERMINFO_DIRS").is_none() {
        if let Some(dirs) = terminfo_dirs(&config.terminfo_resolution, Path::new("/")) {
            // SAFETY: MainPythonInterpreter::new documents that it sets
            // environment variables and must be called before threads that
            // read the environment start; CPython is not running yet.
            unsafe { std::env::set_var("TERMINFO_DIRS", dirs) };
        }
    }
    if let Some(tcl) = &config.tcl_library {
        if std::env::var_os("TCL_LIBRARY").is_none() {
            // SAFETY: as above.
            unsafe { std::env::set_var("TCL_LIBRARY", tcl) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_resolution_follows_the_distribution() {
        let root = std::env::temp_dir().join(format!("pyembed-terminfo-{}", std::process::id()));
        std::fs::create_dir_all(root.join("etc")).unwrap();
        assert_eq!(
            terminfo_dirs(&TerminfoResolution::Dynamic, &root).as_deref(),
            Some(GENERIC_TERMINFO_DIRS)
        );
        std::fs::write(root.join("etc/debian_version"), "12.0\n").unwrap();
        assert_eq!(
            terminfo_dirs(&TerminfoResolution::Dynamic, &root).as_deref(),
            Some(DEBIAN_TERMINFO_DIRS)
        );
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(terminfo_dirs(&TerminfoResolution::None, &root), None);
        assert_eq!(
            terminfo_dirs(&TerminfoResolution::Static("/x:/y".into()), &root).as_deref(),
            Some("/x:/y")
        );
    }
}
