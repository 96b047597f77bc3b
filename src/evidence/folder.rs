//! The folder source: a directory tree (or a single file) on a mounted file system,
//! walked depth-first with each directory's names sorted by bytes, on the calling thread.
//! It decides everything that needs no file content (directories, skips, stat errors) and
//! hands regular files out as [`Item::Content`] whose [`Content`] opens them read-only with
//! `O_NOATIME` on a hashing thread.
//!
//! Memory: the names of each directory on the current path (not of the whole tree).

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Content, ContentItem, ContentReader, Item, OpenedContent, SourceOptions};
use crate::report::{
    EntryDisposition, EntryKind, EntryRecord, Reason, ReasonCode, Timestamp, os_str_bytes,
};

/// Where a [`TestHooks::fail`] hook can inject an error (testing hostile conditions).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookPoint {
    /// `lstat` of an entry.
    Stat,
    /// Listing a directory.
    ListDir,
    /// Opening a file.
    Open,
    /// Each read call on a file.
    Read,
}

type FailHook = Arc<dyn Fn(HookPoint, &Path) -> Option<io::Error> + Send + Sync>;
type PathHook = Arc<dyn Fn(&Path) + Send + Sync>;

/// Test hooks: simulate conditions a test cannot create for real (e.g. permission denied
/// while running as root). Not part of the stable API.
#[doc(hidden)]
#[derive(Clone, Default)]
pub struct TestHooks {
    /// Returning `Some(error)` makes that operation on that path fail with it.
    pub fail: Option<FailHook>,
    /// Called after a file is opened and before it is read.
    pub after_open: Option<PathHook>,
}

impl fmt::Debug for TestHooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestHooks")
            .field("fail", &self.fail.is_some())
            .field("after_open", &self.after_open.is_some())
            .finish()
    }
}

impl TestHooks {
    fn failure(&self, point: HookPoint, path: &Path) -> Option<io::Error> {
        self.fail.as_ref().and_then(|f| f(point, path))
    }
}

/// A regular file to open and read, with what `lstat`/`stat` said when it was listed.
struct FileContent {
    path: PathBuf,
    /// Allow a final symbolic-link component when opening (a followed link).
    follow: bool,
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    hooks: TestHooks,
}

impl Content for FileContent {
    fn open(self: Box<Self>) -> Result<OpenedContent, Reason> {
        let opened = match self.hooks.failure(HookPoint::Open, &self.path) {
            Some(e) => Err(e),
            None => crate::analyze::open_evidence_with(&self.path, self.follow),
        };
        let (file, noatime) =
            opened.map_err(|e| Reason::new(ReasonCode::OpenFailed, format!("cannot open: {e}")))?;
        match file.metadata() {
            Ok(meta) if same_file(&meta, self.dev, self.ino) => {}
            Ok(_) => {
                return Err(Reason::new(
                    ReasonCode::Replaced,
                    "the entry was replaced between listing and opening (no longer the same \
                     regular file); not read",
                ));
            }
            Err(e) => {
                return Err(Reason::new(
                    ReasonCode::OpenFailed,
                    format!("cannot stat the opened file: {e}"),
                ));
            }
        }
        if let Some(hook) = &self.hooks.after_open {
            hook(&self.path);
        }
        Ok(OpenedContent {
            reader: Box::new(FileReader { file, content: *self }),
            noatime: Some(noatime),
        })
    }
}

/// An opened regular file.
struct FileReader {
    file: File,
    content: FileContent,
}

impl Read for FileReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.content.hooks.failure(HookPoint::Read, &self.content.path) {
            return Err(e);
        }
        self.file.read(buf)
    }
}

impl ContentReader for FileReader {
    fn changed_while_read(&mut self, bytes_read: u64) -> Option<Reason> {
        let meta = self.file.metadata().ok()?;
        let expected = self.content.size;
        if meta.len() == expected && bytes_read == expected && mtime_of(&meta) == self.content.mtime
        {
            return None;
        }
        Some(Reason::new(
            ReasonCode::ChangedWhileRead,
            format!(
                "file changed while being read: {expected} bytes when listed, {bytes_read} bytes \
                 read, {} bytes after reading; the digests are of the bytes read",
                meta.len()
            ),
        ))
    }
}

