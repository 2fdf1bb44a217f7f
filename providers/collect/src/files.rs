//! Safe file writing for everything cloudscan leaves on disk: reports, inventories, recordings
//! (and the folder of the history database).
//!
//! - **Atomic**: the content goes to a new temporary file in the destination's folder (created
//!   with `O_CREAT | O_EXCL`, so it is never an existing file or a symlink planted there), is
//!   flushed with `fsync`, and is renamed over the destination; the folder is synced after the
//!   rename. A reader sees the old file or the new one, never half of one; a failed write leaves
//!   the old file in place and removes the temporary one.
//! - **Private**: files are created with mode 0600 and folders with 0700 (on Unix), whatever the
//!   umask; reports and recordings describe a whole estate.
//! - **No symlinks at the destination**: a destination that is a symbolic link is refused with
//!   an error naming it (the rename would replace the link, never write through it, but a link
//!   where a report should go is a sign of an attack or a mistake the user should hear about).
//! - **A full disk says so**: `ENOSPC` (and a quota exceeded) becomes "no space left on device
//!   writing PATH".

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Mode of every file cloudscan creates.
pub const FILE_MODE: u32 = 0o600;
/// Mode of every folder cloudscan creates.
pub const DIR_MODE: u32 = 0o700;

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("no space left on device writing `{path}`")]
    NoSpace { path: PathBuf },
    #[error(
        "refusing to write `{path}`: it is a symbolic link (remove it or choose another path)"
    )]
    Symlink { path: PathBuf },
    #[error("refusing to write `{path}`: it exists and is not a regular file")]
    NotAFile { path: PathBuf },
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

impl FileError {
    /// Classifies an I/O error on `path`: a full disk gets its own message.
    pub fn io(action: &'static str, path: &Path, source: io::Error) -> FileError {
        if is_no_space(&source) {
            FileError::NoSpace {
                path: path.to_path_buf(),
            }
        } else {
            FileError::Io {
                action,
                path: path.to_path_buf(),
                source,
            }
        }
    }
}

/// Whether an I/O error means the disk (or the user's quota) is full.
pub fn is_no_space(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

/// Writes `bytes` to `path` atomically with mode 0600 (see the module documentation).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    write_atomic_with(path, |file| file.write_all(bytes))
}

/// [`write_atomic`] with the content written by `fill` (the seam tests use to inject errors such
/// as a full disk).
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), FileError> {
    // A device or a pipe (`-o /dev/null`, a FIFO another process reads) is written as it is:
    // nothing to replace atomically, and no file to create.
    #[cfg(unix)]
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        let kind = meta.file_type();
        if kind.is_char_device() || kind.is_fifo() {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| FileError::io("open", path, e))?;
            return fill(&mut file)
                .and_then(|()| file.flush())
                .map_err(|e| FileError::io("write", path, e));
        }
    }
    check_destination(path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_dir_all(&dir)?;
    let (tmp, mut file) = create_temp(&dir, path)?;
    let written = fill(&mut file)
        .and_then(|()| file.flush())
        .and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(FileError::io("write", path, e));
    }
    // Checked again right before the rename: a link planted meanwhile is still refused.
    if let Err(e) = check_destination(path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(FileError::io("write", path, e));
    }
    sync_dir(&dir);
    Ok(())
}

/// Refuses a destination that is a symlink or not a regular file (devices and pipes are written
/// directly by [`write_atomic_with`] before this check); a missing one is fine.
pub fn check_destination(path: &Path) -> Result<(), FileError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(FileError::Symlink {
            path: path.to_path_buf(),
        }),
        Ok(meta) if !meta.is_file() => Err(FileError::NotAFile {
            path: path.to_path_buf(),
        }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(FileError::io("inspect", path, e)),
    }
}

/// Creates `dir` and its missing parents with mode 0700 (existing folders are left as they
/// are).
pub fn create_dir_all(dir: &Path) -> Result<(), FileError> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder
        .create(dir)
        .map_err(|e| FileError::io("create the folder", dir, e))
}

/// Creates a new file at `path` with mode 0600, failing if anything (a file or a symlink)
/// exists there already.
pub fn create_new(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options.open(path)
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A new temporary file beside `dest`: `.<name>.<pid>.<n>.tmp`, created exclusively.
fn create_temp(dir: &Path, dest: &Path) -> Result<(PathBuf, File), FileError> {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cloudscan".to_string());
    let mut last = None;
    for _ in 0..16 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let tmp = dir.join(format!(".{name}.{}.{n}.{nanos}.tmp", std::process::id()));
        match create_new(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(FileError::io("create a temporary file for", dest, e)),
        }
    }
    Err(FileError::io(
        "create a temporary file for",
        dest,
        last.unwrap_or_else(|| io::Error::other("no free temporary name")),
    ))
}

/// Makes a rename in `dir` durable (best effort: not every platform can open a folder).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0)
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".tmp"))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn devices_are_written_directly_and_a_full_one_says_so() {
        assert!(write_atomic(Path::new("/dev/null"), b"report").is_ok());
        match write_atomic(Path::new("/dev/full"), b"report") {
            Err(FileError::NoSpace { path }) => assert_eq!(path, Path::new("/dev/full")),
            other => panic!("expected no space, got {other:?}"),
        }
    }

    #[test]
    fn files_are_private_and_replace_the_old_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a/b/report.json");
        write_atomic(&path, b"one").expect("first write");
        assert_eq!(std::fs::read_to_string(&path).ok().as_deref(), Some("one"));
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&dir.path().join("a/b")), 0o700);
        // An existing world-readable file is replaced by a private one.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).ok();
        write_atomic(&path, b"two").expect("second write");
        assert_eq!(std::fs::read_to_string(&path).ok().as_deref(), Some("two"));
        assert_eq!(mode(&path), 0o600);
        assert!(leftovers(&dir.path().join("a/b")).is_empty());
    }

    #[test]
    fn a_symlink_at_the_destination_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("target.txt");
        std::fs::write(&target, "precious").ok();
        let link = dir.path().join("report.html");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let e = write_atomic(&link, b"x").err().map(|e| e.to_string());
        let e = e.unwrap_or_default();
        assert!(
            e.contains("symbolic link") && e.contains("report.html"),
            "{e}"
        );
        assert_eq!(
            std::fs::read_to_string(&target).ok().as_deref(),
            Some("precious")
        );
        // A dangling link too.
        let dangling = dir.path().join("dangling.json");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).expect("symlink");
        assert!(matches!(
            write_atomic(&dangling, b"x"),
            Err(FileError::Symlink { .. })
        ));
        assert!(!dir.path().join("nowhere").exists());
        // A folder is not a file.
        assert!(matches!(
            write_atomic(dir.path(), b"x"),
            Err(FileError::NotAFile { .. })
        ));
    }

    #[test]
    fn a_full_disk_is_named_and_leaves_the_old_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("inventory.json");
        write_atomic(&path, b"old").expect("write");
        let e = write_atomic_with(&path, |f| {
            f.write_all(b"partial")?;
            Err(io::Error::from_raw_os_error(28)) // ENOSPC
        })
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert_eq!(
            e,
            format!("no space left on device writing `{}`", path.display())
        );
        assert_eq!(std::fs::read_to_string(&path).ok().as_deref(), Some("old"));
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }

    #[test]
    fn create_new_never_follows_a_planted_link() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("t");
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        assert!(create_new(&link).is_err());
        assert!(!target.exists());
        let f = dir.path().join("new");
        assert!(create_new(&f).is_ok());
        assert_eq!(mode(&f), 0o600);
    }
}
