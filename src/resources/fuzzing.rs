//! Entry points for the fuzz targets in `fuzz/`, and the oracles they check.
//!
//! Compiled only for `cargo fuzz` (which sets `--cfg fuzzing`) and for this
//! crate's own unit tests, which replay small seeds through the same code so
//! the oracles cannot rot between fuzzing campaigns. Not a stable API.
//!
//! Every function here must return normally for *any* input: a panic, an
//! abort, a hang or an allocation out of proportion to the input is a bug in
//! the reader, never in the fuzz input.
//!
//! The targets and what each reaches:
//! - [`container_bytes`]: the bytes as a container, exactly as a user would
//!   hand them over. Almost every mutation of a real blob dies at the header
//!   digest, which is itself the behaviour under test.
//! - [`container_resealed`]: the same after rewriting the header's index and
//!   header digests, so mutations reach the index parser and everything after.
//! - [`packed_blob`]: the python-packed-resources v3 parser on its own, as it
//!   runs on tier 0 and on every decompressed tier-1 group.
//! - [`executable_bytes`]: a built executable's trailer, container table and
//!   build configuration (`pyembed build`'s payload), then its containers.
//! - [`written_then_damaged`]: resources derived from the input are written
//!   into a valid container (both tiers), then bytes chosen by the input are
//!   flipped or the container is cut short. The oracle: nothing read back
//!   ever differs from what was written, and a container with a flipped byte
//!   never passes [`Container::verify_all`].

use std::borrow::Cow;

use python_packed_resources::Resource;
use sha2::{Digest as _, Sha256};

use super::{
    Container, ContainerWriter, DataField, DictionaryPolicy, Tier, WriteOptions,
    header::HEADER_LEN, packed, packed::ResourceFlags,
};

/// What [`exercise`] read: each resource name with the fields that read
/// successfully.
type ReadBack = Vec<(String, Vec<(DataField, Vec<u8>)>)>;

/// Reads everything readable from a container that opened, the way `pyembed
/// inspect` and `pyembed verify` do: summaries, every field of every
/// resource, the whole-resource decode, an audit and an eager verification.
///
/// Returns the names whose reads succeeded, with the fields read, and
/// whether [`Container::verify_all`] passed.
fn exercise(container: &Container<'_>) -> (ReadBack, bool) {
    let _ = container.layout();
    let _ = container.content_digest();
    let names: Vec<String> = container.summaries().map(|s| s.name.to_owned()).collect();
    let mut read = Vec::new();
    for name in &names {
        let _ = container.summary(name);
        let _ = container.resource(name);
        let mut fields = Vec::new();
        for field in DataField::ALL {
            if let Ok(Some(bytes)) = container.data(name, field) {
                fields.push((field, bytes.to_vec()));
            }
        }
        read.push((name.clone(), fields));
    }
    for resource in container.resources() {
        let _ = resource;
    }
    let _ = container.tier0();
    let audit = container.audit();
    let _ = audit.is_intact();
    let verified = container.verify_all().is_ok();
    let _ = container.stats();
    (read, verified)
}

/// Fuzz target: `data` as a container.
pub fn container_bytes(data: &[u8]) {
    if let Ok(container) = Container::from_bytes(data) {
        exercise(&container);
    }
}

/// Rewrites the index digest and the header digest of `data` in place so
/// they match its bytes (where the header's index range lies inside `data`).
pub fn reseal(data: &mut [u8]) {
    if data.len() < HEADER_LEN {
        return;
    }
    let field = |at: usize| u64::from_le_bytes(data[at..at + 8].try_into().expect("8 bytes"));
    let (offset, length) = (field(32), field(40));
    let index = usize::try_from(offset)
        .ok()
        .zip(usize::try_from(length).ok())
        .and_then(|(start, len)| data.get(start..start.checked_add(len)?));
    if let Some(index) = index {
        let digest = Sha256::digest(index);
        data[48..80].copy_from_slice(&digest);
    }
    let digest = Sha256::digest(&data[..96]);
    data[96..128].copy_from_slice(&digest);
}

/// Fuzz target: `data` as a container after [`reseal`].
pub fn container_resealed(data: &[u8]) {
    let mut data = data.to_vec();
    reseal(&mut data);
    container_bytes(&data);
}

/// Fuzz target: `data` as a built executable: the trailer located, the
/// build configuration decoded, each container opened and read.
pub fn executable_bytes(data: &[u8]) {
    let Ok(payload) = super::trailer::locate(data) else {
        return;
    };
    if let Some(config) = data.get(payload.config.clone()) {
        let _ = crate::launcher::BuildConfig::decode(config);
    }
    for range in &payload.containers {
        if let Some(bytes) = data.get(range.clone()) {
            container_bytes(bytes);
        }
    }
}