#[cfg(unix)]
fn same_file(meta: &Metadata, dev: u64, ino: u64) -> bool {
    use std::os::unix::fs::MetadataExt;
    meta.is_file() && meta.dev() == dev && meta.ino() == ino
}

#[cfg(not(unix))]
fn same_file(meta: &Metadata, _dev: u64, _ino: u64) -> bool {
    meta.is_file()
}

#[cfg(unix)]
fn mtime_of(meta: &Metadata) -> (i64, i64) {
    use std::os::unix::fs::MetadataExt;
    (meta.mtime(), meta.mtime_nsec())
}

#[cfg(not(unix))]
fn mtime_of(_meta: &Metadata) -> (i64, i64) {
    (0, 0)
}

struct Frame {
    dir: PathBuf,
    /// Root-relative path of this directory, `/`-separated bytes (empty for a root).
    relative: Vec<u8>,
    names: Vec<OsString>,
    next: usize,
    dev: u64,
    ino: u64,
    root_dev: u64,
}

/// Walks one evidence root (see the module docs); an iterator of [`Item`]s.
pub struct FolderSource<'a> {
    root: Option<PathBuf>,
    stack: Vec<Frame>,
    options: &'a SourceOptions,
    /// Per device: whether reading a link leaves its access time alone (read-only or
    /// noatime mount).
    quiet_readlink: std::collections::HashMap<u64, bool>,
}

impl<'a> FolderSource<'a> {
    /// A walk of `root` (a directory, a file, or a link to one: a root is always followed).
    pub fn new(root: PathBuf, options: &'a SourceOptions) -> Self {
        FolderSource {
            root: Some(root),
            stack: Vec::new(),
            options,
            quiet_readlink: Default::default(),
        }
    }
}

impl Iterator for FolderSource<'_> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        loop {
            if let Some(frame) = self.stack.last_mut() {
                if frame.next < frame.names.len() {
                    let name = std::mem::take(&mut frame.names[frame.next]);
                    frame.next += 1;
                    let path = frame.dir.join(&name);
                    let mut relative = frame.relative.clone();
                    if !relative.is_empty() {
                        relative.push(b'/');
                    }
                    relative.extend_from_slice(os_bytes(&name));
                    let root_dev = frame.root_dev;
                    return Some(self.visit(path, &name, relative, Some(root_dev)));
                }
                self.stack.pop();
                continue;
            }
            let root = self.root.take()?;
            let name = root.file_name().map(OsStr::to_os_string).unwrap_or_default();
            return Some(self.visit(root, &name, Vec::new(), None));
        }
    }
}

fn os_bytes(s: &OsStr) -> &[u8] {
    os_str_bytes(s)
}

fn kind_of(meta: &Metadata) -> EntryKind {
    let ft = meta.file_type();
    if ft.is_symlink() {
        return EntryKind::Symlink;
    }
    if ft.is_dir() {
        return EntryKind::Directory;
    }
    if ft.is_file() {
        return EntryKind::File;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return EntryKind::Fifo;
        }
        if ft.is_socket() {
            return EntryKind::Socket;
        }
        if ft.is_block_device() {
            return EntryKind::BlockDevice;
        }
        if ft.is_char_device() {
            return EntryKind::CharDevice;
        }
    }
    EntryKind::Unknown
}

/// (dev, ino, mtime secs, mtime nanos) of a metadata record.
#[cfg(unix)]
fn identity(meta: &Metadata) -> (u64, u64, (i64, i64)) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino(), (meta.mtime(), meta.mtime_nsec()))
}

#[cfg(not(unix))]
fn identity(_meta: &Metadata) -> (u64, u64, (i64, i64)) {
    (0, 0, (0, 0))
}

