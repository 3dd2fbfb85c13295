//! Opening containers from files through `PackedResourcesSource`.

mod resources_support;

use std::{fs, path::PathBuf};

use pyembed::resources::{
    Container, ContainerError, DataField, FormatError, PackedResourcesSource,
};
use resources_support::{fixture, temp_path};

struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

fn write_temp(tag: &str, bytes: &[u8]) -> TempFile {
    let path = temp_path(tag);
    fs::write(&path, bytes).unwrap();
    TempFile(path)
}

#[test]
fn a_mapped_file_reads_like_memory() {
    let bytes = fixture();
    let file = write_temp("mapped", &bytes);
    let source = PackedResourcesSource::MemoryMappedPath(file.0.clone());
    let mapped = Container::open(&source).unwrap();
    let memory = Container::open(&PackedResourcesSource::Memory(&bytes)).unwrap();
    assert!(mapped.is_memory_mapped());
    assert!(!memory.is_memory_mapped());
    assert_eq!(mapped.content_digest(), memory.content_digest());
    assert_eq!(mapped.as_bytes(), &bytes[..]);

    // Tier-0 data is served from the mapping itself: no copy.
    let bytecode = mapped
        .data("hot.m03", DataField::Bytecode)
        .unwrap()
        .unwrap();
    let map = mapped.as_bytes().as_ptr_range();
    assert!(map.contains(&bytecode.as_ptr()));

    for (a, b) in mapped.resources().zip(memory.resources()) {
        assert_eq!(a.unwrap(), b.unwrap());
    }
    mapped.verify_all().unwrap();
}

#[test]
fn a_container_outlives_its_source_value() {
    let bytes = fixture();
    let file = write_temp("owned", &bytes);
    let container: Container<'static> = {
        let source = PackedResourcesSource::MemoryMappedPath(file.0.clone());
        Container::open(&source).unwrap()
    };
    let shared = std::sync::Arc::new(container);
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let shared = shared.clone();
            std::thread::spawn(move || {
                let name = format!("cold.m{:02}", i * 7);
                shared.resource(&name).unwrap().unwrap().name.into_owned()
            })
        })
        .collect();
    for handle in handles {
        assert!(handle.join().unwrap().starts_with("cold.m"));
    }
}

#[test]
fn open_errors_name_the_path() {
    let missing = temp_path("missing");
    let error =
        Container::open(&PackedResourcesSource::MemoryMappedPath(missing.clone())).unwrap_err();
    match &error {
        ContainerError::Open { path, source } => {
            assert_eq!(path, &missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("unexpected {other}"),
    }
    assert!(error.to_string().contains(&*missing.to_string_lossy()));

    let directory = std::env::temp_dir();
    let error =
        Container::open(&PackedResourcesSource::MemoryMappedPath(directory.clone())).unwrap_err();
    assert!(
        matches!(&error, ContainerError::Map { path, .. } | ContainerError::Open { path, .. } if path == &directory),
        "{error}"
    );
}

#[test]
fn empty_and_foreign_files_are_format_errors() {
    let empty = write_temp("empty", b"");
    let error =
        Container::open(&PackedResourcesSource::MemoryMappedPath(empty.0.clone())).unwrap_err();
    assert!(
        matches!(
            error,
            ContainerError::Format {
                problem: FormatError::Truncated { what: "magic", .. },
                ..
            }
        ),
        "{error}"
    );
    let elf = write_temp("elf", b"\x7fELF\x02\x01\x01\x00rest of an executable");
    let error =
        Container::open(&PackedResourcesSource::MemoryMappedPath(elf.0.clone())).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("malformed packed resources: not a pyembed"),
        "{error}"
    );
}
