//! The folder source: a directory tree (or a single file) on a mounted file system,
//! walked depth-first with each directory's names sorted by bytes, on the calling thread.
//! It decides everything that needs no file content (directories, skips, stat errors) and
//! hands regular files out as [`Item::Content`] whose [`Content`] opens them read-only with
//! `O_NOATIME` on a hashing thread.
//!
//! * **Depth.** Every lookup is relative to an open directory descriptor (`fstatat`,
//!   `openat`), so a tree deeper than `PATH_MAX` is walked to the bottom; record paths are
//!   the root as given joined with the names, as bytes, whatever their length. At most
//!   [`MAX_OPEN_DIRS`] directories on the current path stay open; the others are closed and
//!   reopened by name from their nearest open ancestor (checked to be the same directory)
//!   when the walk comes back to them.
//! * **Access times.** Directories and files are opened with `O_NOATIME`. Where it is
//!   refused (not the owner, no `CAP_FOWNER`) and the mount is neither read-only nor
//!   `noatime`, the entry is not read (an error with [`ReasonCode::AtimeWouldChange`])
//!   unless [`SourceOptions::allow_atime_changes`]; then it is read and its record says
//!   `noatime: false`.
//! * **Symbolic links** (with [`SourceOptions::follow_symlinks`]) are resolved by the source
//!   itself, component by component, inside their evidence root: an absolute target is a
//!   path on the evidence's file system (the root plus the target, as a mounted image sees
//!   it), `..` never climbs above the root (such a link is skipped with
//!   [`ReasonCode::SymlinkOutsideEvidence`]), nested links are resolved the same way up to
//!   [`MAX_LINK_HOPS`] links. Nothing outside the root is ever looked up or read.
//!
//! Memory: the names of each directory on the current path (not of the whole tree).

use std::collections::{HashMap, VecDeque};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::sys::{self, AsDir, AtimePolicy, Dir, DirRef, Name, OpenError, OpenFor, Stat};
use super::{Content, ContentItem, ContentReader, Item, OpenedContent, SourceOptions};
use crate::report::{EntryDisposition, EntryKind, EntryRecord, Reason, ReasonCode};

/// Directories on the current path kept open at once (besides the root); deeper walks
/// close the shallowest and reopen it when needed.
pub const MAX_OPEN_DIRS: usize = 64;
/// Symbolic links followed while resolving one link (as the kernel's `ELOOP` limit).
pub const MAX_LINK_HOPS: usize = 40;

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
    /// Opening a file or directory with `O_NOATIME`: any error returned makes it act as
    /// refused (`EPERM`), as for a user who does not own the entry.
    NoAtime,
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
    /// Overrides the mount check (read-only or `noatime`: `true`).
    pub mount_keeps_atime: Option<bool>,
}

impl fmt::Debug for TestHooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestHooks")
            .field("fail", &self.fail.is_some())
            .field("after_open", &self.after_open.is_some())
            .field("mount_keeps_atime", &self.mount_keeps_atime)
            .finish()
    }
}

impl TestHooks {
    fn failure(&self, point: HookPoint, path: &Path) -> Option<io::Error> {
        self.fail.as_ref().and_then(|f| f(point, path))
    }

    fn atime_policy(&self, allow_changes: bool, path: &Path) -> AtimePolicy {
        AtimePolicy {
            allow_changes,
            simulate_refusal: self.failure(HookPoint::NoAtime, path).is_some(),
            mount_override: self.mount_keeps_atime,
        }
    }
}

fn path_of(bytes: &[u8]) -> PathBuf {
    crate::pathbytes::path_from_bytes(bytes)
}

/// The message of an entry not read because its access time would change.
fn atime_reason(what: &str) -> Reason {
    Reason::new(ReasonCode::AtimeWouldChange, format!("{what}: {}", sys::ATIME_REFUSAL))
}

/// How a file's bytes are reached.
enum Location {
    /// By path (short paths outside followed links); `follow` allows a final link (a root).
    Path { path: PathBuf, follow: bool },
    /// By name in an open directory (deep paths, and anything reached through a link).
    At { dir: Arc<Dir>, name: Name },
}

/// A regular file to open and read, with what `fstatat` said when it was listed.
struct FileContent {
    /// The record's path (hooks and messages).
    path: PathBuf,
    location: Location,
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    allow_atime_changes: bool,
    hooks: TestHooks,
}

