//! Sources of evidence: what the scan examines, as a stream of items.
//!
//! A source walks one evidence root (a folder today; disk images, archives and videos plug
//! in here) and yields one [`Item`] per entry it meets, in a deterministic order:
//!
//! * [`Item::Decided`]: an entry whose record is complete without reading content (a
//!   directory, an entry skipped with its reason, an error such as a failed `stat`);
//! * [`Item::Content`]: an entry with bytes to read: its record so far (location and
//!   metadata) and a [`Content`] that opens the bytes on a hashing thread.
//!
//! A source never hashes or matches, and the scan never parses a file system: the seam is
//! the item. [`crate::scan`] takes items from any source through one pipeline (read once,
//! digest, decode, match, record, write).
//!
//! Sources: [`folder`] (a directory tree or single file on a mounted file system).

pub mod folder;
pub mod glob;

use std::io::Read;
use std::path::Path;

use crate::report::{EntryRecord, Reason};

/// One entry met by a source.
pub enum Item {
    /// Fully decided without reading content (directory, skipped entry, error).
    Decided(EntryRecord),
    /// Bytes to read, hash and match.
    Content(ContentItem),
}

/// An entry with content: its record so far and how to open the bytes.
pub struct ContentItem {
    /// Location and metadata; the pipeline adds digests, hashes, matches and the verdict.
    pub record: EntryRecord,
    /// The length the source expects to read, if it knows it (for progress and precounts).
    pub expected_len: Option<u64>,
    /// Opens the bytes (called once, on a hashing thread).
    pub content: Box<dyn Content>,
}

/// How to open an item's bytes.
pub trait Content: Send {
    /// Opens the content for one sequential read. An error becomes the entry's `error`
    /// record with this reason.
    fn open(self: Box<Self>) -> Result<OpenedContent, Reason>;
}

/// An item's content, opened.
pub struct OpenedContent {
    /// The bytes, read once from start to end.
    pub reader: Box<dyn ContentReader>,
    /// Whether reading leaves the evidence's access times alone (`O_NOATIME`, a read-only
    /// mount, an image file opened without updating times); `None` where it does not apply.
    pub noatime: Option<bool>,
}

/// The bytes of an item, and a check that they stayed the same while read.
pub trait ContentReader: Read + Send {
    /// Called after the reader returned end of file: why the bytes read may not be the
    /// entry's content (it changed while being read), or `None`. `bytes_read` is the total.
    fn changed_while_read(&mut self, bytes_read: u64) -> Option<Reason> {
        let _ = bytes_read;
        None
    }
}

/// How sources walk the evidence.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// Follow symbolic links (inside the evidence root only).
    pub follow_symlinks: bool,
    /// Read symbolic-link targets even where that may update the link's access time.
    pub link_targets: bool,
    /// Do not enter directories on another device than their evidence root.
    pub one_file_system: bool,
    /// Regular files larger than this are skipped (recorded, not read).
    pub max_file_size: Option<u64>,
    /// Entries to skip (see [`glob`]).
    pub exclude: glob::ExcludeSet,
    /// Test hooks (simulated failures).
    #[doc(hidden)]
    pub hooks: folder::TestHooks,
}

/// The source for one evidence root. Every root is a folder source today (a directory
/// tree, or a single file); content-detected disk images and archives will be chosen here.
pub fn open_root<'a>(
    root: &Path,
    options: &'a SourceOptions,
) -> Box<dyn Iterator<Item = Item> + 'a> {
    Box::new(folder::FolderSource::new(root.to_path_buf(), options))
}