/// Fuzz target: `data` as a python-packed-resources v3 blob, parsed and every
/// entry decoded.
pub fn packed_blob(data: &[u8]) {
    use super::error::Space;
    let Ok(index) = packed::parse_blob(data, Space::Container, 0) else {
        return;
    };
    for entry in &index.entries {
        for span in index.spans_of(entry) {
            let _ = data.get(span.range());
        }
        let _ = index.decode(data, entry, Space::Container, 0);
    }
}

/// Splits the fuzz input into resources: records separated by `0xff`, each
/// `[flags][tier][name bytes][0x00][payload]`. Names are sanitised to ASCII
/// letters and dots so most inputs produce valid, distinct names.
fn resources_from(material: &[u8]) -> Vec<(Resource<'static, u8>, Tier)> {
    let mut out: Vec<(Resource<'static, u8>, Tier)> = Vec::new();
    for record in material.split(|byte| *byte == 0xff).take(64) {
        let [flags, tier, rest @ ..] = record else {
            continue;
        };
        let (name, payload) = match rest.iter().position(|byte| *byte == 0) {
            Some(at) => (&rest[..at], &rest[at + 1..]),
            None => (rest, &[][..]),
        };
        let name: String = name
            .iter()
            .take(40)
            .map(|byte| match byte % 27 {
                26 => '.',
                letter => char::from(b'a' + letter),
            })
            .collect();
        let name = name.trim_matches('.').replace("..", ".");
        if name.is_empty() || out.iter().any(|(r, _)| r.name == name) {
            continue;
        }
        let payload: Cow<'static, [u8]> = Cow::Owned(payload.to_vec());
        let mut resource = Resource {
            name: Cow::Owned(name),
            ..Resource::default()
        };
        match flags % 4 {
            0 => {
                resource.is_python_module = true;
                resource.in_memory_source = Some(payload.clone());
                resource.in_memory_bytecode = Some(payload);
            }
            1 => {
                resource.is_python_module = true;
                resource.is_python_package = true;
                resource.in_memory_bytecode = Some(payload.clone());
                let mut data = std::collections::HashMap::new();
                data.insert(Cow::Borrowed("data.txt"), payload);
                resource.in_memory_package_resources = Some(data);
            }
            2 => {
                resource.is_python_extension_module = true;
                resource.in_memory_extension_module_shared_library = Some(payload);
                resource.shared_library_dependency_names = Some(vec![Cow::Borrowed("libfoo.so.1")]);
            }
            _ => {
                resource.is_utf8_filename_data = true;
                resource.file_data_embedded = Some(payload);
            }
        }
        let tier = if tier % 2 == 0 {
            Tier::Raw
        } else {
            Tier::Compressed
        };
        out.push((resource, tier));
    }
    out
}

/// What [`written_then_damaged`] did, for tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DamageOutcome {
    /// A container was written.
    pub written: bool,
    /// Some byte was changed or the container was cut short.
    pub damaged: bool,
    /// The damaged container opened.
    pub opened: bool,
    /// `verify_all` passed.
    pub verified: bool,
}

