//! Writing v3 blobs, deterministically.
//!
//! Produces the same bytes as the `python-packed-resources` crate's
//! `write_packed_resources_v3` with no interior padding, except that the
//! entries of package-resource and distribution-resource maps are written in
//! key order instead of `HashMap` iteration order.

use std::{borrow::Cow, collections::HashMap, path::Path};

use python_packed_resources::Resource;

use super::{HEADER_V3, ResourceFlags, code};
use crate::resources::error::WriteError;

/// Serializes `resources`, in the order given, into a v3 blob.
pub(crate) fn write_blob(resources: &[&Resource<'_, u8>]) -> Result<Vec<u8>, WriteError> {
    let mut resource_index = Vec::new();
    for resource in resources {
        write_entry(resource, &mut resource_index)?;
    }
    resource_index.push(code::END_OF_INDEX);

    // Section lengths, and the blob index describing them.
    let mut sections: Vec<(u8, u64)> = Vec::new();
    for field in code::DATA_FIELDS {
        let length = resources
            .iter()
            .flat_map(|resource| payloads(resource, field))
            .map(|payload| payload.len() as u64)
            .sum::<u64>();
        if length > 0 {
            sections.push((field, length));
        }
    }
    let mut blob_index = Vec::with_capacity(sections.len() * 13 + 1);
    for &(field, length) in &sections {
        blob_index.extend_from_slice(&[code::START_OF_ENTRY, code::BLOB_FIELD, field]);
        blob_index.push(code::BLOB_LENGTH);
        blob_index.extend_from_slice(&length.to_le_bytes());
        blob_index.push(code::END_OF_ENTRY);
    }
    blob_index.push(code::END_OF_INDEX);

    let too_large = |field: &'static str, length: usize, max: u64| WriteError::FieldTooLarge {
        resource: String::from("(all resources)"),
        field,
        length: length as u64,
        max,
    };
    let section_count = u8::try_from(sections.len())
        .map_err(|_| too_large("blob section count", sections.len(), u8::MAX.into()))?;
    let blob_index_length = u32::try_from(blob_index.len())
        .map_err(|_| too_large("blob index", blob_index.len(), u32::MAX.into()))?;
    let resource_count = u32::try_from(resources.len())
        .map_err(|_| too_large("resource count", resources.len(), u32::MAX.into()))?;
    let resource_index_length = u32::try_from(resource_index.len())
        .map_err(|_| too_large("resource index", resource_index.len(), u32::MAX.into()))?;

    let data_length: u64 = sections.iter().map(|&(_, length)| length).sum();
    let mut out = Vec::with_capacity(
        super::PREAMBLE_LEN + blob_index.len() + resource_index.len() + data_length as usize,
    );
    out.extend_from_slice(HEADER_V3);
    out.push(section_count);
    out.extend_from_slice(&blob_index_length.to_le_bytes());
    out.extend_from_slice(&resource_count.to_le_bytes());
    out.extend_from_slice(&resource_index_length.to_le_bytes());
    out.extend_from_slice(&blob_index);
    out.extend_from_slice(&resource_index);
    for &(field, _) in &sections {
        for resource in resources {
            for payload in payloads(resource, field) {
                out.extend_from_slice(&payload);
            }
        }
    }
    Ok(out)
}