impl Content for FileContent {
    fn open(self: Box<Self>) -> Result<OpenedContent, Reason> {
        let policy = self.hooks.atime_policy(self.allow_atime_changes, &self.path);
        let opened = match self.hooks.failure(HookPoint::Open, &self.path) {
            Some(e) => Err(OpenError::Io(e)),
            None => match &self.location {
                Location::Path { path, follow } => sys::name(path.as_os_str())
                    .map_err(OpenError::Io)
                    .and_then(|c| sys::open_at(None, &c, OpenFor::Reading, *follow, policy)),
                Location::At { dir, name } => {
                    sys::open_at(Some(dir.as_dir()), name, OpenFor::Reading, false, policy)
                }
            },
        };
        let (fd, noatime) = opened.map_err(|e| match e {
            OpenError::AtimeWouldChange => atime_reason("not read"),
            OpenError::Io(e) => Reason::new(ReasonCode::OpenFailed, format!("cannot open: {e}")),
        })?;
        match sys::stat_open(fd.as_dir()) {
            Ok(st) if st.kind() == EntryKind::File && st.dev == self.dev && st.ino == self.ino => {}
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
            reader: Box::new(FileReader { file: File::from(fd), position: 0, content: *self }),
            noatime: Some(noatime),
        })
    }
}

/// An opened regular file, read with positioned reads (on Windows a positioned read moves
/// the handle's cursor, which [`FileReader::random_access`]'s clone shares).
struct FileReader {
    file: File,
    position: u64,
    content: FileContent,
}

impl Read for FileReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.content.hooks.failure(HookPoint::Read, &self.content.path) {
            return Err(e);
        }
        let n = crate::openfile::read_at(&self.file, buf, self.position)?;
        self.position += n as u64;
        Ok(n)
    }
}

impl ContentReader for FileReader {
    fn random_access(&self) -> Option<super::archive::ArchiveBytes> {
        // A second descriptor on the same open file, read with positioned reads only.
        let file = self.file.try_clone().ok()?;
        let len = file.metadata().ok()?.len();
        Some(std::sync::Arc::new(FileBytes { file, len }))
    }

    fn changed_while_read(&mut self, bytes_read: u64) -> Option<Reason> {
        let st = sys::stat_open(self.file.as_dir()).ok()?;
        let expected = self.content.size;
        if st.size == expected && bytes_read == expected && st.mtime == self.content.mtime {
            return None;
        }
        Some(Reason::new(
            ReasonCode::ChangedWhileRead,
            format!(
                "file changed while being read: {expected} bytes when listed, {bytes_read} bytes \
                 read, {} bytes after reading; the digests are of the bytes read",
                st.size
            ),
        ))
    }
}

/// An evidence file opened read-only (e.g. by [`crate::analyze::open_evidence`]) as a byte
/// store with positioned reads, to list it as an archive.
///
/// # Errors
/// When its length cannot be read.
pub fn file_bytes(file: File) -> io::Result<super::archive::ArchiveBytes> {
    let len = file.metadata()?.len();
    Ok(std::sync::Arc::new(FileBytes { file, len }))
}

/// An opened file as a byte store (positioned reads), for archives found in it.
struct FileBytes {
    file: File,
    len: u64,
}

impl super::image::DiskImage for FileBytes {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let want = self.len.saturating_sub(offset).min(buf.len() as u64) as usize;
        crate::openfile::read_at(&self.file, &mut buf[..want], offset)
    }

    fn container(&self) -> String {
        "file".to_string()
    }
}

/// How a closed directory on the current path is opened again.
enum Reopen {
    /// The evidence root (never closed).
    Root,
    /// By name in its parent frame's directory.
    Name(Name),
    /// Entered through a followed link: by its real path from the root.
    FromRoot(Vec<Name>),
}

/// A directory on the current path.
struct Frame {
    /// Open for lookups; `None` when closed to bound descriptors.
    fd: Option<Arc<Dir>>,
    reopen: Reopen,
    /// Length of its record path in [`FolderSource::path`].
    path_len: usize,
    /// Length of its root-relative path in [`FolderSource::relative`].
    relative_len: usize,
    /// This directory or one above it was entered through a followed link.
    through_link: bool,
    names: Vec<OsString>,
    next: usize,
    dev: u64,
    ino: u64,
    root_dev: u64,
}

