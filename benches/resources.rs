//! Reading a packed-resources container: parse, look up, verify, decompress,
//! next to the machine's raw SHA-256 speed.
//!
//! ```text
//! cargo bench --features cli --bench resources
//! ```
//!
//! The container is the real standard library, packed at start-up by the
//! release `pyembed` binary that cargo builds for this bench:
//! `pyembed pack --stdlib /usr/lib/python3.11 --compress` (the stdlib policy
//! puts rarely imported modules in tier 1), and again with
//! `--compress=none` for the tier-0-only benchmark. `PYEMBED_BENCH_STDLIB`
//! names another standard library; `PYEMBED_BENCH_CONTAINER` names a
//! container to read instead of packing (it then stands in for both). When
//! there is no standard library (or packing fails), synthetic modules with
//! the standard library's size distribution are written through the library
//! API instead, and the start-up lines say so.
//!
//! | name | what one iteration does | throughput |
//! |---|---|---|
//! | `resources.parse` | `Container::from_bytes`: header, index, tier-0 indices | — |
//! | `resources.index` | `Container::summary` of every name | names |
//! | `resources.verify.eager` | `verify_all` on a freshly parsed container | container bytes |
//! | `resources.verify.eager.tier0_only` | the same, container packed without tier 1 | container bytes |
//! | `resources.verify.lazy_all` | parse, then read every resource | container bytes |
//! | `tier1.decompress` | parse, then read every tier-1 resource | decompressed bytes |
//! | `sha256.raw` | `sha2::Sha256` over as many bytes as the container | container bytes |
//!
//! Criterion ids are `<name>/<corpus>`, the corpus being `stdlib`,
//! `synthetic` or `given`, so a baseline is only compared with a run on the
//! same kind of input.
//!
//! `resources.verify.eager` over `sha256.raw` (both in bytes/s) is the cost
//! of verification relative to hashing alone; `docs/performance.md` records
//! the ratios measured and how to read them. Nothing here asserts a time.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, Throughput};
use pyembed::resources::{Container, Tier, WriteOptions, write_container};
use python_packed_resources::Resource;
use sha2::{Digest as _, Sha256};

#[path = "support/mod.rs"]
mod support;

/// Two containers of the same resources: with tier 1 as the stdlib policy
/// assigns it, and everything raw.
struct Corpus {
    tiered: Vec<u8>,
    raw_only: Vec<u8>,
    /// Where the bytes came from, for the start-up line.
    origin: String,
    /// The benchmark function id: `stdlib`, `synthetic` or `given`.
    id: &'static str,
}

fn corpus() -> Corpus {
    if let Some(path) = std::env::var_os("PYEMBED_BENCH_CONTAINER") {
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", Path::new(&path).display()));
        return Corpus {
            raw_only: bytes.clone(),
            tiered: bytes,
            origin: format!("{} (given)", Path::new(&path).display()),
            id: "given",
        };
    }
    let stdlib = support::stdlib();
    if stdlib.join("os.py").is_file() {
        match (pack(&stdlib, "auto"), pack(&stdlib, "none")) {
            (Ok(tiered), Ok(raw_only)) => {
                return Corpus {
                    tiered,
                    raw_only,
                    origin: format!("pyembed pack --stdlib {}", stdlib.display()),
                    id: "stdlib",
                };
            }
            (Err(e), _) | (_, Err(e)) => eprintln!("note: {e}; using synthetic resources"),
        }
    } else {
        eprintln!(
            "note: no standard library at {}; using synthetic resources",
            stdlib.display()
        );
    }
    Corpus {
        tiered: synthetic(true),
        raw_only: synthetic(false),
        origin: String::from("synthetic: 560 modules with the stdlib's size distribution"),
        id: "synthetic",
    }
}

/// Packs `stdlib` with the release CLI, `--compress=<compress>`.
fn pack(stdlib: &Path, compress: &str) -> Result<Vec<u8>, String> {
    let dir =
        tempfile::tempdir().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let out = dir.path().join("stdlib.pyembed");
    support::pack(stdlib, compress, &out)?;
    std::fs::read(&out).map_err(|e| format!("cannot read {}: {e}", out.display()))
}

