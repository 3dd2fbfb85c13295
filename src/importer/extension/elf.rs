//! Just enough ELF to read what a shared object's dynamic section names:
//! the libraries it needs (`DT_NEEDED`) and its own `DT_SONAME`.
//!
//! The bytes come from a container, so they are hostile until proven
//! otherwise: every offset and size is checked, arithmetic is checked, and
//! anything that does not parse as a well-formed ELF file of either class
//! and byte order yields `None` (the dynamic linker will then say what is
//! wrong with it, in its own words). The dynamic section is found through
//! the program headers, as the dynamic linker finds it, so section headers
//! stripped by `sstrip` do not matter; the string table's address
//! (`DT_STRTAB`) is translated to a file offset through the `PT_LOAD`
//! segments.

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_STRSZ: u64 = 10;
const DT_SONAME: u64 = 14;

/// What a shared object's dynamic section names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Dynamic<'a> {
    /// `DT_NEEDED` entries, in order: the sonames it asks the dynamic
    /// linker for.
    pub(crate) needed: Vec<&'a str>,
    /// Its `DT_SONAME`, if it has one.
    pub(crate) soname: Option<&'a str>,
}

/// Reads fields of one ELF file in its class (32 or 64 bits) and byte order.
#[derive(Clone, Copy)]
struct Reader<'a> {
    bytes: &'a [u8],
    wide: bool,
    big_endian: bool,
}

impl<'a> Reader<'a> {
    fn field<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        let end = offset.checked_add(N)?;
        self.bytes.get(offset..end)?.try_into().ok()
    }

    fn u16(&self, offset: usize) -> Option<u64> {
        let raw = self.field::<2>(offset)?;
        Some(u64::from(if self.big_endian {
            u16::from_be_bytes(raw)
        } else {
            u16::from_le_bytes(raw)
        }))
    }

    fn u32(&self, offset: usize) -> Option<u64> {
        let raw = self.field::<4>(offset)?;
        Some(u64::from(if self.big_endian {
            u32::from_be_bytes(raw)
        } else {
            u32::from_le_bytes(raw)
        }))
    }

    fn u64(&self, offset: usize) -> Option<u64> {
        let raw = self.field::<8>(offset)?;
        Some(if self.big_endian {
            u64::from_be_bytes(raw)
        } else {
            u64::from_le_bytes(raw)
        })
    }

    /// An address-sized field (`Elf32_Addr`/`Elf64_Addr`, `Off`, `Xword`).
    fn word(&self, offset: usize) -> Option<u64> {
        if self.wide {
            self.u64(offset)
        } else {
            self.u32(offset)
        }
    }
}