/// Walks one evidence root (see the module docs); an iterator of [`Item`]s.
pub struct FolderSource<'a> {
    /// The root as given, until it is visited.
    pending: Option<PathBuf>,
    /// The root as given (messages).
    root: PathBuf,
    stack: Vec<Frame>,
    /// Record path of the entry being visited: the root as given, then names.
    path: Vec<u8>,
    /// Root-relative path of the entry being visited (`--exclude`).
    relative: Vec<u8>,
    options: &'a SourceOptions,
    /// Per device: whether reading a link leaves its access time alone (read-only or
    /// noatime mount).
    quiet_readlink: HashMap<u64, bool>,
}

impl<'a> FolderSource<'a> {
    /// A walk of `root` (a directory, a file, or a link to one: a root is always followed).
    pub fn new(root: PathBuf, options: &'a SourceOptions) -> Self {
        FolderSource {
            pending: Some(root.clone()),
            root,
            stack: Vec::new(),
            path: Vec::new(),
            relative: Vec::new(),
            options,
            quiet_readlink: Default::default(),
        }
    }
}

impl Iterator for FolderSource<'_> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        loop {
            let Some(top) = self.stack.last_mut() else {
                let root = self.pending.take()?;
                return Some(self.visit_root(root));
            };
            if top.next >= top.names.len() {
                self.stack.pop();
                continue;
            }
            let name = std::mem::take(&mut top.names[top.next]);
            top.next += 1;
            let (path_len, relative_len) = (top.path_len, top.relative_len);
            self.path.truncate(path_len);
            if !self.path.last().is_some_and(|&b| sys::is_separator(b)) {
                self.path.push(sys::SEPARATOR);
            }
            self.path.extend_from_slice(name.as_encoded_bytes());
            self.relative.truncate(relative_len);
            if !self.relative.is_empty() {
                self.relative.push(b'/');
            }
            self.relative.extend_from_slice(name.as_encoded_bytes());
            return Some(self.visit_child(&name));
        }
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

/// A symbolic link whose target could not be read (a root or an entry of a walk).
fn link_unreadable(record: EntryRecord, e: &io::Error) -> Item {
    error(record, ReasonCode::ReadLinkFailed, format!("cannot read symbolic link: {e}"))
}

/// Why an entry of a type that is never read was skipped.
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

/// A followed link's target, resolved inside the evidence root.
enum Resolved {
    /// The real path from the root (no links in it) and what is there.
    Found {
        components: Vec<Name>,
        stat: Stat,
    },
    /// `..` would climb above the root.
    Outside,
    Dangling(String),
    Loop,
    Failed(io::Error),
}

/// Opens the directory at `components` below `root`, each step with `O_NOFOLLOW` (for
/// lookups only: opening reads nothing, so no access time changes). `None`: the root.
fn open_chain(root: DirRef<'_>, components: &[Name]) -> io::Result<Option<Dir>> {
    let mut cur: Option<Dir> = None;
    for c in components {
        let at = cur.as_ref().map_or(root, |f| f.as_dir());
        cur = Some(open_lookup(at, c)?);
    }
    Ok(cur)
}

/// A directory opened for lookups in it (never listed through this descriptor).
fn open_lookup(dir: DirRef<'_>, name: &Name) -> io::Result<Dir> {
    let lookup = AtimePolicy { allow_changes: true, simulate_refusal: false, mount_override: None };
    sys::open_at(Some(dir), name, OpenFor::Listing, false, lookup).map(|(fd, _)| fd).map_err(|e| {
        match e {
            OpenError::Io(e) => e,
            OpenError::AtimeWouldChange => {
                io::Error::new(io::ErrorKind::PermissionDenied, "opening for a lookup was refused")
            }
        }
    })
}