/// The bytes `resource` stores in `field`'s blob section, in order.
fn payloads<'r>(resource: &'r Resource<'_, u8>, field: u8) -> Vec<Cow<'r, [u8]>> {
    let one = |value: Option<&'r [u8]>| value.map(Cow::Borrowed).into_iter().collect();
    let one_path = |value: &'r Option<Cow<'_, Path>>| {
        value.as_deref().map(path_to_bytes).into_iter().collect()
    };
    match field {
        code::NAME => vec![Cow::Borrowed(resource.name.as_bytes())],
        code::SOURCE => one(resource.in_memory_source.as_deref()),
        code::BYTECODE => one(resource.in_memory_bytecode.as_deref()),
        code::BYTECODE_OPT1 => one(resource.in_memory_bytecode_opt1.as_deref()),
        code::BYTECODE_OPT2 => one(resource.in_memory_bytecode_opt2.as_deref()),
        code::EXTENSION_MODULE => one(resource
            .in_memory_extension_module_shared_library
            .as_deref()),
        code::PACKAGE_RESOURCES => data_map(resource.in_memory_package_resources.as_ref()),
        code::DISTRIBUTION_RESOURCES => {
            data_map(resource.in_memory_distribution_resources.as_ref())
        }
        code::SHARED_LIBRARY => one(resource.in_memory_shared_library.as_deref()),
        code::SHARED_LIBRARY_DEPENDENCIES => resource
            .shared_library_dependency_names
            .iter()
            .flatten()
            .map(|name| Cow::Borrowed(name.as_bytes()))
            .collect(),
        code::PATH_SOURCE => one_path(&resource.relative_path_module_source),
        code::PATH_BYTECODE => one_path(&resource.relative_path_module_bytecode),
        code::PATH_BYTECODE_OPT1 => one_path(&resource.relative_path_module_bytecode_opt1),
        code::PATH_BYTECODE_OPT2 => one_path(&resource.relative_path_module_bytecode_opt2),
        code::PATH_EXTENSION_MODULE => {
            one_path(&resource.relative_path_extension_module_shared_library)
        }
        code::PATH_PACKAGE_RESOURCES => path_map(resource.relative_path_package_resources.as_ref()),
        code::PATH_DISTRIBUTION_RESOURCES => {
            path_map(resource.relative_path_distribution_resources.as_ref())
        }
        code::FILE_DATA => one(resource.file_data_embedded.as_deref()),
        code::FILE_DATA_PATH => one(resource
            .file_data_utf8_relative_path
            .as_deref()
            .map(str::as_bytes)),
        _ => Vec::new(),
    }
}

fn sorted<'m, V>(map: &'m HashMap<Cow<'_, str>, V>) -> Vec<(&'m str, &'m V)> {
    let mut entries: Vec<_> = map
        .iter()
        .map(|(key, value)| (key.as_ref(), value))
        .collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    entries
}

fn data_map<'r>(map: Option<&'r HashMap<Cow<'_, str>, Cow<'_, [u8]>>>) -> Vec<Cow<'r, [u8]>> {
    map.map(sorted)
        .into_iter()
        .flatten()
        .flat_map(|(key, value)| [Cow::Borrowed(key.as_bytes()), Cow::Borrowed(value.as_ref())])
        .collect()
}

fn path_map<'r>(map: Option<&'r HashMap<Cow<'_, str>, Cow<'_, Path>>>) -> Vec<Cow<'r, [u8]>> {
    map.map(sorted)
        .into_iter()
        .flatten()
        .flat_map(|(key, path)| [Cow::Borrowed(key.as_bytes()), path_to_bytes(path)])
        .collect()
}