/// Copies the stat fields into the record.
pub(crate) fn fill_stat(record: &mut EntryRecord, meta: &Metadata) {
    record.size = Some(meta.len());
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        record.mode = Some(meta.mode());
        record.uid = Some(meta.uid());
        record.gid = Some(meta.gid());
        record.inode = Some(meta.ino());
        record.nlink = Some(meta.nlink());
        let time =
            |secs: i64, nanos: i64| Timestamp { secs, nanos: u32::try_from(nanos).unwrap_or(0) };
        record.mtime = Some(time(meta.mtime(), meta.mtime_nsec()));
        record.atime = Some(time(meta.atime(), meta.atime_nsec()));
        record.ctime = Some(time(meta.ctime(), meta.ctime_nsec()));
    }
}

fn skipped(mut record: EntryRecord, code: ReasonCode, message: impl Into<String>) -> Item {
    record.conclude(EntryDisposition::Skipped, Some(Reason::new(code, message)));
    Item::Decided(record)
}

fn error(mut record: EntryRecord, code: ReasonCode, message: impl Into<String>) -> Item {
    record.conclude(EntryDisposition::Error, Some(Reason::new(code, message)));
    Item::Decided(record)
}

fn special_reason(kind: EntryKind) -> (ReasonCode, &'static str) {
    match kind {
        EntryKind::Fifo => (
            ReasonCode::Fifo,
            "named pipe (FIFO): never opened, since reading could block or consume another process's data",
        ),
        EntryKind::Socket => (ReasonCode::Socket, "socket: not a file, nothing to read"),
        EntryKind::BlockDevice => {
            (ReasonCode::BlockDevice, "block device: not read (image devices separately)")
        }
        EntryKind::CharDevice => (ReasonCode::CharDevice, "character device: not read"),
        _ => (ReasonCode::UnknownType, "not a regular file, directory or symbolic link: not read"),
    }
}