/// Deterministic stand-ins for the standard library: 560 modules whose
/// bytecode sizes follow its distribution (median 9 KiB, 90th percentile
/// 50 KiB), source about as large, text that zstd compresses about 4×, and
/// every fifth module in tier 1 when `tiered`.
fn synthetic(tiered: bool) -> Vec<u8> {
    const WORDS: &[&[u8]] = &[
        b"def ", b"return ", b"self", b".", b"(", b")", b":\n    ", b"import ", b"if ", b"else",
        b"None", b"for ", b" in ", b"name", b"value", b", ", b" = ", b"\n", b"\"\"\"", b"raise ",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut text = |len: usize| {
        let mut out = Vec::with_capacity(len + 16);
        while out.len() < len {
            let r = next();
            if r % 8 == 0 {
                out.extend_from_slice(&r.to_le_bytes());
            } else {
                out.extend_from_slice(WORDS[(r >> 8) as usize % WORDS.len()]);
            }
        }
        out.truncate(len);
        out
    };
    let resources: Vec<(Resource<'static, u8>, Tier)> = (0..560)
        .map(|i| {
            // Spread log-uniformly around the median: 9 KiB at the middle
            // rank, 50 KiB at the 90th percentile, 1 to 76 KiB overall.
            let rank = (i * 7919 % 560) as f64 / 560.0;
            let size = (9216.0 * 8.27f64.powf(2.0 * rank - 1.0)) as usize;
            let resource = Resource {
                name: format!("pkg{:02}.mod{i:03}", i % 40).into(),
                is_python_module: true,
                in_memory_bytecode: Some(text(size).into()),
                in_memory_source: Some(text(size).into()),
                ..Resource::default()
            };
            let tier = if tiered && i % 5 == 0 {
                Tier::Compressed
            } else {
                Tier::Raw
            };
            (resource, tier)
        })
        .collect();
    write_container(resources, &WriteOptions::default()).expect("synthetic container")
}

/// A group for one benchmark, with the sampling every benchmark here uses.
fn bench<'c>(
    c: &'c mut Criterion,
    name: &str,
    throughput: Option<Throughput>,
    samples: usize,
) -> BenchmarkGroup<'c, WallTime> {
    let mut group = c.benchmark_group(name);
    group.sample_size(samples);
    group.measurement_time(Duration::from_secs(10));
    if let Some(throughput) = throughput {
        group.throughput(throughput);
    }
    group
}

fn benches(c: &mut Criterion) {
    let corpus = corpus();
    let bytes = &corpus.tiered[..];
    let container = Container::from_bytes(bytes).expect("the container parses");
    let names: Vec<String> = container.summaries().map(|s| s.name.to_string()).collect();
    let tier1_names: Vec<String> = container
        .summaries()
        .filter(|s| s.tier == Tier::Compressed)
        .map(|s| s.name.to_string())
        .collect();
    let layout = container.layout();
    let decompressed: u64 = layout.groups.iter().map(|g| g.decompressed_length).sum();
    let report = container.verify_all().expect("the container verifies");
    eprintln!(
        "container: {origin}\n  {len} bytes: tier 0 {t0}, dictionary {dict}, tier 1 {t1} \
         ({groups} groups, {decompressed} bytes decompressed); {names} resources \
         ({tier1} in tier 1); verify_all hashes {hashed} bytes\n  \
         without tier 1: {raw} bytes",
        origin = corpus.origin,
        len = bytes.len(),
        t0 = layout.tier0.length,
        dict = layout.dictionary.length,
        t1 = layout.tier1.length,
        groups = layout.groups.len(),
        names = names.len(),
        tier1 = tier1_names.len(),
        hashed = report.bytes_hashed,
        raw = corpus.raw_only.len(),
    );
    drop(container);

    // One group per benchmark, named by its stable dotted name; the function
    // id names the corpus (`stdlib`, `synthetic`, `given`), so criterion never
    // compares a run on one corpus with a baseline from another.
    let corpus_id = corpus.id;
    let container_bytes = Some(Throughput::Bytes(bytes.len() as u64));

    bench(c, "resources.parse", None, 100).bench_function(corpus_id, |b| {
        b.iter(|| Container::from_bytes(black_box(bytes)).expect("parses"))
    });

    let container = Container::from_bytes(bytes).expect("parses");
    let elements = Some(Throughput::Elements(names.len() as u64));
    bench(c, "resources.index", elements, 100).bench_function(corpus_id, |b| {
        b.iter(|| {
            for name in &names {
                black_box(container.summary(black_box(name)));
            }
        })
    });
    drop(container);

    bench(c, "resources.verify.eager", container_bytes.clone(), 20).bench_function(
        corpus_id,
        |b| {
            b.iter_batched(
                || Container::from_bytes(bytes).expect("parses"),
                |container| container.verify_all().expect("verifies"),
                BatchSize::LargeInput,
            )
        },
    );

    let raw_only = &corpus.raw_only[..];
    let raw_only_bytes = Some(Throughput::Bytes(raw_only.len() as u64));
    bench(c, "resources.verify.eager.tier0_only", raw_only_bytes, 20).bench_function(
        corpus_id,
        |b| {
            b.iter_batched(
                || Container::from_bytes(raw_only).expect("parses"),
                |container| container.verify_all().expect("verifies"),
                BatchSize::LargeInput,
            )
        },
    );

    bench(c, "resources.verify.lazy_all", container_bytes.clone(), 20).bench_function(
        corpus_id,
        |b| {
            b.iter(|| {
                let container = Container::from_bytes(black_box(bytes)).expect("parses");
                for resource in container.resources() {
                    black_box(resource.expect("reads"));
                }
            })
        },
    );

    if !tier1_names.is_empty() {
        let out = Some(Throughput::Bytes(decompressed));
        bench(c, "tier1.decompress", out, 20).bench_function(corpus_id, |b| {
            b.iter_batched(
                || Container::from_bytes(bytes).expect("parses"),
                |container| {
                    for name in &tier1_names {
                        black_box(container.resource(name).expect("reads"));
                    }
                    container
                },
                BatchSize::LargeInput,
            )
        });
    }

    bench(c, "sha256.raw", container_bytes, 20)
        .bench_function(corpus_id, |b| b.iter(|| Sha256::digest(black_box(bytes))));
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
}
