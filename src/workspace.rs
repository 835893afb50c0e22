//! The repository as an untrusted tree: every path that comes from a PR body or a config file
//! is resolved here, and nothing outside the repository root is ever opened.
//!
//! Rejected before any I/O: absolute paths, `..` segments, drive prefixes and backslashes.
//! After resolving symlinks the real path must still lie under the root; only regular files
//! are opened (a FIFO would block, a device would never end), and reads are capped.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error("is an absolute path")]
    Absolute,
    #[error("contains a `..` segment")]
    ParentDir,
    #[error("contains a backslash or drive prefix")]
    NotPortable,
    #[error("resolves outside the repository (symlink to {0})")]
    EscapesRepo(String),
    #[error("does not exist")]
    NotFound,
    #[error("is a {0}, not a regular file")]
    NotRegular(&'static str),
    #[error("could not be read: {0}")]
    Io(#[from] io::Error),
}

#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
}

/// A regular file inside the repository, opened for reading.
pub struct RepoFile {
    pub file: File,
    pub len: u64,
}

impl Workspace {
    pub fn new(root: &Path) -> io::Result<Workspace> {
        Ok(Workspace {
            root: root.canonicalize()?,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Check that `rel` is a plain relative path inside the repository and resolve it.
    pub fn resolve(&self, rel: &str) -> Result<PathBuf, PathError> {
        let drive =
            rel.len() > 1 && rel.as_bytes()[0].is_ascii_alphabetic() && rel.as_bytes()[1] == b':';
        if rel.contains('\\') || drive {
            return Err(PathError::NotPortable);
        }
        let path = Path::new(rel);
        for c in path.components() {
            match c {
                Component::ParentDir => return Err(PathError::ParentDir),
                Component::RootDir | Component::Prefix(_) => return Err(PathError::Absolute),
                Component::CurDir | Component::Normal(_) => {}
            }
        }
        let joined = self.root.join(path);
        let real = match joined.canonicalize() {
            Ok(p) => p,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // A dangling symlink is "not found" too, but say where it points if it escapes.
                if let Ok(target) = std::fs::read_link(&joined) {
                    let abs = joined.parent().unwrap_or(&self.root).join(&target);
                    if !abs.starts_with(&self.root) || target.is_absolute() {
                        return Err(PathError::EscapesRepo(target.display().to_string()));
                    }
                }
                return Err(PathError::NotFound);
            }
            Err(e) => return Err(PathError::Io(e)),
        };
        if !real.starts_with(&self.root) {
            return Err(PathError::EscapesRepo(real.display().to_string()));
        }
        Ok(real)
    }

    /// Resolve and open a regular file. Never opens FIFOs, sockets or devices.
    pub fn open(&self, rel: &str) -> Result<RepoFile, PathError> {
        let real = self.resolve(rel)?;
        let meta = std::fs::metadata(&real)?;
        let ft = meta.file_type();
        if !ft.is_file() {
            return Err(PathError::NotRegular(file_kind(&ft)));
        }
        let file = File::open(&real)?;
        Ok(RepoFile {
            file,
            len: meta.len(),
        })
    }

    /// Read a whole regular file, refusing anything larger than `cap` bytes.
    pub fn read_capped(&self, rel: &str, cap: u64) -> Result<Option<Vec<u8>>, PathError> {
        let f = self.open(rel)?;
        if f.len > cap {
            return Ok(None);
        }
        let mut buf = Vec::with_capacity(f.len as usize);
        f.file.take(cap + 1).read_to_end(&mut buf)?;
        Ok((buf.len() as u64 <= cap).then_some(buf))
    }
}

fn file_kind(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "FIFO";
        }
        if ft.is_char_device() || ft.is_block_device() {
            return "device";
        }
        if ft.is_socket() {
            return "socket";
        }
    }
    if ft.is_dir() {
        "directory"
    } else {
        "special file"
    }
}
