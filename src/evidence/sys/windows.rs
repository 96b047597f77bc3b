//! Windows: entries opened with `NtCreateFile` relative to an open directory handle (what
//! `openat` is on Unix), so the walk is not bound by `MAX_PATH` and resolves each name in
//! the directory it listed. Every handle shares reading, writing and deletion with other
//! programs (the evidence's owner keeps working) and asks for backup semantics (directories
//! open like files).
//!
//! Access times: a handle that may change the last-access time is frozen with
//! `SetFileTime(handle, NULL, {0xFFFFFFFF, 0xFFFFFFFF}, NULL)` before anything is read, as
//! the Windows documentation describes; that call needs `FILE_WRITE_ATTRIBUTES` on the
//! handle (no attribute is written). Where that access is refused (a read-only volume, a
//! write blocker, an ACL), reads leave the time alone only on a read-only volume or on NTFS
//! with last-access updates disabled (`NtfsDisableLastAccessUpdate`); elsewhere the entry is
//! not read unless changes are allowed, as on Unix.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::windows::ffi::{OsStrExt, OsStringExt};
use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle, FromRawHandle, OwnedHandle};

use windows_sys::Wdk::Foundation::OBJECT_ATTRIBUTES;
use windows_sys::Wdk::Storage::FileSystem::{
    FILE_DIRECTORY_FILE, FILE_OPEN, FILE_OPEN_FOR_BACKUP_INTENT, FILE_OPEN_REPARSE_POINT,
    FILE_SYNCHRONOUS_IO_NONALERT, NtCreateFile,
};
use windows_sys::Win32::Foundation::{
    ERROR_ACCESS_DENIED, ERROR_CANT_RESOLVE_FILENAME, ERROR_DIRECTORY, ERROR_FILE_NOT_FOUND,
    ERROR_NO_MORE_FILES, ERROR_PATH_NOT_FOUND, ERROR_WRITE_PROTECT, FILETIME, HANDLE,
    INVALID_HANDLE_VALUE, OBJ_CASE_INSENSITIVE, RtlNtStatusToDosError, UNICODE_STRING,
};
use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, CreateFileW, FILE_ATTRIBUTE_DIRECTORY,
    FILE_ATTRIBUTE_REPARSE_POINT, FILE_ATTRIBUTE_TAG_INFO, FILE_BASIC_INFO,
    FILE_FLAG_BACKUP_SEMANTICS, FILE_FLAG_OPEN_REPARSE_POINT, FILE_GENERIC_READ,
    FILE_ID_BOTH_DIR_INFO, FILE_READ_ATTRIBUTES, FILE_SHARE_DELETE, FILE_SHARE_READ,
    FILE_SHARE_WRITE, FILE_TYPE_CHAR, FILE_TYPE_PIPE, FILE_WRITE_ATTRIBUTES, FileAttributeTagInfo,
    FileBasicInfo, FileIdBothDirectoryInfo, FileIdBothDirectoryRestartInfo,
    GetFileInformationByHandle, GetFileInformationByHandleEx, GetFileType,
    GetVolumeInformationByHandleW, MAXIMUM_REPARSE_DATA_BUFFER_SIZE, OPEN_EXISTING, SYNCHRONIZE,
};
use windows_sys::Win32::System::IO::{DeviceIoControl, IO_STATUS_BLOCK};
use windows_sys::Win32::System::Ioctl::FSCTL_GET_REPARSE_POINT;
use windows_sys::Win32::System::Registry::{HKEY_LOCAL_MACHINE, RRF_RT_REG_DWORD, RegGetValueW};
use windows_sys::Win32::System::SystemServices::{
    FILE_READ_ONLY_VOLUME, IO_REPARSE_TAG_MOUNT_POINT, IO_REPARSE_TAG_SYMLINK,
};

use super::{AsDir, AtimePolicy, OpenError, OpenFor, Stat};
use crate::report::EntryKind;

/// An open file or directory.
pub(crate) type Dir = OwnedHandle;
/// A borrowed [`Dir`].
pub(crate) type DirRef<'a> = BorrowedHandle<'a>;

impl<T: AsHandle> AsDir for T {
    fn as_dir(&self) -> DirRef<'_> {
        self.as_handle()
    }
}