/// Resolves `target` (a link in the directory at `dir` below `root`) inside the root.
fn resolve(root: DirRef<'_>, dir: Vec<Name>, target: &[u8]) -> Resolved {
    let mut stack = if sys::link_is_absolute(target) { Vec::new() } else { dir };
    let mut queue: VecDeque<Vec<u8>> = sys::link_components(target).map(<[u8]>::to_vec).collect();
    let mut cur = match open_chain(root, &stack) {
        Ok(fd) => fd,
        Err(e) => return Resolved::Failed(e),
    };
    let mut hops = 1;
    let mut last: Option<Stat> = None;
    while let Some(component) = queue.pop_front() {
        if component == b".." {
            if stack.pop().is_none() {
                return Resolved::Outside;
            }
            cur = match open_chain(root, &stack) {
                Ok(fd) => fd,
                Err(e) => return Resolved::Failed(e),
            };
            last = None;
            continue;
        }
        let Ok(name) = sys::name_from_bytes(component) else {
            return Resolved::Dangling("a target component contains a NUL byte".into());
        };
        let at = cur.as_ref().map_or(root, |f| f.as_dir());
        let st = match sys::stat_at(Some(at), &name, false) {
            Ok(st) => st,
            Err(e) if sys::is_missing(&e) => {
                return Resolved::Dangling(format!(
                    "{} does not exist",
                    show_components(&stack, Some(&name))
                ));
            }
            Err(e) => return Resolved::Failed(e),
        };
        if st.kind() == EntryKind::Symlink {
            hops += 1;
            if hops > MAX_LINK_HOPS {
                return Resolved::Loop;
            }
            let next = match sys::read_link_at(Some(at), &name) {
                Ok(t) => t,
                Err(e) => return Resolved::Failed(e),
            };
            if sys::link_is_absolute(&next) {
                stack.clear();
                cur = None;
            }
            for c in sys::link_components(&next).rev() {
                queue.push_front(c.to_vec());
            }
            continue;
        }
        if !queue.is_empty() {
            if st.kind() != EntryKind::Directory {
                return Resolved::Dangling(format!(
                    "{} is not a directory",
                    show_components(&stack, Some(&name))
                ));
            }
            cur = match open_lookup(at, &name) {
                Ok(fd) => Some(fd),
                Err(e) => return Resolved::Failed(e),
            };
        }
        stack.push(name);
        last = Some(st);
    }
    let stat = match last {
        Some(st) => st,
        None => match sys::stat_open(cur.as_ref().map_or(root, |f| f.as_dir())) {
            Ok(st) => st,
            Err(e) => return Resolved::Failed(e),
        },
    };
    Resolved::Found { components: stack, stat }
}

