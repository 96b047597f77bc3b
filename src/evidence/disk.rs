//! The disk-image source: an evidence root that is a regular file whose *content* is a
//! disk image (an EWF container by its `EVF` signature, or raw media holding a partition
//! table with plausible entries, or a FAT, exFAT or NTFS boot sector at offset 0 or an
//! ext2/3/4 superblock at 1024; never the file name) is read through its volumes and file
//! systems instead of being hashed as one file.
//! The container is chosen in [`open_container`]; everything below reads a [`DiskImage`].
//!
//! Records, in this order (paths are bytes: the root as given, then `/pN`, then the path in
//! the file system):
//!
//! 1. the image file itself: kind `file`, **skipped** with [`ReasonCode::DiskImage`] (it
//!    is not hashed whole; what it holds follows), or an **error** with
//!    [`ReasonCode::PartitionTableDamaged`] when the table is damaged (CRC mismatch, EBR
//!    loop), with every problem in the message;
//! 2. per volume `IMAGE/pN` (`p0`: the whole media, no partition table): kind `directory`,
//!    disposition `directory` when its file system was read; an error with
//!    [`ReasonCode::UnknownFileSystem`] when it is neither FAT12/16/32, exFAT, NTFS nor
//!    ext2/3/4 (the
//!    file system is detected by [`fs::open`]),
//!    [`ReasonCode::PartitionPastEnd`] when it reaches past the media (its files are
//!    still listed as far as they can be read), [`ReasonCode::FileSystemDamaged`] when a
//!    directory could not be walked whole or the NTFS `$MFT` cannot be read;
//! 3. per file-system entry `IMAGE/pN/dir/name`: first those read from no media run
//!    (directories, empty and resident files, skipped and error entries) depth-first, names
//!    sorted by bytes in each directory (a deleted entry may share its name with a live
//!    one: the entry number tells them apart), then the files read from the media, in the
//!    media order of their first byte (the image is read front to back; path order among
//!    equals): directories as `directory`; files as content read through
//!    the image as the file system's reader gives it (see [`super::fat`],
//!    [`super::ntfs`] and [`super::ext`]: allocated content, deleted content recovered as
//!    The Sleuth Kit does); a deleted file whose content cannot be recovered (its clusters in use
//!    again, or absent) is an error with [`ReasonCode::NotRecoverable`]; a file whose
//!    structures are damaged (chain loop, bad fixup, overlapping runs...) is an error with
//!    [`ReasonCode::FileSystemDamaged`] (never hashed short); NTFS system files and exFAT
//!    metadata entries are skipped with [`ReasonCode::FileSystemMetadata`].
//!
//! Every record carries a [`Location`]: image, container, scheme, partition number, offset,
//! length and type, file-system type, entry number (`icat`'s), NTFS address, deleted
//! flag, byte runs.
//! FAT times are local times without a zone and are not reported yet.
//!
//! Memory: a volume's file-system entries ([`fs::FsEntry`], about 250 bytes each with
//! their paths) are read when the scan reaches the volume; each record is made when the
//! scan takes it, and contents are read later, on hashing threads.

use std::path::Path;
use std::sync::{Arc, Mutex};

use super::carve::{self, Area, AreaKind, Carver};
use super::ewf::{EwfError, EwfImage};
use super::fs::{self, DataReader, EntryState, FileData, FsOpenError};
use super::image::DiskImage;
use super::raw::RawImage;
use super::volume::{self, Scheme, Volume};
use super::{Content, ContentItem, ContentReader, Item, OpenedContent, SourceOptions};
use crate::report::{
    ByteRun, EntryDisposition, EntryKind, EntryRecord, Location, Reason, ReasonCode, os_str_bytes,
};

/// A disk image opened by [`detect`]: its container chosen by content.
pub struct OpenedImage {
    /// The media, through its container (raw, split raw, EWF).
    pub image: Arc<dyn DiskImage>,
    /// Whether reading it leaves the image files' access times alone.
    pub noatime: bool,
    /// A forensic container (EWF) rather than raw bytes: always read as a disk image,
    /// whatever its media holds.
    pub is_container: bool,
}

/// What [`detect`] found at a root.
pub enum Detected {
    /// A disk image to read through its volumes and file systems.
    Image(OpenedImage),
    /// The content is an EWF image (EVF signature) that cannot be opened: one error record
    /// for the root (never hashed as an ordinary file: it is evidence in a container).
    Unreadable(EwfError),
}