/// One entry name (or a path given by a caller): UTF-16 for the system, and the bytes
/// records show (WTF-8, as [`OsStr::as_encoded_bytes`] gives them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Name {
    wide: Vec<u16>,
    bytes: Vec<u8>,
}

impl Name {
    /// The name as records show it.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// A name from an `OsStr`; refused if it holds a NUL.
pub(crate) fn name(name: &OsStr) -> io::Result<Name> {
    let wide: Vec<u16> = name.encode_wide().collect();
    if wide.contains(&0) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL character"));
    }
    Ok(Name { wide, bytes: name.as_encoded_bytes().to_vec() })
}

/// A name from record bytes (a link target's component): UTF-8 (lossy where a name holds
/// an unpaired surrogate, so it then names nothing and the lookup fails cleanly).
pub(crate) fn name_from_bytes(bytes: Vec<u8>) -> io::Result<Name> {
    let text = String::from_utf8_lossy(&bytes).into_owned();
    name(OsStr::new(&text))
}

/// The byte records put between components.
pub(crate) const SEPARATOR: u8 = b'\\';

/// Whether `b` separates path components (Windows takes both slashes).
pub(crate) fn is_separator(b: u8) -> bool {
    b == b'\\' || b == b'/'
}

/// Whether a link target starts at the top of a volume (`\x`, `C:\x`, `\??\C:\x`).
pub(crate) fn link_is_absolute(target: &[u8]) -> bool {
    target.first().is_some_and(|&b| is_separator(b))
        || (target.len() >= 2 && target[0].is_ascii_alphabetic() && target[1] == b':')
}

/// Record paths at least this long are opened through their directory, not by path (the
/// Win32 calls stop at `MAX_PATH` without the `\\?\` prefix; a UTF-16 unit takes at least
/// one byte, so the byte count bounds it).
pub(crate) const PATH_OPEN_LIMIT: usize = 259;

/// What to do when access times cannot be kept, for messages.
pub(crate) const ATIME_REFUSAL: &str = "the last-access time could not be frozen \
     (SetFileTime needs write-attributes access to the handle, refused here) and the volume \
     records last-access times, so reading would change the evidence; attach the evidence \
     read-only (a write blocker or a read-only volume), disable last-access updates \
     (fsutil behavior set disablelastaccess 1), or accept the change with \
     --allow-atime-changes";

/// Whether a lookup failed because the name (or a directory on its way) is not there.
pub(crate) fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error().map(|c| c as u32),
        Some(ERROR_FILE_NOT_FOUND) | Some(ERROR_PATH_NOT_FOUND) | Some(ERROR_DIRECTORY)
    )
}

/// Whether a lookup failed on a loop of symbolic links.
pub(crate) fn is_link_loop(e: &io::Error) -> bool {
    e.raw_os_error() == Some(ERROR_CANT_RESOLVE_FILENAME as i32)
}

/// Handle rights, and whether the handle may read data (and so change access times).
#[derive(Clone, Copy)]
enum Access {
    /// Attributes only: reads no data, changes no access time.
    Attributes,
    /// Reading data or listing.
    Read,
    /// Reading, plus `FILE_WRITE_ATTRIBUTES` to freeze the access time.
    ReadFreezing,
}

impl Access {
    fn rights(self) -> u32 {
        match self {
            Access::Attributes => FILE_READ_ATTRIBUTES | SYNCHRONIZE,
            Access::Read => FILE_GENERIC_READ,
            Access::ReadFreezing => FILE_GENERIC_READ | FILE_WRITE_ATTRIBUTES,
        }
    }
}

const SHARE_ALL: u32 = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;