/// `/a/b/name` (root-relative, as the evidence sees it).
fn show_components(stack: &[Name], name: Option<&Name>) -> String {
    let mut out = String::new();
    for c in stack.iter().chain(name) {
        out.push('/');
        out.push_str(&String::from_utf8_lossy(c.as_bytes()));
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

impl FolderSource<'_> {
    fn hook(&self, point: HookPoint, path: &Path) -> Option<io::Error> {
        self.options.hooks.failure(point, path)
    }

    fn policy(&self, path: &Path) -> AtimePolicy {
        self.options.hooks.atime_policy(self.options.allow_atime_changes, path)
    }

    /// The root: followed if it is a link (the examiner named it).
    fn visit_root(&mut self, root: PathBuf) -> Item {
        self.path = root.as_os_str().as_encoded_bytes().to_vec();
        self.relative.clear();
        let mut record = EntryRecord::at(self.path.clone());
        let c_root = match sys::name(root.as_os_str()) {
            Ok(c) => c,
            Err(e) => return error(record, ReasonCode::StatFailed, format!("cannot stat: {e}")),
        };
        let lstat = match self.hook(HookPoint::Stat, &root) {
            Some(e) => Err(e),
            None => sys::stat_at(None, &c_root, false),
        };
        let mut st = match lstat {
            Ok(st) => st,
            Err(e) => {
                record.kind = EntryKind::Unknown;
                return error(record, ReasonCode::StatFailed, format!("cannot stat: {e}"));
            }
        };
        record.kind = st.kind();
        st.fill(&mut record);
        if st.kind() == EntryKind::Symlink {
            match sys::read_link_at(None, &c_root) {
                Ok(target) => record.link_target = Some(target),
                Err(e) => return link_unreadable(record, &e),
            }
            st = match sys::stat_at(None, &c_root, true) {
                Ok(t) => t,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return skipped(
                        record,
                        ReasonCode::DanglingSymlink,
                        "dangling symbolic link: the target does not exist",
                    );
                }
                Err(e) if sys::is_link_loop(&e) => {
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
            st.fill(&mut record);
        }
        match st.kind() {
            EntryKind::Directory => {
                let policy = self.policy(&root);
                let opened = match self.hook(HookPoint::ListDir, &root) {
                    Some(e) => Err(OpenError::Io(e)),
                    None => sys::open_at(None, &c_root, OpenFor::Listing, true, policy),
                };
                self.enter(record, &st, opened, Reopen::Root, false, None)
            }
            EntryKind::File => {
                let location = Location::Path { path: root, follow: true };
                self.content(record, &st, location)
            }
            other => {
                let (code, why) = special_reason(other);
                skipped(record, code, why)
            }
        }
    }

    /// The directory descriptor of the top frame, reopened if it was closed.
    fn top_dir(&mut self) -> io::Result<Arc<Dir>> {
        let top = self.stack.len() - 1;
        if let Some(fd) = &self.stack[top].fd {
            return Ok(fd.clone());
        }
        // Reopen from the nearest open ancestor (the root frame is always open), or from
        // the root for a frame entered through a link.
        let mut start = top;
        while self.stack[start].fd.is_none()
            && !matches!(self.stack[start].reopen, Reopen::FromRoot(_))
        {
            start -= 1;
        }
        let root_fd = self.stack[0].fd.clone().expect("the root frame stays open");
        let mut cur: Option<Arc<Dir>> = self.stack[start].fd.clone();
        for i in start..=top {
            if i == start && cur.is_some() {
                continue;
            }
            let fd = match &self.stack[i].reopen {
                Reopen::Root => unreachable!("the root frame stays open"),
                Reopen::FromRoot(components) => match open_chain(root_fd.as_dir(), components)? {
                    Some(fd) => fd,
                    None => root_fd.as_dir().try_clone_to_owned()?,
                },
                Reopen::Name(name) => {
                    let parent = cur.as_ref().expect("parent opened first");
                    open_lookup(parent.as_dir(), name)?
                }
            };
            let st = sys::stat_open(fd.as_dir())?;
            let frame = &mut self.stack[i];
            if st.dev != frame.dev || st.ino != frame.ino {
                return Err(io::Error::other(
                    "its directory was replaced while the walk was below it",
                ));
            }
            let fd = Arc::new(fd);
            // Keep the ones the walk comes back to next; the rest close as the chain
            // moves on (one descriptor at a time above them).
            if i + MAX_OPEN_DIRS > top {
                frame.fd = Some(fd.clone());
            }
            cur = Some(fd);
        }
        self.bound_open_dirs();
        Ok(cur.expect("top reopened"))
    }

    /// Closes the shallowest open directories (never the root) beyond [`MAX_OPEN_DIRS`].
    fn bound_open_dirs(&mut self) {
        let mut open = self.stack.iter().skip(1).filter(|f| f.fd.is_some()).count();
        for frame in self.stack.iter_mut().skip(1) {
            if open <= MAX_OPEN_DIRS {
                break;
            }
            if frame.fd.take().is_some() {
                open -= 1;
            }
        }
    }

    /// The real path (from the root, no links) of the top frame's directory.
    fn top_components(&self) -> Vec<Name> {
        let mut reversed = Vec::new();
        for frame in self.stack.iter().rev() {
            match &frame.reopen {
                Reopen::Root => break,
                Reopen::Name(name) => reversed.push(name.clone()),
                Reopen::FromRoot(components) => {
                    let mut out = components.clone();
                    out.extend(reversed.into_iter().rev());
                    return out;
                }
            }
        }
        reversed.reverse();
        reversed
    }

    /// One entry of the top frame's directory; `self.path` and `self.relative` are its.
    fn visit_child(&mut self, name: &OsStr) -> Item {
        let mut record = EntryRecord::at(self.path.clone());
        let path = path_of(&self.path);
        let dir = match self.top_dir() {
            Ok(dir) => dir,
            Err(e) => {
                record.kind = EntryKind::Unknown;
                return error(
                    record,
                    ReasonCode::StatFailed,
                    format!("cannot stat: reopening its directory failed: {e}"),
                );
            }
        };
        let c_name = match sys::name(name) {
            Ok(c) => c,
            Err(e) => return error(record, ReasonCode::StatFailed, format!("cannot stat: {e}")),
        };
        let lstat = match self.hook(HookPoint::Stat, &path) {
            Some(e) => Err(e),
            None => sys::stat_at(Some(dir.as_dir()), &c_name, false),
        };
        let st = match lstat {
            Ok(st) => st,
            Err(e) => {
                record.kind = EntryKind::Unknown;
                return error(record, ReasonCode::StatFailed, format!("cannot stat: {e}"));
            }
        };
        let kind = st.kind();
        record.kind = kind;
        st.fill(&mut record);

        if let Some(glob) = self.options.exclude.matching(&self.relative, name.as_encoded_bytes()) {
            return skipped(
                record,
                ReasonCode::Excluded,
                format!("excluded by --exclude {:?}", glob.as_str()),
            );
        }
        let top = self.stack.last().expect("a child has a parent frame");
        let (root_dev, through_link) = (top.root_dev, top.through_link);
        match kind {
            EntryKind::Symlink => self.symlink(record, &st, &dir, c_name, &path),
            EntryKind::Directory => {
                let opened = match self.hook(HookPoint::ListDir, &path) {
                    Some(e) => Err(OpenError::Io(e)),
                    None => sys::open_at(
                        Some(dir.as_dir()),
                        &c_name,
                        OpenFor::Listing,
                        false,
                        self.policy(&path),
                    ),
                };
                self.enter(record, &st, opened, Reopen::Name(c_name), through_link, Some(root_dev))
            }
            EntryKind::File => {
                let location = if through_link || self.path.len() >= sys::PATH_OPEN_LIMIT {
                    Location::At { dir, name: c_name }
                } else {
                    Location::Path { path, follow: false }
                };
                self.content(record, &st, location)
            }
            other => {
                let (code, why) = special_reason(other);
                skipped(record, code, why)
            }
        }
    }

    fn symlink(
        &mut self,
        mut record: EntryRecord,
        st: &Stat,
        dir: &Arc<Dir>,
        name: Name,
        path: &Path,
    ) -> Item {
        let follow = self.options.follow_symlinks;
        // Linux updates a link's access time when its target is read (readlink has no
        // O_NOATIME), so read it only where that cannot happen, when following (resolving
        // reads it anyway) or when asked to.
        if follow || self.options.link_targets || self.readlink_is_quiet(st.dev, dir) {
            match sys::read_link_at(Some(dir.as_dir()), &name) {
                Ok(target) => record.link_target = Some(target),
                Err(e) => return link_unreadable(record, &e),
            }
        }
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
        let target = record.link_target.clone().unwrap_or_default();
        let shown = String::from_utf8_lossy(&target).into_owned();
        let root_fd = self.stack[0].fd.clone().expect("the root frame stays open");
        let components = match resolve(root_fd.as_dir(), self.top_components(), &target) {
            Resolved::Found { components, stat } => {
                // From here on the entry is described by its target.
                stat.fill(&mut record);
                (components, stat)
            }
            Resolved::Outside => {
                return skipped(
                    record,
                    ReasonCode::SymlinkOutsideEvidence,
                    format!(
                        "symbolic link to {shown:?}: resolves above the evidence root {}; not \
                         followed (nothing outside the evidence is read)",
                        self.root.display()
                    ),
                );
            }
            Resolved::Dangling(what) => {
                let absolute = if sys::link_is_absolute(&target) {
                    " (an absolute target is a path on the evidence's own file system, looked \
                     up inside the evidence root, never on this machine)"
                } else {
                    ""
                };
                return skipped(
                    record,
                    ReasonCode::DanglingSymlink,
                    format!(
                        "dangling symbolic link to {shown:?}: {what} inside the evidence root {}{absolute}",
                        self.root.display()
                    ),
                );
            }
            Resolved::Loop => {
                return skipped(
                    record,
                    ReasonCode::SymlinkLoop,
                    format!(
                        "symbolic link loop: more than {MAX_LINK_HOPS} links while resolving {shown:?}"
                    ),
                );
            }
            Resolved::Failed(e) => {
                return error(
                    record,
                    ReasonCode::StatFailed,
                    format!("cannot stat symbolic link target {shown:?}: {e}"),
                );
            }
        };
        let (components, target_st) = components;
        let root_dev = self.stack.last().map_or(target_st.dev, |f| f.root_dev);
        match target_st.kind() {
            EntryKind::Directory => {
                let policy = self.policy(path);
                let opened = match self.hook(HookPoint::ListDir, path) {
                    Some(e) => Err(OpenError::Io(e)),
                    None => self.open_resolved_dir(&root_fd, &components, policy),
                };
                self.enter(
                    record,
                    &target_st,
                    opened,
                    Reopen::FromRoot(components),
                    true,
                    Some(root_dev),
                )
            }
            EntryKind::File => {
                let (last, parents) = components.split_last().expect("a file has a name");
                let parent = match open_chain(root_fd.as_dir(), parents) {
                    Ok(Some(fd)) => Arc::new(fd),
                    Ok(None) => root_fd.clone(),
                    Err(e) => {
                        return error(
                            record,
                            ReasonCode::OpenFailed,
                            format!("cannot open the directory of {shown:?}: {e}"),
                        );
                    }
                };
                self.content(record, &target_st, Location::At { dir: parent, name: last.clone() })
            }
            other => {
                let (code, why) = special_reason(other);
                skipped(record, code, format!("symbolic link to a {}: {why}", other.as_str()))
            }
        }
    }

    /// Opens a directory found by [`resolve`] for listing.
    fn open_resolved_dir(
        &self,
        root_fd: &Arc<Dir>,
        components: &[Name],
        policy: AtimePolicy,
    ) -> Result<(Dir, bool), OpenError> {
        let Some((last, parents)) = components.split_last() else {
            let dot = sys::name_from_bytes(b".".to_vec()).expect("no NUL");
            return sys::open_at(Some(root_fd.as_dir()), &dot, OpenFor::Listing, true, policy);
        };
        let parent = open_chain(root_fd.as_dir(), parents).map_err(OpenError::Io)?;
        let at = parent.as_ref().map_or(root_fd.as_dir(), |f| f.as_dir());
        sys::open_at(Some(at), last, OpenFor::Listing, false, policy)
    }

    fn readlink_is_quiet(&mut self, dev: u64, dir: &Arc<Dir>) -> bool {
        let forced = self.options.hooks.mount_keeps_atime;
        *self
            .quiet_readlink
            .entry(dev)
            .or_insert_with(|| forced.unwrap_or_else(|| sys::mount_keeps_atime(dir.as_dir())))
    }

    fn content(&self, record: EntryRecord, st: &Stat, location: Location) -> Item {
        let size = st.size;
        if let Some(max) = self.options.max_file_size
            && size > max
        {
            return skipped(
                record,
                ReasonCode::TooLarge,
                format!("{size} bytes: larger than --max-file-size {max}"),
            );
        }
        let content = FileContent {
            path: path_of(&record.path),
            location,
            dev: st.dev,
            ino: st.ino,
            size,
            mtime: st.mtime,
            allow_atime_changes: self.options.allow_atime_changes,
            hooks: self.options.hooks.clone(),
        };
        Item::Content(ContentItem { record, expected_len: Some(size), content: Box::new(content) })
    }

    /// A directory: checked, opened and listed; pushed as the new top frame.
    fn enter(
        &mut self,
        mut record: EntryRecord,
        st: &Stat,
        opened: Result<(Dir, bool), OpenError>,
        reopen: Reopen,
        through_link: bool,
        root_dev: Option<u64>,
    ) -> Item {
        if self.options.one_file_system
            && let Some(root_dev) = root_dev
            && st.dev != root_dev
        {
            return skipped(
                record,
                ReasonCode::OtherFileSystem,
                "mount point of another file system: not entered (--one-file-system)",
            );
        }
        if self.stack.iter().any(|f| f.dev == st.dev && f.ino == st.ino) {
            return skipped(
                record,
                ReasonCode::DirectoryLoop,
                format!(
                    "directory loop: same directory (device {}, inode {}) as one above it on this path; not entered again",
                    st.dev, st.ino
                ),
            );
        }
        let (fd, noatime) = match opened {
            Ok(opened) => opened,
            Err(OpenError::AtimeWouldChange) => {
                record
                    .conclude(EntryDisposition::Error, Some(atime_reason("directory not listed")));
                return Item::Decided(record);
            }
            Err(OpenError::Io(e)) => {
                return error(
                    record,
                    ReasonCode::ListFailed,
                    format!("cannot read directory: {e}"),
                );
            }
        };
        match sys::stat_open(fd.as_dir()) {
            Ok(now) if now.dev == st.dev && now.ino == st.ino => {}
            Ok(_) => {
                return error(
                    record,
                    ReasonCode::Replaced,
                    "the directory was replaced between listing and opening; not entered",
                );
            }
            Err(e) => {
                return error(
                    record,
                    ReasonCode::ListFailed,
                    format!("cannot stat the opened directory: {e}"),
                );
            }
        }
        let listing = fd.try_clone().and_then(sys::list);
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
        names.sort_unstable_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
        // Directories say so only when listing them may have changed their access time.
        if !noatime {
            record.noatime = Some(false);
        }
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
            fd: Some(Arc::new(fd)),
            reopen,
            path_len: self.path.len(),
            relative_len: self.relative.len(),
            through_link,
            names,
            next: 0,
            dev: st.dev,
            ino: st.ino,
            root_dev: root_dev.unwrap_or(st.dev),
        });
        self.bound_open_dirs();
        Item::Decided(record)
    }
}