/// Appends the resource-index entry of `resource` to `out`.
fn write_entry(resource: &Resource<'_, u8>, out: &mut Vec<u8>) -> Result<(), WriteError> {
    let name = resource.name.as_ref();
    let too_large = |field: u8, length: usize, max: u64| WriteError::FieldTooLarge {
        resource: name.to_owned(),
        field: code::name(field),
        length: length as u64,
        max,
    };
    let len16 = |field: u8, length: usize| {
        u16::try_from(length)
            .map(u16::to_le_bytes)
            .map_err(|_| too_large(field, length, u16::MAX.into()))
    };
    let len32 = |field: u8, length: usize| {
        u32::try_from(length)
            .map(u32::to_le_bytes)
            .map_err(|_| too_large(field, length, u32::MAX.into()))
    };
    let len64 = |length: usize| (length as u64).to_le_bytes();
    let flags = ResourceFlags::of(resource);
    let flag = |out: &mut Vec<u8>, field: u8| {
        if let Some(set) = ResourceFlags::from_code(field)
            && flags.contains(set)
        {
            out.push(field);
        }
    };

    out.push(code::START_OF_ENTRY);
    out.push(code::NAME);
    out.extend_from_slice(&len16(code::NAME, name.len())?);
    flag(out, code::IS_PACKAGE);
    flag(out, code::IS_NAMESPACE_PACKAGE);
    for (field, value) in [
        (code::SOURCE, &resource.in_memory_source),
        (code::BYTECODE, &resource.in_memory_bytecode),
        (code::BYTECODE_OPT1, &resource.in_memory_bytecode_opt1),
        (code::BYTECODE_OPT2, &resource.in_memory_bytecode_opt2),
        (
            code::EXTENSION_MODULE,
            &resource.in_memory_extension_module_shared_library,
        ),
    ] {
        if let Some(value) = value {
            out.push(field);
            out.extend_from_slice(&len32(field, value.len())?);
        }
    }
    for (field, map) in [
        (
            code::PACKAGE_RESOURCES,
            &resource.in_memory_package_resources,
        ),
        (
            code::DISTRIBUTION_RESOURCES,
            &resource.in_memory_distribution_resources,
        ),
    ] {
        if let Some(map) = map {
            out.push(field);
            out.extend_from_slice(&len32(field, map.len())?);
            for (key, value) in sorted(map) {
                out.extend_from_slice(&len16(field, key.len())?);
                out.extend_from_slice(&len64(value.len()));
            }
        }
    }
    if let Some(library) = &resource.in_memory_shared_library {
        out.push(code::SHARED_LIBRARY);
        out.extend_from_slice(&len64(library.len()));
    }
    if let Some(names) = &resource.shared_library_dependency_names {
        let field = code::SHARED_LIBRARY_DEPENDENCIES;
        out.push(field);
        out.extend_from_slice(&len16(field, names.len())?);
        for dependency in names {
            out.extend_from_slice(&len16(field, dependency.len())?);
        }
    }
    for (field, path) in [
        (code::PATH_SOURCE, &resource.relative_path_module_source),
        (code::PATH_BYTECODE, &resource.relative_path_module_bytecode),
        (
            code::PATH_BYTECODE_OPT1,
            &resource.relative_path_module_bytecode_opt1,
        ),
        (
            code::PATH_BYTECODE_OPT2,
            &resource.relative_path_module_bytecode_opt2,
        ),
        (
            code::PATH_EXTENSION_MODULE,
            &resource.relative_path_extension_module_shared_library,
        ),
    ] {
        if let Some(path) = path {
            out.push(field);
            out.extend_from_slice(&len32(field, path_to_bytes(path).len())?);
        }
    }
    for (field, map) in [
        (
            code::PATH_PACKAGE_RESOURCES,
            &resource.relative_path_package_resources,
        ),
        (
            code::PATH_DISTRIBUTION_RESOURCES,
            &resource.relative_path_distribution_resources,
        ),
    ] {
        if let Some(map) = map {
            out.push(field);
            out.extend_from_slice(&len32(field, map.len())?);
            for (key, path) in sorted(map) {
                out.extend_from_slice(&len16(field, key.len())?);
                out.extend_from_slice(&len32(field, path_to_bytes(path).len())?);
            }
        }
    }
    for field in [
        code::IS_MODULE,
        code::IS_BUILTIN_EXTENSION_MODULE,
        code::IS_FROZEN_MODULE,
        code::IS_EXTENSION_MODULE,
        code::IS_SHARED_LIBRARY,
        code::IS_UTF8_FILENAME_DATA,
        code::FILE_EXECUTABLE,
    ] {
        flag(out, field);
    }
    if let Some(data) = &resource.file_data_embedded {
        out.push(code::FILE_DATA);
        out.extend_from_slice(&len64(data.len()));
    }
    if let Some(path) = &resource.file_data_utf8_relative_path {
        out.push(code::FILE_DATA_PATH);
        out.extend_from_slice(&len32(code::FILE_DATA_PATH, path.len())?);
    }
    out.push(code::END_OF_ENTRY);
    Ok(())
}

/// The v3 format stores paths as native bytes: raw bytes on Unix.
#[cfg(unix)]
fn path_to_bytes(path: &Path) -> Cow<'_, [u8]> {
    use std::os::unix::ffi::OsStrExt;
    Cow::Borrowed(path.as_os_str().as_bytes())
}

/// The v3 format stores paths as native bytes: UTF-16LE on Windows.
#[cfg(windows)]
fn path_to_bytes(path: &Path) -> Cow<'_, [u8]> {
    use std::os::windows::ffi::OsStrExt;
    Cow::Owned(
        path.as_os_str()
            .encode_wide()
            .flat_map(u16::to_le_bytes)
            .collect(),
    )
}

/// Elsewhere the format defines no encoding; UTF-8 is used (lossily).
#[cfg(not(any(unix, windows)))]
fn path_to_bytes(path: &Path) -> Cow<'_, [u8]> {
    match path.to_string_lossy() {
        Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
        Cow::Owned(text) => Cow::Owned(text.into_bytes()),
    }
}

/// Every payload `resource` stores, in section order.
pub(crate) fn payloads_of<'r>(resource: &'r Resource<'_, u8>) -> Vec<Cow<'r, [u8]>> {
    code::DATA_FIELDS
        .iter()
        .flat_map(|&field| payloads(resource, field))
        .collect()
}

/// Total payload bytes of `resource`: what it adds to the blob sections.
pub(crate) fn data_len(resource: &Resource<'_, u8>) -> u64 {
    payloads_of(resource)
        .iter()
        .map(|payload| payload.len() as u64)
        .sum()
}