/// Opens `name` in `dir` (or as a path when `dir` is `None`) with `access`.
fn open_raw(
    dir: Option<DirRef<'_>>,
    name: &Name,
    access: Access,
    listing: bool,
    follow: bool,
) -> io::Result<OwnedHandle> {
    let Some(dir) = dir else {
        let mut path = name.wide.clone();
        path.push(0);
        let mut flags = FILE_FLAG_BACKUP_SEMANTICS;
        if !follow {
            flags |= FILE_FLAG_OPEN_REPARSE_POINT;
        }
        // SAFETY: `path` is NUL-terminated UTF-16 alive for the call; no security attributes
        // or template handle are passed.
        let handle = unsafe {
            CreateFileW(
                path.as_ptr(),
                access.rights(),
                SHARE_ALL,
                std::ptr::null(),
                OPEN_EXISTING,
                flags,
                std::ptr::null_mut(),
            )
        };
        if handle == INVALID_HANDLE_VALUE {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: CreateFileW returned a new handle that nothing else owns.
        return Ok(unsafe { OwnedHandle::from_raw_handle(handle) });
    };
    // "." is the directory itself: an empty name relative to it.
    let wide: &[u16] = if name.wide == [u16::from(b'.')] { &[] } else { &name.wide };
    let byte_len = u16::try_from(wide.len() * 2)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name longer than 32767"))?;
    let object_name =
        UNICODE_STRING { Length: byte_len, MaximumLength: byte_len, Buffer: wide.as_ptr() as _ };
    let attributes = OBJECT_ATTRIBUTES {
        Length: std::mem::size_of::<OBJECT_ATTRIBUTES>() as u32,
        RootDirectory: dir.as_raw_handle() as HANDLE,
        ObjectName: &object_name,
        Attributes: OBJ_CASE_INSENSITIVE,
        SecurityDescriptor: std::ptr::null(),
        SecurityQualityOfService: std::ptr::null(),
    };
    let mut options = FILE_SYNCHRONOUS_IO_NONALERT | FILE_OPEN_FOR_BACKUP_INTENT;
    if listing {
        options |= FILE_DIRECTORY_FILE;
    }
    if !follow {
        options |= FILE_OPEN_REPARSE_POINT;
    }
    let mut handle: HANDLE = std::ptr::null_mut();
    // SAFETY: a zeroed IO_STATUS_BLOCK is a valid output; it is written by the call only.
    let mut status_block: IO_STATUS_BLOCK = unsafe { std::mem::zeroed() };
    // SAFETY: every pointer is to a live local (the name's buffer outlives the call, the
    // root handle is borrowed for it); no allocation size or extended attributes are passed.
    let status = unsafe {
        NtCreateFile(
            &mut handle,
            access.rights(),
            &attributes,
            &mut status_block,
            std::ptr::null(),
            0,
            SHARE_ALL,
            FILE_OPEN,
            options,
            std::ptr::null(),
            0,
        )
    };
    if status < 0 {
        // SAFETY: RtlNtStatusToDosError only maps a number.
        let code = unsafe { RtlNtStatusToDosError(status) };
        return Err(io::Error::from_raw_os_error(code as i32));
    }
    // SAFETY: NtCreateFile succeeded, so `handle` is a new handle that nothing else owns.
    Ok(unsafe { OwnedHandle::from_raw_handle(handle) })
}

/// Opens `name` in `dir` for reading or listing, freezing its last-access time first;
/// `follow` opens a final link's target. A reparse point that is not a link (a cloud or
/// deduplicated file) is always opened through, so its data is read, not its stub.
/// Returns the handle and whether reading it leaves access times alone.
pub(crate) fn open_at(
    dir: Option<DirRef<'_>>,
    name: &Name,
    what: OpenFor,
    follow: bool,
    policy: AtimePolicy,
) -> Result<(Dir, bool), OpenError> {
    let listing = what == OpenFor::Listing;
    let open = |access: Access| -> io::Result<OwnedHandle> {
        let handle = open_raw(dir, name, access, listing, follow)?;
        if follow || !is_data_reparse_point(handle.as_handle()) {
            return Ok(handle);
        }
        let through = open_raw(dir, name, access, listing, true)?;
        let (a, b) = (stat_open(handle.as_handle())?, stat_open(through.as_handle())?);
        if (a.dev, a.ino) != (b.dev, b.ino) {
            return Err(io::Error::other("the entry was replaced while being opened"));
        }
        Ok(through)
    };
    if !policy.simulate_refusal {
        match open(Access::ReadFreezing) {
            Ok(handle) => {
                if crate::openfile::freeze_access_time(handle.as_handle()).is_ok() {
                    return Ok((handle, true));
                }
            }
            // Refused write-attributes access: read-only media, a write blocker, an ACL.
            Err(e)
                if matches!(
                    e.raw_os_error().map(|c| c as u32),
                    Some(ERROR_ACCESS_DENIED) | Some(ERROR_WRITE_PROTECT)
                ) => {}
            Err(e) => return Err(OpenError::Io(e)),
        }
    }
    let handle = open(Access::Read).map_err(OpenError::Io)?;
    let volume_keeps =
        policy.mount_override.unwrap_or_else(|| mount_keeps_atime(handle.as_handle()));
    if volume_keeps {
        Ok((handle, true))
    } else if policy.allow_changes {
        Ok((handle, false))
    } else {
        Err(OpenError::AtimeWouldChange)
    }
}

/// A reparse point that is not a name surrogate (not a link or junction): its data is the
/// file's, reached by opening through it.
fn is_data_reparse_point(handle: DirRef<'_>) -> bool {
    matches!(attribute_tag(handle), Ok((attributes, tag))
        if attributes & FILE_ATTRIBUTE_REPARSE_POINT != 0 && !is_name_surrogate(tag))
}

/// Reparse tags of links (symbolic links, junctions) have the name-surrogate bit.
fn is_name_surrogate(tag: u32) -> bool {
    tag & 0x2000_0000 != 0
}

fn attribute_tag(handle: DirRef<'_>) -> io::Result<(u32, u32)> {
    let mut info = FILE_ATTRIBUTE_TAG_INFO { FileAttributes: 0, ReparseTag: 0 };
    // SAFETY: `info` is writable for its own size, which is passed.
    let ok = unsafe {
        GetFileInformationByHandleEx(
            handle.as_raw_handle() as HANDLE,
            FileAttributeTagInfo,
            (&mut info as *mut FILE_ATTRIBUTE_TAG_INFO).cast(),
            std::mem::size_of::<FILE_ATTRIBUTE_TAG_INFO>() as u32,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((info.FileAttributes, info.ReparseTag))
}

/// Seconds and nanoseconds since 1970 from 100-ns ticks since 1601.
fn unix_time(ticks: i64) -> (i64, i64) {
    const TICKS_PER_SECOND: i64 = 10_000_000;
    const SECONDS_1601_TO_1970: i64 = 11_644_473_600;
    (
        ticks.div_euclid(TICKS_PER_SECOND) - SECONDS_1601_TO_1970,
        ticks.rem_euclid(TICKS_PER_SECOND) * 100,
    )
}

fn filetime_ticks(t: FILETIME) -> i64 {
    ((u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime)) as i64
}

/// What the system says about an open handle.
pub(crate) fn stat_open(handle: DirRef<'_>) -> io::Result<Stat> {
    let raw = handle.as_raw_handle() as HANDLE;
    // SAFETY: a zeroed BY_HANDLE_FILE_INFORMATION is a valid output.
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: the handle is open; `info` is writable storage for one structure.
    if unsafe { GetFileInformationByHandle(raw, &mut info) } == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a zeroed FILE_BASIC_INFO is a valid output.
    let mut basic: FILE_BASIC_INFO = unsafe { std::mem::zeroed() };
    // SAFETY: `basic` is writable for its own size, which is passed.
    let has_basic = unsafe {
        GetFileInformationByHandleEx(
            raw,
            FileBasicInfo,
            (&mut basic as *mut FILE_BASIC_INFO).cast(),
            std::mem::size_of::<FILE_BASIC_INFO>() as u32,
        )
    } != 0;
    // SAFETY: the handle is open.
    let file_type = unsafe { GetFileType(raw) };
    let link = info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT != 0
        && attribute_tag(handle).is_ok_and(|(_, tag)| is_name_surrogate(tag));
    let kind = if file_type == FILE_TYPE_PIPE {
        EntryKind::Fifo
    } else if file_type == FILE_TYPE_CHAR {
        EntryKind::CharDevice
    } else if link {
        EntryKind::Symlink
    } else if info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY != 0 {
        EntryKind::Directory
    } else {
        EntryKind::File
    };
    let write = filetime_ticks(info.ftLastWriteTime);
    Ok(Stat {
        kind,
        dev: u64::from(info.dwVolumeSerialNumber),
        ino: (u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow),
        size: (u64::from(info.nFileSizeHigh) << 32) | u64::from(info.nFileSizeLow),
        nlink: u64::from(info.nNumberOfLinks),
        mode: None,
        uid: None,
        gid: None,
        atime: unix_time(filetime_ticks(info.ftLastAccessTime)),
        mtime: unix_time(write),
        ctime: unix_time(if has_basic { basic.ChangeTime } else { write }),
    })
}

/// What the system says about `name` in `dir`; `follow` describes a final link's target.
/// Opened for attributes only, so no access time changes.
pub(crate) fn stat_at(dir: Option<DirRef<'_>>, name: &Name, follow: bool) -> io::Result<Stat> {
    let handle = open_raw(dir, name, Access::Attributes, false, follow)?;
    stat_open(handle.as_handle())
}

/// A link's (symbolic link's or junction's) target as record bytes: its print name, else its
/// substitute name without the `\??\` prefix.
pub(crate) fn read_link_at(dir: Option<DirRef<'_>>, name: &Name) -> io::Result<Vec<u8>> {
    let handle = open_raw(dir, name, Access::Attributes, false, false)?;
    let mut buf = vec![0u8; MAXIMUM_REPARSE_DATA_BUFFER_SIZE as usize];
    let mut returned = 0u32;
    // SAFETY: the handle is open; `buf` is writable for the length passed; no input buffer
    // and no overlapped structure (the handle is synchronous).
    let ok = unsafe {
        DeviceIoControl(
            handle.as_raw_handle() as HANDLE,
            FSCTL_GET_REPARSE_POINT,
            std::ptr::null(),
            0,
            buf.as_mut_ptr().cast(),
            buf.len() as u32,
            &mut returned,
            std::ptr::null_mut(),
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(returned as usize);
    link_target(&buf)
}

/// Parses a `REPARSE_DATA_BUFFER` of a symbolic link or junction.
fn link_target(data: &[u8]) -> io::Result<Vec<u8>> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let u16_at = |at: usize| -> io::Result<usize> {
        data.get(at..at + 2)
            .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
            .ok_or_else(|| bad("reparse data too short"))
    };
    let tag = data
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| bad("reparse data too short"))?;
    let path_buffer = match tag {
        IO_REPARSE_TAG_SYMLINK => 20,
        IO_REPARSE_TAG_MOUNT_POINT => 16,
        other => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("reparse point with tag {other:#010x} is not a symbolic link or junction"),
            ));
        }
    };
    let text = |offset: usize, len: usize| -> io::Result<Vec<u16>> {
        let start = path_buffer + offset;
        let bytes = data.get(start..start + len).ok_or_else(|| bad("link name out of bounds"))?;
        Ok(bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect())
    };
    let mut target = text(u16_at(12)?, u16_at(14)?)?;
    if target.is_empty() {
        target = text(u16_at(8)?, u16_at(10)?)?;
        let nt_prefix: Vec<u16> = r"\??\".encode_utf16().collect();
        if target.starts_with(&nt_prefix) {
            target.drain(..nt_prefix.len());
        }
    }
    Ok(OsString::from_wide(&target).into_encoded_bytes())
}