/// One program header: type, file offset, virtual address, size in the file.
struct Segment {
    kind: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

/// The dynamic section's names, or `None` if `bytes` is not a well-formed
/// ELF shared object with a dynamic section.
pub(crate) fn dynamic(bytes: &[u8]) -> Option<Dynamic<'_>> {
    if bytes.get(..4)? != b"\x7fELF" {
        return None;
    }
    let wide = match bytes.get(4)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let big_endian = match bytes.get(5)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let elf = Reader {
        bytes,
        wide,
        big_endian,
    };
    let (phoff, phentsize, phnum) = if wide {
        (elf.u64(0x20)?, elf.u16(0x36)?, elf.u16(0x38)?)
    } else {
        (elf.u32(0x1c)?, elf.u16(0x2a)?, elf.u16(0x2c)?)
    };
    let minimum = if wide { 0x38 } else { 0x20 };
    if phentsize < minimum {
        return None;
    }
    let mut segments = Vec::new();
    for index in 0..phnum {
        let at = usize::try_from(phoff.checked_add(index.checked_mul(phentsize)?)?).ok()?;
        let segment = if wide {
            Segment {
                kind: u32::try_from(elf.u32(at)?).ok()?,
                offset: elf.u64(at.checked_add(0x08)?)?,
                vaddr: elf.u64(at.checked_add(0x10)?)?,
                filesz: elf.u64(at.checked_add(0x20)?)?,
            }
        } else {
            Segment {
                kind: u32::try_from(elf.u32(at)?).ok()?,
                offset: elf.u32(at.checked_add(0x04)?)?,
                vaddr: elf.u32(at.checked_add(0x08)?)?,
                filesz: elf.u32(at.checked_add(0x10)?)?,
            }
        };
        segments.push(segment);
    }
    let dynamic = segments.iter().find(|s| s.kind == PT_DYNAMIC)?;
    let entry_size: u64 = if wide { 16 } else { 8 };
    let start = usize::try_from(dynamic.offset).ok()?;
    let count = usize::try_from(dynamic.filesz / entry_size).ok()?;
    let mut needed = Vec::new();
    let mut soname = None;
    let (mut strtab, mut strsz) = (None, None);
    for index in 0..count {
        let at = start.checked_add(index.checked_mul(entry_size as usize)?)?;
        let tag = elf.word(at)?;
        let value = elf.word(at.checked_add(entry_size as usize / 2)?)?;
        match tag {
            DT_NULL => break,
            DT_NEEDED => needed.push(value),
            DT_SONAME => soname = Some(value),
            DT_STRTAB => strtab = Some(value),
            DT_STRSZ => strsz = Some(value),
            _ => {}
        }
    }
    // The string table, as file bytes: its address lies in a loaded segment.
    let address = strtab?;
    let segment = segments
        .iter()
        .find(|s| s.kind == PT_LOAD && s.vaddr <= address && address - s.vaddr < s.filesz)?;
    let table_start = usize::try_from(segment.offset.checked_add(address - segment.vaddr)?).ok()?;
    let segment_end = usize::try_from(segment.offset.checked_add(segment.filesz)?).ok()?;
    let mut table_end = segment_end.min(bytes.len());
    if let Some(size) = strsz {
        table_end = table_end.min(table_start.saturating_add(usize::try_from(size).ok()?));
    }
    let table = bytes.get(table_start..table_end)?;
    let string = |offset: u64| -> Option<&str> {
        let tail = table.get(usize::try_from(offset).ok()?..)?;
        let end = tail.iter().position(|&b| b == 0)?;
        std::str::from_utf8(&tail[..end]).ok()
    };
    Some(Dynamic {
        needed: needed.into_iter().map(string).collect::<Option<Vec<_>>>()?,
        soname: match soname {
            Some(offset) => Some(string(offset)?),
            None => None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 little-endian shared object: one PT_LOAD covering the
    /// file, one PT_DYNAMIC, a string table.
    fn elf64(needed: &[&str], soname: Option<&str>) -> Vec<u8> {
        let mut strings = vec![0u8];
        let mut offsets = Vec::new();
        for name in needed.iter().copied().chain(soname) {
            offsets.push(strings.len() as u64);
            strings.extend_from_slice(name.as_bytes());
            strings.push(0);
        }
        let phoff = 64u64;
        let dyn_off = phoff + 2 * 56;
        let mut entries: Vec<(u64, u64)> = Vec::new();
        for offset in &offsets[..needed.len()] {
            entries.push((DT_NEEDED, *offset));
        }
        if soname.is_some() {
            entries.push((DT_SONAME, offsets[needed.len()]));
        }
        let str_off = dyn_off + (entries.len() as u64 + 3) * 16;
        // Loaded at 0x1000 above the file offset, to exercise translation.
        entries.push((DT_STRTAB, str_off + 0x1000));
        entries.push((DT_STRSZ, strings.len() as u64));
        entries.push((DT_NULL, 0));
        let total = str_off + strings.len() as u64;
        let mut out = vec![0u8; 64];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = 2;
        out[5] = 1;
        out[0x20..0x28].copy_from_slice(&phoff.to_le_bytes());
        out[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        out[0x38..0x3a].copy_from_slice(&2u16.to_le_bytes());
        for (kind, offset, vaddr, size) in [
            (PT_LOAD, 0, 0x1000, total),
            (
                PT_DYNAMIC,
                dyn_off,
                dyn_off + 0x1000,
                entries.len() as u64 * 16,
            ),
        ] {
            let mut ph = vec![0u8; 56];
            ph[..4].copy_from_slice(&kind.to_le_bytes());
            ph[8..16].copy_from_slice(&offset.to_le_bytes());
            ph[16..24].copy_from_slice(&vaddr.to_le_bytes());
            ph[32..40].copy_from_slice(&size.to_le_bytes());
            out.extend(ph);
        }
        for (tag, value) in &entries {
            out.extend(tag.to_le_bytes());
            out.extend(value.to_le_bytes());
        }
        out.extend(strings);
        out
    }

    #[test]
    fn reads_needed_and_soname() {
        let bytes = elf64(&["libbar-1234.so.1", "libc.so.6"], Some("libfoo.so.2"));
        let dynamic = dynamic(&bytes).expect("parses");
        assert_eq!(dynamic.needed, ["libbar-1234.so.1", "libc.so.6"]);
        assert_eq!(dynamic.soname, Some("libfoo.so.2"));
        let bytes = elf64(&[], None);
        let plain = dynamic_of(&bytes);
        assert_eq!(plain, Dynamic::default());
    }

    fn dynamic_of(bytes: &[u8]) -> Dynamic<'_> {
        dynamic(bytes).expect("parses")
    }

    #[test]
    fn reads_a_real_extension_module() {
        let Ok(bytes) =
            std::fs::read("/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so")
        else {
            return;
        };
        let dynamic = dynamic(&bytes).expect("a real shared object parses");
        assert!(dynamic.needed.contains(&"libssl.so.3"), "{dynamic:?}");
    }

    #[test]
    fn truncations_and_garbage_are_rejected_without_panicking() {
        let bytes = elf64(&["libbar.so.1"], Some("libfoo.so"));
        for end in 0..bytes.len() {
            let _ = dynamic(&bytes[..end]);
        }
        for position in 0..bytes.len() {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[position] ^= 1 << bit;
                let _ = dynamic(&damaged);
            }
        }
        assert_eq!(dynamic(b"not an elf file at all"), None);
        assert_eq!(dynamic(&[]), None);
    }

    proptest::proptest! {
        /// Arbitrary bytes behind a valid ELF identification, and arbitrary
        /// changes to a valid file, never panic, and whatever parses names
        /// only strings from inside the input.
        #[test]
        fn hostile_bytes_never_panic(
            class in 0u8..4,
            order in 0u8..4,
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
            edits in proptest::collection::vec((0usize..400, proptest::num::u8::ANY), 0..16),
        ) {
            let mut bytes = b"\x7fELF".to_vec();
            bytes.extend([class, order]);
            bytes.extend(&tail);
            let _ = dynamic(&bytes);
            let mut valid = elf64(&["libbar.so.1", "libc.so.6"], Some("libfoo.so.2"));
            for (at, value) in edits {
                if let Some(byte) = valid.get_mut(at) {
                    *byte = value;
                }
            }
            if let Some(found) = dynamic(&valid) {
                for name in found.needed.iter().chain(found.soname.iter()) {
                    proptest::prop_assert!(!name.contains('\0'));
                    proptest::prop_assert!(name.len() < valid.len());
                }
            }
        }
    }
}
