//! Load: many threads importing from both tiers at once, repeatedly, never
//! deadlock, never see two different module objects for one name, and never
//! make the container decompress a tier-1 group twice.
#![cfg(feature = "cli")]

#[macro_use]
mod support;
mod importer_support;

use std::collections::BTreeSet;
use std::sync::Barrier;

use pyembed::resources::{Container, DataField, Tier};
use support::python;

/// Eight Rust threads read every field of every tier-1 resource at once: each
/// group is decompressed exactly once (the byte count equals the sum of the
/// distinct groups' sizes), and every thread sees the same bytes.
#[test]
fn tier1_groups_are_decompressed_once_under_contention() {
    let path = importer_support::stdlib_compressed();
    let bytes = std::fs::read(&path).expect("read container");
    let container = Container::from_bytes(&bytes).expect("open");
    let names: Vec<String> = container
        .summaries()
        .filter(|s| s.tier == Tier::Compressed)
        .map(|s| s.name.to_owned())
        .collect();
    // 3.11 (Debian): 50 and more, with PEP 594's modules and the CJK codecs'
    // shared objects; the pinned 3.13: 32.
    assert!(
        names.len() > 30,
        "too few tier-1 resources: {}",
        names.len()
    );
    let barrier = Barrier::new(8);
    let digests: Vec<Vec<usize>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|thread| {
                let (container, names, barrier) = (&container, &names, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    // Overlapping orders: every thread starts somewhere else.
                    (0..names.len())
                        .map(|i| &names[(i + thread * names.len() / 8) % names.len()])
                        .flat_map(|name| {
                            DataField::ALL.into_iter().filter_map(move |field| {
                                let data = container.data(name, field).expect("intact")?;
                                Some(data.as_ptr() as usize)
                            })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    // Same cached allocation for every thread: the pointers form one set per
    // name regardless of the order the thread visited them.
    let sets: Vec<BTreeSet<usize>> = digests
        .iter()
        .map(|v| v.iter().copied().collect())
        .collect();
    assert!(
        sets.windows(2).all(|w| w[0] == w[1]),
        "threads saw different copies"
    );
    let stats = container.stats();
    let layout = container.layout();
    let distinct: u64 = layout.groups.iter().map(|g| g.decompressed_length).sum();
    assert_eq!(stats.groups_loaded, layout.groups.len(), "{stats:?}");
    assert_eq!(
        stats.bytes_decompressed, distinct,
        "a group was decompressed twice: {stats:?}"
    );
}

forked_test! {
    fn eight_threads_import_overlapping_sets_from_both_tiers_repeatedly() {
        // The stdlib names below must really exercise tier 1.
        let bytes = std::fs::read(importer_support::stdlib_compressed()).expect("read");
        let container = Container::from_bytes(&bytes).expect("open");
        // (Modules of every supported version: 3.13 removed PEP 594's.)
        let compressed = ["bdb", "cProfile", "_py_abc", "compileall", "doctest", "_pyio",
                          "modulefinder", "pdb", "pickletools", "profile", "pstats", "py_compile",
                          "pyclbr", "pydoc", "_pydecimal", "tabnanny", "timeit", "trace",
                          "unittest.mock", "zipapp"]
            .iter()
            .filter(|name| container.summary(name).is_some_and(|s| s.tier == Tier::Compressed))
            .count();
        assert_eq!(compressed, 20, "some chosen modules are not in tier 1 any more");
        let config = importer_support::hermetic_config(&[
            importer_support::app_only(),
            importer_support::stdlib_compressed(),
        ]);
        let (alive, errors, identical, rounds, tiers): (usize, Vec<String>, bool, usize, Vec<String>) = python(
            config,
            r#"
            import sys, threading, importlib
            sys.setswitchinterval(1e-6)
            # Tier 0 (the app) and tier 1 (rarely used stdlib modules, compressed).
            app = ["greet", "pkgdemo", "pkgdemo.inner", "nsdemo.part", "latin1mod"]
            # Tier 0: the common stdlib; tier 1: rarely used, compressed.
            stdlib = ["email.message", "http.client", "argparse", "logging.handlers",
                      "xml.dom.minidom", "csv", "configparser", "tarfile",
                      "bdb", "cProfile", "_py_abc", "compileall", "doctest", "_pyio",
                      "modulefinder", "pdb", "pickletools", "profile", "pstats",
                      "py_compile", "pyclbr", "pydoc", "_pydecimal", "tabnanny", "timeit",
                      "trace", "unittest.mock", "zipapp"]
            everything = app + stdlib
            errors, seen = [], {}
            lock = threading.Lock()
            def worker(k, barrier):
                barrier.wait()
                # Threads 0-3: disjoint slices; 4-7: everything, rotated.
                names = everything[k::4] if k < 4 else everything[k:] + everything[:k]
                for name in names:
                    try:
                        module = importlib.import_module(name)
                        with lock:
                            seen.setdefault(name, set()).add(id(module))
                    except BaseException as e:
                        errors.append(f"{name}: {e!r}")
            alive, rounds = 0, 0
            for round in range(3):
                # Forget the modules (not their parents' references) so each
                # round imports afresh from the same finder.
                for name in everything:
                    sys.modules.pop(name, None)
                seen.clear()
                barrier = threading.Barrier(8)
                threads = [threading.Thread(target=worker, args=(k, barrier)) for k in range(8)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(timeout=120)
                alive += sum(t.is_alive() for t in threads)
                identical = all(len(ids) == 1 and next(iter(ids)) == id(sys.modules[n])
                                for n, ids in seen.items()) and len(seen) == len(everything)
                if not identical:
                    break
                rounds += 1
            finder = sys.meta_path[0]
            tiers = sorted({type(sys.modules[n].__spec__.loader).__name__ for n in everything})
            (alive, errors, identical, rounds, tiers)
            "#,
        );
        assert_eq!(alive, 0, "threads still importing after two minutes");
        assert!(errors.is_empty(), "{errors:?}");
        assert!(identical, "a name mapped to two module objects in one round");
        assert_eq!(rounds, 3);
        assert_eq!(tiers, ["OxidizedFinder"]);
    }
}
