//! EnCase (v6) `.hash` sets, as TSK and hashdeep read them: magic `HASH\r\n\xff\0`, a little-
//! endian u32 record count at 0x10, the set name (UTF-16LE) at 0x408, the category
//! (UTF-16LE) at 0x458, then from 0x480 records of 18 bytes: a binary MD5 and two bytes.
//! No file names are stored. EnCase 7+ hash libraries are a different, undocumented format.

use std::io::{self, BufRead, Read};

use super::{ImportError, Progress};
use crate::refset::{EntryMeta, HashValue, Record};

pub(crate) const MAGIC: &[u8] = b"HASH\r\n\xff\x00";
const HEADER_LEN: usize = 0x480;
const RECORD_LEN: usize = 18;
const COUNT_AT: usize = 0x10;
const NAME_AT: usize = 0x408;
const CATEGORY_AT: usize = 0x458;

/// A NUL-terminated UTF-16LE string from `bytes`.
fn utf16_field(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units).trim().to_string()
}

/// Reads as many bytes as are there, up to `buf.len()`.
fn read_full<R: Read + ?Sized>(input: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

pub(crate) fn import<R: BufRead + ?Sized>(
    input: &mut R,
    progress: &mut Progress<'_, '_>,
) -> Result<(), ImportError> {
    let mut header = vec![0u8; HEADER_LEN];
    let got = read_full(input, &mut header).map_err(|e| progress.io_error(e))?;
    if !header.starts_with(MAGIC) {
        return Err(progress.wrong_schema("no EnCase magic HASH\\r\\n\\xff\\0 at the start"));
    }
    if got < HEADER_LEN {
        return Err(progress.wrong_schema(format!(
            "the header is {got} bytes, an EnCase hash set's is {HEADER_LEN} (truncated file?)"
        )));
    }
    let declared = u32::from_le_bytes(header[COUNT_AT..COUNT_AT + 4].try_into().expect("4 bytes"));
    let set_name = utf16_field(&header[NAME_AT..CATEGORY_AT]);
    let category = utf16_field(&header[CATEGORY_AT..HEADER_LEN]);
    {
        let summary = progress.summary_mut();
        summary.source_description =
            Some(format!("EnCase hash set {set_name:?}, category {category:?}"));
    }
    let mut record_bytes = [0u8; RECORD_LEN];
    let mut index: u64 = 0;
    let mut complete: u64 = 0;
    loop {
        let got = read_full(input, &mut record_bytes).map_err(|e| progress.io_error(e))?;
        if got == 0 {
            break;
        }
        index += 1;
        if got < RECORD_LEN {
            progress.bad(index, format!("record {index} is cut short: {got} of 18 bytes"))?;
            break;
        }
        complete += 1;
        let md5: [u8; 16] = record_bytes[..16].try_into().expect("16 bytes");
        progress.emit(Record {
            hashes: vec![HashValue::Md5(md5)],
            meta: EntryMeta { source_id: Some(index.to_string()), ..EntryMeta::default() },
        })?;
    }
    if complete < u64::from(declared) {
        progress.bad(
            complete + 1,
            format!(
                "the header declares {declared} records but the file holds {complete} \
                 (truncated?)"
            ),
        )?;
    } else if complete > u64::from(declared) {
        progress.summary_mut().notes.push(format!(
            "the header declares {declared} records but the file holds {complete}; all were read"
        ));
    }
    Ok(())
}