/// Splits a link target into the components looked up inside the evidence root: a drive
/// (`C:`) or NT prefix (`\??\`, `\\?\`) of an absolute target is dropped, since such a
/// target is a path on the evidence's own volume.
pub(crate) fn link_components(target: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    let mut rest = target;
    for prefix in [&b"\\??\\"[..], b"\\\\?\\"] {
        if let Some(r) = rest.strip_prefix(prefix) {
            rest = r;
        }
    }
    if rest.len() >= 2 && rest[0].is_ascii_alphabetic() && rest[1] == b':' {
        rest = &rest[2..];
    }
    super::split_components(rest)
}

/// Whether the volume holding `handle` keeps access times: read-only, or NTFS with
/// last-access updates disabled.
pub(crate) fn mount_keeps_atime(handle: DirRef<'_>) -> bool {
    let mut flags = 0u32;
    let mut fs_name = [0u16; 64];
    // SAFETY: the handle is open; the file-system name buffer is writable for its length;
    // the other outputs are not asked for.
    let ok = unsafe {
        GetVolumeInformationByHandleW(
            handle.as_raw_handle() as HANDLE,
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut flags,
            fs_name.as_mut_ptr(),
            fs_name.len() as u32,
        )
    };
    if ok == 0 {
        return false;
    }
    if flags & FILE_READ_ONLY_VOLUME != 0 {
        return true;
    }
    let end = fs_name.iter().position(|&c| c == 0).unwrap_or(fs_name.len());
    String::from_utf16_lossy(&fs_name[..end]) == "NTFS" && ntfs_last_access_disabled()
}

