//! Pinning the payload: with `packed_resources_digests`, a program runs only
//! the containers it was built for; an intact but different container is
//! refused before CPython starts, naming both digests.
#![cfg(feature = "cli")]

#[macro_use]
mod support;
mod importer_support;

use pyembed::resources::Container;
use pyembed::{MainPythonInterpreter, NewInterpreterError, PackedResourcesSource};
use support::python;

fn pinned(pins: &[&str]) -> pyembed::OxidizedPythonInterpreterConfig<'static> {
    let mut config = support::config(&["prog"]);
    config.oxidized_importer = true;
    config.packed_resources = vec![PackedResourcesSource::MemoryMappedPath(
        importer_support::app_only(),
    )];
    config.packed_resources_digests = pins.iter().map(|pin| pin.to_string()).collect();
    config
}

fn digest_of_app() -> String {
    let bytes = std::fs::read(importer_support::app_only()).unwrap();
    Container::from_bytes(&bytes)
        .unwrap()
        .content_digest()
        .to_string()
}

forked_test! {
    fn the_pinned_container_runs() {
        let digest = digest_of_app().to_uppercase(); // hex case does not matter
        let hello: String = python(pinned(&[&digest]), "import greet\ngreet.hello()");
        assert_eq!(hello, "hello");
    }

    fn another_intact_container_is_refused_naming_both_digests() {
        let actual = digest_of_app();
        let expected = "ab".repeat(32);
        let error = match MainPythonInterpreter::new(pinned(&[&expected])) {
            Ok(_) => panic!("a container with another digest ran"),
            Err(error) => error,
        };
        assert!(
            matches!(&error, NewInterpreterError::UnexpectedPackedResources { .. }),
            "{error:?}"
        );
        let text = error.to_string();
        let path = importer_support::app_only();
        assert!(text.contains(path.to_str().unwrap()), "{text}");
        assert!(text.contains(&format!("content digest {actual}")), "{text}");
        assert!(text.contains(&format!("only runs {expected}")), "{text}");
        // Refused before CPython started: a corrected configuration works.
        let hello: String = python(pinned(&[&actual]), "import greet\ngreet.hello()");
        assert_eq!(hello, "hello");
    }

    fn malformed_pins_are_configuration_errors() {
        for (pins, needle) in [
            (vec!["not-hex"], "`not-hex` is not a SHA-256 digest"),
            (vec!["ab"], "`ab` is not a SHA-256 digest"),
            (vec![], ""),
        ] {
            let mut config = pinned(&pins);
            if pins.is_empty() {
                // Two pins for one source.
                let digest = digest_of_app();
                config.packed_resources_digests = vec![digest.clone(), digest];
            }
            let error = match MainPythonInterpreter::new(config) {
                Ok(_) => panic!("{pins:?} accepted"),
                Err(error) => error,
            };
            let text = error.to_string();
            assert!(
                matches!(&error, NewInterpreterError::InvalidConfig { field: "packed_resources_digests", .. }),
                "{error:?}"
            );
            let needle = if needle.is_empty() { "has 2 digests for 1 packed_resources sources" } else { needle };
            assert!(text.contains(needle), "{text}");
        }
    }
}