/// Opens the container at `path` by its content: EWF when it starts with an EWF signature
/// ([`super::ewf::is_ewf`]), raw (whole or split) otherwise.
///
/// # Errors
/// The EWF reader's [`EwfError`]; a raw image that cannot be opened gives `None` via
/// [`detect`] (the folder source then reports it).
pub fn open_container(
    path: &Path,
    allow_atime_changes: bool,
) -> Result<Option<OpenedImage>, EwfError> {
    // The raw open is the evidence open (read-only, O_NOATIME): the signature is read
    // through it, never through a plain open that could touch the access time.
    let Ok(raw) = RawImage::open(path, allow_atime_changes) else { return Ok(None) };
    let mut start = [0u8; 8];
    let n = raw.read_at(0, &mut start).unwrap_or(0);
    if super::ewf::is_ewf(&start[..n]) {
        let image = EwfImage::open(path, allow_atime_changes)?;
        let noatime = image.noatime();
        return Ok(Some(OpenedImage { image: Arc::new(image), noatime, is_container: true }));
    }
    let noatime = raw.noatime();
    Ok(Some(OpenedImage { image: Arc::new(raw), noatime, is_container: false }))
}

/// Opens `root` as a disk image when it is a regular file whose content is one (see the
/// module docs): every EWF image, and raw media holding a partition table or a FAT file
/// system; `None` otherwise (the folder source then takes it).
pub fn detect(root: &Path, options: &SourceOptions) -> Option<Detected> {
    if options.no_disk_images || !std::fs::metadata(root).is_ok_and(|m| m.is_file()) {
        return None;
    }
    match open_container(root, options.allow_atime_changes) {
        Err(e) => Some(Detected::Unreadable(e)),
        Ok(None) => None,
        Ok(Some(opened)) => (opened.is_container || is_disk_image(&*opened.image))
            .then_some(Detected::Image(opened)),
    }
}

/// Whether the media holds a partition table with plausible entries or starts with a FAT,
/// exFAT or NTFS boot sector or an ext2/3/4 superblock.
pub fn is_disk_image(image: &dyn DiskImage) -> bool {
    if volume::has_partition_table(image) {
        return true;
    }
    // The first 2048 bytes when there are so many (the ext superblock is at 1024).
    let mut start = vec![0u8; image.len().min(2048) as usize];
    start.len() >= 512 && image.read_exact_at(0, &mut start).is_ok() && fs::is_boot_sector(&start)
}

/// The items of the disk image at `root` (opened by [`detect`]), in report order, made as
/// they are taken (each volume's file system is read when its turn comes).
pub fn items(
    root: &Path,
    detected: Detected,
    options: &SourceOptions,
) -> Box<dyn Iterator<Item = Item>> {
    let root_bytes = os_str_bytes(root.as_os_str()).to_vec();
    let OpenedImage { image, noatime, .. } = match detected {
        Detected::Image(opened) => opened,
        Detected::Unreadable(e) => {
            let mut record = EntryRecord::at(root_bytes.clone());
            record.kind = EntryKind::File;
            record.location = Some(Location {
                image: String::from_utf8_lossy(&root_bytes).into_owned(),
                container: "ewf".to_string(),
                ..Location::default()
            });
            let code = match e {
                EwfError::AtimeWouldChange { .. } => ReasonCode::AtimeWouldChange,
                _ => ReasonCode::ImageUnreadable,
            };
            record.conclude(EntryDisposition::Error, Some(Reason::new(code, e.to_string())));
            return Box::new(std::iter::once(Item::Decided(record)));
        }
    };
    let base = Location {
        image: String::from_utf8_lossy(&root_bytes).into_owned(),
        container: image.container(),
        ..Location::default()
    };
    let mut record = EntryRecord::at(root_bytes.clone());
    record.kind = EntryKind::File;
    record.size = Some(image.len());
    record.noatime = Some(noatime);
    let table = match volume::read_volumes(&*image) {
        Ok(t) => t,
        Err(e) => {
            record.location = Some(base);
            record.conclude(
                EntryDisposition::Error,
                Some(Reason::new(
                    ReasonCode::ImageUnreadable,
                    format!("cannot read the disk image's partition table: {e}"),
                )),
            );
            return Box::new(std::iter::once(Item::Decided(record)));
        }
    };
    let base = Location { scheme: Some(table.scheme.as_str().to_string()), ..base };
    record.location = Some(base.clone());
    if table.problems.is_empty() {
        let what = match table.scheme {
            Scheme::None => "no partition table: one volume".to_string(),
            s => format!("{} partition table, {} volume(s)", s.as_str(), table.volumes.len()),
        };
        record.conclude(
            EntryDisposition::Skipped,
            Some(Reason::new(
                ReasonCode::DiskImage,
                format!(
                    "read as a disk image ({}, {what}); its volumes and files follow as \
                     their own records, the image file is not hashed as one file",
                    image.container()
                ),
            )),
        );
    } else {
        record.conclude(
            EntryDisposition::Error,
            Some(Reason::new(
                ReasonCode::PartitionTableDamaged,
                format!(
                    "the {} partition table is damaged: {}; the volumes found follow, others \
                     may be missing (check with another tool, e.g. mmls)",
                    table.scheme.as_str(),
                    table.problems.join("; ")
                ),
            )),
        );
    }
    // The areas to carve, gathered as each volume is opened; carving follows the last
    // volume's entries.
    let areas: Arc<Mutex<Vec<Area>>> = Arc::new(Mutex::new(Vec::new()));
    let mut unpartitioned = Vec::new();
    if table.scheme != Scheme::None {
        // Outside every partition: gaps between and after them, before the first one,
        // without the table's own sectors.
        let mut used: Vec<(u64, u64)> =
            table.volumes.iter().map(|v| (v.offset, v.length)).collect();
        used.extend(&table.tables);
        unpartitioned.extend(carve::gaps(image.len(), &used).into_iter().map(|run| Area {
            prefix: root_bytes.clone(),
            location: base.clone(),
            kind: AreaKind::Unpartitioned,
            runs: vec![run],
        }));
    }
    let collect = (!options.no_carve).then(|| Arc::clone(&areas));
    let carve_image = Arc::clone(&image);
    let volumes = table.volumes.into_iter().flat_map(move |v| {
        volume_items(image.clone(), &root_bytes, &base, &v, noatime, collect.as_ref())
    });
    let cancel = options.cancel.clone();
    let no_carve = options.no_carve;
    let carved = std::iter::once(()).flat_map(move |()| -> Box<dyn Iterator<Item = Item>> {
        if no_carve {
            return Box::new(std::iter::empty());
        }
        let mut all = std::mem::take(&mut *areas.lock().unwrap_or_else(|e| e.into_inner()));
        all.append(&mut unpartitioned);
        Box::new(Carver::new(carve_image.clone(), noatime, all).with_cancel(cancel.clone()))
    });
    Box::new(std::iter::once(Item::Decided(record)).chain(volumes).chain(carved))
}