/// Fuzz target: write a container from resources derived from `data`, damage
/// it as `data` says, and check that nothing damaged is ever returned.
///
/// Input: `[control][count][count × (position u32 LE, xor u8)][material]`.
/// Bit 0 of `control` cuts the container at the first position instead of
/// flipping bytes.
///
/// # Panics
///
/// When the reader returns bytes that differ from what was written, or
/// passes `verify_all` on a damaged container: those are the bugs this
/// target looks for.
pub fn written_then_damaged(data: &[u8]) -> DamageOutcome {
    let mut outcome = DamageOutcome::default();
    let [control, count, rest @ ..] = data else {
        return outcome;
    };
    let count = usize::from(*count % 8);
    let Some(edits) = rest.get(..count * 5) else {
        return outcome;
    };
    let material = &rest[count * 5..];
    let edits: Vec<(usize, u8)> = edits
        .chunks_exact(5)
        .map(|edit| {
            let position = u32::from_le_bytes(edit[..4].try_into().expect("4 bytes"));
            (position as usize, edit[4])
        })
        .collect();
    let resources = resources_from(material);
    let mut writer = ContainerWriter::new(WriteOptions {
        chunk_size: 4096,
        compression_level: 1,
        group_target_size: 512,
        dictionary: DictionaryPolicy::Never,
    });
    for (resource, tier) in &resources {
        if writer.add(resource.clone(), *tier).is_err() {
            return outcome;
        }
    }
    let Ok(clean) = writer.write() else {
        return outcome;
    };
    outcome.written = true;
    let mut bytes = clean.clone();
    if control & 1 == 1 {
        if let Some(&(position, _)) = edits.first() {
            let cut = position % bytes.len().max(1);
            bytes.truncate(cut);
            outcome.damaged = true;
        }
    } else {
        for &(position, xor) in &edits {
            let len = bytes.len();
            if xor != 0 && len > 0 {
                bytes[position % len] ^= xor;
            }
        }
        // Two flips of the same byte can cancel out; compare with the clean
        // bytes to know whether anything changed.
        outcome.damaged = clean != bytes;
    }
    let Ok(container) = Container::from_bytes(&bytes) else {
        return outcome;
    };
    outcome.opened = true;
    let (read, verified) = exercise(&container);
    for (name, fields) in read {
        let Some((original, _)) = resources.iter().find(|(r, _)| r.name == name) else {
            panic!("container lists `{name}`, which was never written");
        };
        for (field, bytes) in fields {
            let expected = field.of(original).unwrap_or_default();
            assert_eq!(
                bytes, expected,
                "`{name}` field {field:?} came back different from what was written"
            );
        }
        let flags = container.summary(&name).map(|s| s.flags);
        assert_eq!(
            flags,
            Some(ResourceFlags::of(original)),
            "`{name}` flags changed"
        );
    }
    outcome.verified = verified;
    if outcome.damaged {
        assert!(!outcome.verified, "a damaged container passed verify_all");
    } else {
        assert!(outcome.verified, "an intact container failed verify_all");
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn material() -> Vec<u8> {
        let mut material = Vec::new();
        for (i, name) in ["alpha", "beta.gamma", "delta", "epsilon"]
            .iter()
            .enumerate()
        {
            material.push(i as u8); // flags
            material.push(i as u8); // tier: alternate raw / compressed
            material.extend(name.bytes().map(|b| if b == b'.' { 26 } else { b - b'a' }));
            material.push(0);
            material.extend((0..3000u32).map(|x| (x * (i as u32 + 7)) as u8 & 0x7f));
            material.push(0xff);
        }
        material
    }

    fn input(control: u8, edits: &[(u32, u8)]) -> Vec<u8> {
        let mut data = vec![control, edits.len() as u8];
        for (position, xor) in edits {
            data.extend(position.to_le_bytes());
            data.push(*xor);
        }
        data.extend(material());
        data
    }

    #[test]
    fn intact_container_round_trips() {
        let outcome = written_then_damaged(&input(0, &[]));
        assert_eq!(
            outcome,
            DamageOutcome {
                written: true,
                damaged: false,
                opened: true,
                verified: true
            }
        );
    }

    #[test]
    fn every_sampled_flip_is_caught() {
        assert!(written_then_damaged(&input(0, &[])).verified);
        for position in (0..40_000u32).step_by(97) {
            let outcome = written_then_damaged(&input(0, &[(position, 0x20)]));
            assert!(
                outcome.damaged && !outcome.verified,
                "{position}: {outcome:?}"
            );
        }
    }

    #[test]
    fn every_sampled_cut_is_caught() {
        for position in (0..40_000u32).step_by(211) {
            let outcome = written_then_damaged(&input(1, &[(position, 1)]));
            assert!(!outcome.opened, "cut at {position} still opened");
        }
    }

    #[test]
    fn executable_target_reads_an_assembled_payload_and_survives_damage() {
        let mut writer = ContainerWriter::new(WriteOptions::default());
        for (resource, tier) in resources_from(&material()) {
            writer.add(resource, tier).expect("add");
        }
        let container = writer.write().expect("write");
        let launcher = b"\x7fELF launcher stand-in".repeat(50);
        let config =
            crate::launcher::BuildConfig::new(crate::launcher::LaunchMode::Python).encode();
        let exe = crate::resources::trailer::assemble(&launcher, &[&container], config.as_bytes())
            .expect("assemble");
        let payload = crate::resources::trailer::locate(&exe).expect("locate");
        assert_eq!(&exe[payload.containers[0].clone()], &container[..]);
        executable_bytes(&exe);
        for position in (launcher.len()..exe.len()).step_by(37) {
            let mut damaged = exe.clone();
            damaged[position] ^= 0x10;
            executable_bytes(&damaged);
        }
        for cut in (0..exe.len()).step_by(41) {
            executable_bytes(&exe[..cut]);
        }
    }

    #[test]
    fn resealed_and_raw_targets_accept_anything() {
        let clean = {
            let mut writer = ContainerWriter::new(WriteOptions::default());
            for (resource, tier) in resources_from(&material()) {
                writer.add(resource, tier).expect("add");
            }
            writer.write().expect("write")
        };
        for position in (0..clean.len()).step_by(61) {
            let mut damaged = clean.clone();
            damaged[position] ^= 0x55;
            container_bytes(&damaged);
            container_resealed(&damaged);
            packed_blob(&damaged[4096.min(damaged.len())..]);
            executable_bytes(&damaged);
        }
        for cut in (0..clean.len()).step_by(113) {
            container_bytes(&clean[..cut]);
            container_resealed(&clean[..cut]);
            packed_blob(&clean[4096.min(cut)..cut]);
        }
    }
}