/// The record of an evidence root that is not walked because root `by` covers it: `same`
/// when both name the same place, else it lies inside `by`. Its entries are reported
/// under `by`, once.
pub fn covered_root(root: &Path, by: &Path, same: bool) -> Item {
    let mut record = EntryRecord::at(root.as_os_str().as_encoded_bytes().to_vec());
    record.kind = EntryKind::Unknown;
    if let Ok(c) = sys::name(root.as_os_str())
        && let Ok(st) = sys::stat_at(None, &c, false)
    {
        record.kind = st.kind();
        st.fill(&mut record);
    }
    let why = if same {
        format!(
            "evidence root given twice: the same place as evidence root {}, which is scanned; \
             its entries are reported there, once",
            by.display()
        )
    } else {
        format!(
            "evidence root inside evidence root {}, which is scanned; its entries are \
             reported there, once",
            by.display()
        )
    };
    skipped(record, ReasonCode::Duplicate, why)
}

/// How an evidence root stands for access times, before a scan (see
/// [`atime_protection`]).
#[derive(Debug)]
pub enum AtimeProtection {
    /// The root's file system is mounted read-only or `noatime`: nothing read there can
    /// change an access time.
    Mount,
    /// `O_NOATIME` was granted on the root (you own it or have `CAP_FOWNER`). Entries owned
    /// by others may still refuse it; each such entry is reported.
    NoAtime,
    /// `O_NOATIME` was refused on the root itself and the mount records access times:
    /// reading it would change the evidence.
    Refused,
    /// The root could not be opened to check (the scan reports why).
    Unknown(io::Error),
}