/// The volume's record, then its entries' (each record made when it is taken: a volume
/// of millions of entries holds only its file system's entries, not their records). The
/// area to carve in it (its free space, or all of it when its file system is unknown or
/// damaged) goes to `areas`, unless carving is off (`None`).
fn volume_items(
    image: Arc<dyn DiskImage>,
    root: &[u8],
    base: &Location,
    v: &Volume,
    noatime: bool,
    areas: Option<&Arc<Mutex<Vec<Area>>>>,
) -> Box<dyn Iterator<Item = Item>> {
    let add_area = |area: Area| {
        if let Some(a) = areas {
            a.lock().unwrap_or_else(|e| e.into_inner()).push(area);
        }
    };
    let mut prefix = root.to_vec();
    prefix.extend_from_slice(format!("/p{}", v.number).as_bytes());
    let mut loc = Location {
        partition: Some(v.number),
        partition_offset: Some(v.offset),
        partition_length: Some(v.length),
        partition_type: (!v.type_id.is_empty()).then(|| v.type_id.clone()),
        ..base.clone()
    };
    let mut record = EntryRecord::at(prefix.clone());
    record.kind = EntryKind::Directory;
    record.size = Some(v.length);
    let on_media = image.len().saturating_sub(v.offset).min(v.length);
    let fs = match fs::open(&*image, v.offset, on_media) {
        Ok(fs) => fs,
        Err(e) => {
            if !matches!(e, FsOpenError::Io { .. }) {
                add_area(Area {
                    prefix: prefix.clone(),
                    location: loc.clone(),
                    kind: AreaKind::Volume,
                    runs: vec![(v.offset, on_media)],
                });
            }
            record.location = Some(loc);
            let reason = match (&e, &v.problem) {
                (_, Some(p)) => Reason::new(ReasonCode::PartitionPastEnd, format!("{p}; {e}")),
                (FsOpenError::Unknown { .. }, None) => Reason::new(
                    ReasonCode::UnknownFileSystem,
                    format!(
                        "partition {} (type {}): {e}; its files are not listed",
                        v.number,
                        if v.type_id.is_empty() { "none" } else { &v.type_id }
                    ),
                ),
                (FsOpenError::Damaged { .. }, None) => {
                    Reason::new(ReasonCode::FileSystemDamaged, e.to_string())
                }
                (FsOpenError::Io { .. }, None) => Reason::new(
                    ReasonCode::ImageUnreadable,
                    format!("{e}; its files are not listed"),
                ),
            };
            record.conclude(EntryDisposition::Error, Some(reason));
            return Box::new(std::iter::once(Item::Decided(record)));
        }
    };
    loc.fs_type = Some(fs.fs_type.clone());
    // Free space on the media, inside the volume, without the clusters deleted entries are
    // read from (their pictures are reported there, with their names: not twice).
    let end = v.offset + on_media;
    let free: Vec<(u64, u64)> = fs
        .unallocated
        .iter()
        .filter_map(|&(o, l)| {
            let (s, e) = (o.max(v.offset), o.saturating_add(l).min(end));
            (s < e).then(|| (s, e - s))
        })
        .collect();
    let recovered: Vec<(u64, u64)> = fs
        .entries
        .iter()
        .filter(|e| e.deleted)
        .flat_map(|e| match &e.state {
            EntryState::Read(data) => data.media_runs(),
            _ => Vec::new(),
        })
        .collect();
    add_area(Area {
        prefix: prefix.clone(),
        location: loc.clone(),
        kind: AreaKind::Unallocated,
        runs: carve::subtract(&free, recovered),
    });
    let mut entries = fs.entries;
    // Depth-first, each directory's names sorted by bytes (stable: the reader's order for
    // equal names; the entry number tells them apart).
    entries.sort_by(|a, b| {
        a.path
            .split(|&c| c == b'/')
            .cmp(b.path.split(|&c| c == b'/'))
            .then(a.entry_number.cmp(&b.entry_number))
    });
    // Then in media order: entries read from no media run (directories, empty, resident,
    // skipped, errors) first, the others by the offset of their first run, so the image is
    // read front to back (a spinning disk or a network share streams). Stable: path order
    // among equals.
    entries.sort_by_key(|e| match &e.state {
        EntryState::Read(data) if !e.is_dir => data.first_media_offset(),
        _ => None,
    });
    record.location = Some(loc.clone());
    match (&v.problem, fs.problems.is_empty()) {
        (Some(p), _) => record.conclude(
            EntryDisposition::Error,
            Some(Reason::new(ReasonCode::PartitionPastEnd, p.clone())),
        ),
        (None, false) => record.conclude(
            EntryDisposition::Error,
            Some(Reason::new(ReasonCode::FileSystemDamaged, fs.problems.join("; "))),
        ),
        (None, true) => record.conclude(EntryDisposition::Directory, None),
    }
    let entries = entries.into_iter().map(move |e| entry_item(&image, &prefix, &loc, e, noatime));
    Box::new(std::iter::once(Item::Decided(record)).chain(entries))
}