impl FolderSource<'_> {
    fn hook(&self, point: HookPoint, path: &Path) -> Option<io::Error> {
        self.options.hooks.failure(point, path)
    }

    /// One directory entry (or root, when `root_dev` is `None`).
    fn visit(
        &mut self,
        path: PathBuf,
        name: &OsStr,
        relative: Vec<u8>,
        root_dev: Option<u64>,
    ) -> Item {
        let mut record = EntryRecord::at(os_bytes(path.as_os_str()));
        let is_root = root_dev.is_none();

        let lstat = match self.hook(HookPoint::Stat, &path) {
            Some(e) => Err(e),
            None => fs::symlink_metadata(&path),
        };
        let meta = match lstat {
            Ok(m) => m,
            Err(e) => {
                record.kind = EntryKind::Unknown;
                return error(record, ReasonCode::StatFailed, format!("cannot stat: {e}"));
            }
        };
        let kind = kind_of(&meta);
        record.kind = kind;
        fill_stat(&mut record, &meta);

        if !is_root && let Some(glob) = self.options.exclude.matching(&relative, os_bytes(name)) {
            return skipped(
                record,
                ReasonCode::Excluded,
                format!("excluded by --exclude {:?}", glob.as_str()),
            );
        }

        match kind {
            EntryKind::Symlink => {
                let follow = is_root || self.options.follow_symlinks;
                // Linux updates a link's access time when its target is read (readlink has
                // no O_NOATIME), so read it only where that cannot happen, when following
                // (path resolution touches it anyway) or when asked to.
                let (dev, _, _) = identity(&meta);
                if follow || self.options.link_targets || self.readlink_is_quiet(dev, &path) {
                    match fs::read_link(&path) {
                        Ok(target) => {
                            record.link_target = Some(os_bytes(target.as_os_str()).to_vec())
                        }
                        Err(e) => {
                            return error(
                                record,
                                ReasonCode::ReadLinkFailed,
                                format!("cannot read symbolic link: {e}"),
                            );
                        }
                    }
                }
                // A root given as a symbolic link is followed: the examiner named it.
                if !follow {
                    let why = if record.link_target.is_some() {
                        "symbolic link: not followed (use --follow-symlinks)"
                    } else {
                        "symbolic link: not followed (use --follow-symlinks); target not read, \
                         since on this writable mount that would update the link's access time \
                         (mount the evidence read-only, or use --link-targets)"
                    };
                    return skipped(record, ReasonCode::SymlinkNotFollowed, why);
                }
                let target = match fs::metadata(&path) {
                    Ok(t) => t,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        return skipped(
                            record,
                            ReasonCode::DanglingSymlink,
                            "dangling symbolic link: the target does not exist",
                        );
                    }
                    Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                        return skipped(
                            record,
                            ReasonCode::SymlinkLoop,
                            "symbolic link loop: too many levels of symbolic links",
                        );
                    }
                    Err(e) => {
                        return error(
                            record,
                            ReasonCode::StatFailed,
                            format!("cannot stat symbolic link target: {e}"),
                        );
                    }
                };
                // From here on the entry is described by its target.
                fill_stat(&mut record, &target);
                let target_kind = kind_of(&target);
                match target_kind {
                    EntryKind::Directory => {
                        self.enter_directory(path, record, &target, relative, root_dev, true)
                    }
                    EntryKind::File => self.content(path, record, &target, true),
                    other => {
                        let (code, why) = special_reason(other);
                        skipped(
                            record,
                            code,
                            format!("symbolic link to a {}: {why}", other.as_str()),
                        )
                    }
                }
            }
            EntryKind::Directory => {
                self.enter_directory(path, record, &meta, relative, root_dev, false)
            }
            EntryKind::File => self.content(path, record, &meta, false),
            other => {
                let (code, why) = special_reason(other);
                skipped(record, code, why)
            }
        }
    }

    fn readlink_is_quiet(&mut self, dev: u64, link: &Path) -> bool {
        let dir = link.parent().unwrap_or(link).to_path_buf();
        *self.quiet_readlink.entry(dev).or_insert_with(|| mount_keeps_atime(&dir))
    }

    fn content(&self, path: PathBuf, record: EntryRecord, meta: &Metadata, follow: bool) -> Item {
        let size = meta.len();
        if let Some(max) = self.options.max_file_size
            && size > max
        {
            return skipped(
                record,
                ReasonCode::TooLarge,
                format!("{size} bytes: larger than --max-file-size {max}"),
            );
        }
        let (dev, ino, mtime) = identity(meta);
        let hooks = self.options.hooks.clone();
        let content = FileContent { path, follow, dev, ino, size, mtime, hooks };
        Item::Content(ContentItem { record, expected_len: Some(size), content: Box::new(content) })
    }

    fn enter_directory(
        &mut self,
        path: PathBuf,
        mut record: EntryRecord,
        meta: &Metadata,
        relative: Vec<u8>,
        root_dev: Option<u64>,
        via_symlink: bool,
    ) -> Item {
        let (dev, ino, _) = identity(meta);
        if self.options.one_file_system
            && let Some(root_dev) = root_dev
            && dev != root_dev
        {
            return skipped(
                record,
                ReasonCode::OtherFileSystem,
                "mount point of another file system: not entered (--one-file-system)",
            );
        }
        if cfg!(unix) && self.stack.iter().any(|f| f.dev == dev && f.ino == ino) {
            return skipped(
                record,
                ReasonCode::DirectoryLoop,
                format!(
                    "directory loop: same directory (device {dev}, inode {ino}) as one above it on this path; not entered again"
                ),
            );
        }
        let listing = match self.hook(HookPoint::ListDir, &path) {
            Some(e) => Err(e),
            None => list_dir(&path, !via_symlink),
        };
        let (mut names, partial) = match listing {
            Ok(listing) => listing,
            Err(e) => {
                return error(
                    record,
                    ReasonCode::ListFailed,
                    format!("cannot read directory: {e}"),
                );
            }
        };
        names.sort_unstable_by(|a, b| os_bytes(a).cmp(os_bytes(b)));
        record.conclude(EntryDisposition::Directory, None);
        if let Some(e) = partial {
            record.conclude(
                EntryDisposition::Error,
                Some(Reason::new(
                    ReasonCode::ListIncomplete,
                    format!(
                        "directory listing incomplete ({} names read, then: {e}); the names read are scanned",
                        names.len()
                    ),
                )),
            );
        }
        self.stack.push(Frame {
            dir: path,
            relative,
            names,
            next: 0,
            dev,
            ino,
            root_dev: root_dev.unwrap_or(dev),
        });
        Item::Decided(record)
    }
}