/// `NtfsDisableLastAccessUpdate` (low bit set: disabled by the user or by the system).
fn ntfs_last_access_disabled() -> bool {
    let key: Vec<u16> = "SYSTEM\\CurrentControlSet\\Control\\FileSystem\0".encode_utf16().collect();
    let value: Vec<u16> = "NtfsDisableLastAccessUpdate\0".encode_utf16().collect();
    let mut data = 0u32;
    let mut size = std::mem::size_of::<u32>() as u32;
    // SAFETY: key and value names are NUL-terminated; `data` is writable for `size` bytes.
    let rc = unsafe {
        RegGetValueW(
            HKEY_LOCAL_MACHINE,
            key.as_ptr(),
            value.as_ptr(),
            RRF_RT_REG_DWORD,
            std::ptr::null_mut(),
            (&mut data as *mut u32).cast(),
            &mut size,
        )
    };
    rc == 0 && data & 1 == 1
}

/// The names in the directory open as `dir` (without `.` and `..`), and the error that cut
/// the listing short, if any.
pub(crate) fn list(dir: Dir) -> io::Result<(Vec<OsString>, Option<io::Error>)> {
    const NAME_OFFSET: usize = std::mem::offset_of!(FILE_ID_BOTH_DIR_INFO, FileName);
    const LENGTH_OFFSET: usize = std::mem::offset_of!(FILE_ID_BOTH_DIR_INFO, FileNameLength);
    // u64 storage: the entries are 8-byte aligned within the buffer.
    let mut storage = vec![0u64; 8 * 1024];
    let mut names = Vec::new();
    let mut class = FileIdBothDirectoryRestartInfo;
    loop {
        // SAFETY: the handle is open; `storage` is writable for the byte length passed.
        let ok = unsafe {
            GetFileInformationByHandleEx(
                dir.as_raw_handle() as HANDLE,
                class,
                storage.as_mut_ptr().cast(),
                (storage.len() * 8) as u32,
            )
        };
        class = FileIdBothDirectoryInfo;
        if ok == 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(ERROR_NO_MORE_FILES as i32) {
                return Ok((names, None));
            }
            if names.is_empty() {
                return Err(e);
            }
            return Ok((names, Some(e)));
        }
        // SAFETY: u64 storage viewed as bytes: same memory, alignment 1 is always met.
        let bytes: &[u8] =
            unsafe { std::slice::from_raw_parts(storage.as_ptr().cast(), storage.len() * 8) };
        let mut at = 0usize;
        loop {
            let field = |offset: usize| -> Option<u32> {
                let b = bytes.get(at + offset..at + offset + 4)?;
                Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            };
            let (Some(next), Some(len)) = (field(0), field(LENGTH_OFFSET)) else { break };
            let start = at + NAME_OFFSET;
            let Some(raw) = bytes.get(start..start + len as usize) else { break };
            let wide: Vec<u16> =
                raw.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
            let dot = u16::from(b'.');
            if wide != [dot] && wide != [dot, dot] {
                names.push(OsString::from_wide(&wide));
            }
            if next == 0 {
                break;
            }
            at += next as usize;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_targets_are_parsed_and_drive_prefixes_dropped() {
        let wide = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
        // A relative symbolic link: substitute and print names "..\\x".
        let name = wide("..\\x");
        let n = name.len() as u16;
        let mut data = Vec::new();
        data.extend_from_slice(&IO_REPARSE_TAG_SYMLINK.to_le_bytes());
        data.extend_from_slice(&(12 + 2 * n).to_le_bytes());
        data.extend_from_slice(&0u16.to_le_bytes());
        for v in [0u16, n, n, n] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        data.extend_from_slice(&1u32.to_le_bytes());
        data.extend_from_slice(&name);
        data.extend_from_slice(&name);
        assert_eq!(link_target(&data).unwrap(), b"..\\x");
        assert!(link_target(&data[..10]).is_err());
        assert!(!link_is_absolute(b"..\\x"));
        assert!(link_is_absolute(b"C:\\Users"));
        let parts: Vec<&[u8]> = link_components(b"\\??\\C:\\Users\\a").collect();
        assert_eq!(parts, [&b"Users"[..], b"a"]);
        assert_eq!(unix_time(116_444_736_000_000_000), (0, 0));
    }
}