/// The item of one file-system entry (`prefix`: the volume's path, `loc`: its location).
fn entry_item(
    image: &Arc<dyn DiskImage>,
    prefix: &[u8],
    loc: &Location,
    e: fs::FsEntry,
    noatime: bool,
) -> Item {
    let mut path = prefix.to_vec();
    path.push(b'/');
    path.extend_from_slice(&e.path);
    let mut record = EntryRecord::at(path);
    record.kind = if e.is_dir { EntryKind::Directory } else { EntryKind::File };
    record.size = Some(e.size);
    [record.mtime, record.atime, record.ctime] = e.times;
    let runs = match &e.state {
        EntryState::Read(data) => data.media_runs(),
        _ => Vec::new(),
    };
    record.location = Some(Location {
        entry_number: Some(e.entry_number),
        fs_address: e.address,
        deleted: Some(e.deleted),
        byte_runs: runs.iter().map(|&(img_offset, len)| ByteRun { img_offset, len }).collect(),
        ..loc.clone()
    });
    match e.state {
        EntryState::Error(reason) => {
            record.conclude(EntryDisposition::Error, Some(reason));
            Item::Decided(record)
        }
        EntryState::Skipped(reason) => {
            record.conclude(EntryDisposition::Skipped, Some(reason));
            Item::Decided(record)
        }
        EntryState::Read(_) if e.is_dir => {
            record.conclude(EntryDisposition::Directory, None);
            Item::Decided(record)
        }
        EntryState::Read(data) => Item::Content(ContentItem {
            record,
            expected_len: Some(e.size),
            content: Box::new(FsContent { image: image.clone(), data, noatime }),
        }),
    }
}

/// A file's content, read through the image.
struct FsContent {
    image: Arc<dyn DiskImage>,
    data: FileData,
    noatime: bool,
}

impl Content for FsContent {
    fn open(self: Box<Self>) -> Result<OpenedContent, Reason> {
        Ok(OpenedContent {
            reader: Box::new(DataReader::new(self.image, self.data)),
            noatime: Some(self.noatime),
        })
    }
}

impl ContentReader for DataReader<Arc<dyn DiskImage>> {
    fn random_access(&self) -> Option<super::archive::ArchiveBytes> {
        self.positioned()
    }
}