/// Whether the file system holding `dir` is mounted read-only or `noatime`, so reads there
/// cannot change access times.
#[cfg(target_os = "linux")]
fn mount_keeps_atime(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else { return false };
    let mut info = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: c_path is NUL-terminated; info is writable storage for one statvfs.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), info.as_mut_ptr()) };
    if rc != 0 {
        return false;
    }
    // SAFETY: statvfs returned 0, so it filled the struct.
    let flags = unsafe { info.assume_init() }.f_flag;
    flags & (libc::ST_RDONLY | libc::ST_NOATIME) != 0
}

#[cfg(not(target_os = "linux"))]
fn mount_keeps_atime(_dir: &Path) -> bool {
    false
}

/// The names in a directory (without `.` and `..`), and the error that cut the listing
/// short, if any. On Linux the directory is opened with `O_NOATIME` when permitted, so
/// listing it does not update its access time.
#[cfg(target_os = "linux")]
fn list_dir(path: &Path, nofollow: bool) -> io::Result<(Vec<OsString>, Option<io::Error>)> {
    use std::ffi::{CStr, CString};
    use std::os::unix::ffi::{OsStrExt, OsStringExt};

    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    let base = libc::O_RDONLY
        | libc::O_DIRECTORY
        | libc::O_CLOEXEC
        | if nofollow { libc::O_NOFOLLOW } else { 0 };
    // SAFETY: c_path is a valid NUL-terminated string that outlives the call.
    let mut fd = unsafe { libc::open(c_path.as_ptr(), base | libc::O_NOATIME) };
    if fd < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EPERM) {
        // O_NOATIME needs ownership or CAP_FOWNER; fall back to a plain open.
        // SAFETY: as above.
        fd = unsafe { libc::open(c_path.as_ptr(), base) };
    }
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is an open directory descriptor we own; on success fdopendir takes it over.
    let dir = unsafe { libc::fdopendir(fd) };
    if dir.is_null() {
        let e = io::Error::last_os_error();
        // SAFETY: fdopendir failed, so fd is still ours to close, exactly once.
        unsafe { libc::close(fd) };
        return Err(e);
    }
    let mut names = Vec::new();
    let mut failure = None;
    loop {
        // readdir signals errors only through errno, so clear it first.
        // SAFETY: __errno_location returns this thread's errno slot, always valid.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: dir is a valid DIR* until closedir below; it is used by this thread only.
        let entry = unsafe { libc::readdir(dir) };
        if entry.is_null() {
            let e = io::Error::last_os_error();
            if e.raw_os_error().unwrap_or(0) != 0 {
                failure = Some(e);
            }
            break;
        }
        // SAFETY: a non-null dirent from readdir has a NUL-terminated d_name valid until the
        // next readdir/closedir on this DIR*; we copy it out immediately.
        let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) }.to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        names.push(OsString::from_vec(name.to_vec()));
    }
    // SAFETY: dir came from fdopendir and is closed exactly once (this also closes fd).
    unsafe { libc::closedir(dir) };
    Ok((names, failure))
}

#[cfg(not(target_os = "linux"))]
fn list_dir(path: &Path, _nofollow: bool) -> io::Result<(Vec<OsString>, Option<io::Error>)> {
    let mut names = Vec::new();
    for entry in fs::read_dir(path)? {
        match entry {
            Ok(e) => names.push(e.file_name()),
            Err(e) => return Ok((names, Some(e))),
        }
    }
    Ok((names, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_without_dot_entries_and_reports_missing() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("b"), b"x").unwrap();
        fs::create_dir(dir.path().join("a")).unwrap();
        let (mut names, err) = list_dir(dir.path(), true).unwrap();
        names.sort();
        assert_eq!(names, vec![OsString::from("a"), OsString::from("b")]);
        assert!(err.is_none());
        let missing = list_dir(&dir.path().join("nope"), true).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        let not_dir = list_dir(&dir.path().join("b"), true).unwrap_err();
        assert_eq!(not_dir.raw_os_error(), Some(libc::ENOTDIR));
    }
}