/// Checks whether reading `root` can leave access times alone: opens it (a directory or a
/// file, following a link) with `O_NOATIME` and reads the mount's flags. Reads nothing.
pub fn atime_protection(root: &Path, hooks: &TestHooks) -> AtimeProtection {
    let c_root = match sys::name(root.as_os_str()) {
        Ok(c) => c,
        Err(e) => return AtimeProtection::Unknown(e),
    };
    // Refused O_NOATIME: ask the open to fail rather than fall back, to tell the cases
    // apart; opening (without reading) changes no access time.
    let strict = AtimePolicy {
        allow_changes: false,
        simulate_refusal: hooks.failure(HookPoint::NoAtime, root).is_some(),
        mount_override: hooks.mount_keeps_atime,
    };
    match sys::open_at(None, &c_root, OpenFor::Reading, true, strict) {
        Ok((fd, _)) => {
            let mount =
                hooks.mount_keeps_atime.unwrap_or_else(|| sys::mount_keeps_atime(fd.as_dir()));
            if mount { AtimeProtection::Mount } else { AtimeProtection::NoAtime }
        }
        Err(OpenError::AtimeWouldChange) => AtimeProtection::Refused,
        Err(OpenError::Io(e)) => AtimeProtection::Unknown(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_stays_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/f"), b"x").unwrap();
        let policy =
            AtimePolicy { allow_changes: true, simulate_refusal: false, mount_override: None };
        let root_name = sys::name(root.as_os_str()).unwrap();
        let (root_fd, _) = match sys::open_at(None, &root_name, OpenFor::Listing, true, policy) {
            Ok(opened) => opened,
            Err(_) => panic!("cannot open the test root"),
        };
        let fd = root_fd.as_dir();
        let c = |s: &str| sys::name_from_bytes(s.as_bytes().to_vec()).unwrap();
        let found = |r: Resolved| match r {
            Resolved::Found { components, .. } => components
                .iter()
                .map(|c| String::from_utf8_lossy(c.as_bytes()).into_owned())
                .collect::<Vec<_>>(),
            Resolved::Outside => vec!["<outside>".into()],
            Resolved::Dangling(w) => vec![format!("<dangling {w}>")],
            Resolved::Loop => vec!["<loop>".into()],
            Resolved::Failed(e) => vec![format!("<failed {e}>")],
        };
        assert_eq!(found(resolve(fd, vec![c("a")], b"b/f")), ["a", "b", "f"]);
        assert_eq!(found(resolve(fd, vec![c("a"), c("b")], b"/a/b/f")), ["a", "b", "f"]);
        assert_eq!(found(resolve(fd, vec![c("a"), c("b")], b"../../a/./b//f")), ["a", "b", "f"]);
        assert_eq!(found(resolve(fd, vec![c("a")], b"..")), Vec::<String>::new());
        assert_eq!(found(resolve(fd, vec![c("a")], b"../..")), ["<outside>"]);
        assert_eq!(found(resolve(fd, vec![], b"/etc/passwd")), ["<dangling /etc does not exist>"]);
        assert_eq!(
            found(resolve(fd, vec![], b"a/b/f/x")),
            ["<dangling /a/b/f is not a directory>"]
        );
    }
}
