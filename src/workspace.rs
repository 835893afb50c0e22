//! The repository as an untrusted tree: every path that comes from a PR body or a config file
//! is resolved here, and nothing outside the repository root is ever opened.
//!
//! Rejected before any I/O: absolute paths, `..` segments, drive prefixes and backslashes.
//! After resolving symlinks the real path must still lie under the root; only regular files
//! are opened (a FIFO would block, a device would never end), and reads are capped.
//!
//! The gates that look at the whole tree (dev-mcp-ban's production folders, the deploy-file
//! scan, `migration-safety --all`) take their files from [`Workspace::files`]: what git tracks
//! (`git ls-files -z`), never filtered by `.gitignore`, `.ignore` or `.rgignore` files a PR can
//! commit; outside git, every file. A tracked symlink to a folder inside the repository is
//! followed once (its files appear under the link's path too); one that resolves outside is
//! listed in `escaping` for the gates to report.

use std::collections::HashSet;
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
    /// The file set, listed once per run on first use.
    files: std::sync::Arc<std::sync::OnceLock<RepoFiles>>,
    /// Real paths of the folders `resolve` has seen: a tree of 50,000 files has a few thousand
    /// folders, and resolving every file's whole path took half a million `readlink` calls.
    dirs: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<PathBuf, PathBuf>>>,
}

/// The repository's files, as the tree-walking gates see them.
#[derive(Debug, Clone, Default)]
pub struct RepoFiles {
    /// Repository-relative, `/`-separated paths, sorted: regular files and symlinks (a symlink
    /// is read through [`Workspace::open`] like any file, so one leading outside or to a
    /// device is refused there), plus the files below a symlinked folder under the link's path.
    pub files: Vec<String>,
    /// Paths that are not UTF-8 (shown lossily): nothing can match them against a glob, so a
    /// gate that would have checked them says so.
    pub not_utf8: Vec<String>,
    /// Symlinks resolving outside the repository: `(link, where it points)`.
    pub escaping: Vec<(String, String)>,
    /// Symlinked folders inside the repository that were listed through: `(link, target)`.
    pub folder_links: Vec<(String, String)>,
}

impl RepoFiles {
    /// The escaping symlinks at or below `dir`, or above it (`dir = "a/b"` concerns a link
    /// `a` as much as `a/b/c`); `""` is the whole repository.
    pub fn escaping_at<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = &'a (String, String)> {
        self.escaping
            .iter()
            .filter(move |(link, _)| dir.is_empty() || within(link, dir) || within(dir, link))
    }

    /// Every other path under which the file at `path` is listed, through folder links; and,
    /// when `path` is a folder link itself, every file listed below it.
    pub fn aliases(&self, path: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (link, target) in &self.folder_links {
            if let Some(rest) = path
                .strip_prefix(target.as_str())
                .and_then(|r| r.strip_prefix('/'))
            {
                out.push(format!("{link}/{rest}"));
            }
            if link == path {
                let below = format!("{link}/");
                out.extend(self.files.iter().filter(|f| f.starts_with(&below)).cloned());
            }
        }
        out
    }
}

/// The folder part of a glob before its first wildcard: `supabase/migrations` for
/// `supabase/migrations/*.sql`, `""` for `**/x.sql`.
pub fn literal_dir(glob: &str) -> String {
    let parts: Vec<&str> = glob.split('/').collect();
    let literal = parts
        .iter()
        .take_while(|p| !p.contains(['*', '?', '[', '{', '\\']))
        .count()
        .min(parts.len().saturating_sub(1));
    parts[..literal].join("/")
}

/// Whether `path` is `dir` or lies below it.
fn within(path: &str, dir: &str) -> bool {
    path == dir || (path.starts_with(dir) && path.as_bytes().get(dir.len()) == Some(&b'/'))
}

/// Most bytes of `git ls-files` output taken; past that, every file is walked instead.
const MAX_LISTED_BYTES: u64 = 256 << 20;

/// A regular file inside the repository, opened for reading.
pub struct RepoFile {
    pub file: File,
    pub len: u64,
}

impl Workspace {
    pub fn new(root: &Path) -> io::Result<Workspace> {
        Ok(Workspace {
            root: root.canonicalize()?,
            files: Default::default(),
            dirs: Default::default(),
        })
    }

    /// The repository's files (see the module docs), listed on first use.
    pub fn files(&self) -> &RepoFiles {
        self.files.get_or_init(|| list_files(&self.root))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Check that `rel` is a plain relative path inside the repository and resolve it.
    pub fn resolve(&self, rel: &str) -> Result<PathBuf, PathError> {
        check_relative(rel)?;
        let joined = self.root.join(rel);
        if let Some((real, _)) = self.resolve_in_known_folder(&joined) {
            return Ok(real);
        }
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

    /// The real path of `joined` when it is not itself a symlink and lands inside the
    /// repository: its folder's real path (resolved once per folder) joined with its name. Any
    /// other case (a symlink, nothing there, outside the repository) is left to `resolve`'s
    /// full resolution, which says why.
    fn resolve_in_known_folder(&self, joined: &Path) -> Option<(PathBuf, std::fs::Metadata)> {
        let (parent, name) = (joined.parent()?, joined.file_name()?);
        let meta = std::fs::symlink_metadata(joined).ok()?;
        if meta.file_type().is_symlink() {
            return None;
        }
        let real = self.real_dir(parent)?.join(name);
        real.starts_with(&self.root).then_some((real, meta))
    }

    /// The real path of a folder below the root, remembered: its parent's real path and its
    /// name when it is not a symlink (one `lstat`), else the full resolution.
    fn real_dir(&self, dir: &Path) -> Option<PathBuf> {
        if dir == self.root {
            return Some(self.root.clone());
        }
        if let Some(known) = self.dirs.lock().ok()?.get(dir) {
            return Some(known.clone());
        }
        let real = match (dir.parent(), dir.file_name()) {
            (Some(parent), Some(name))
                if dir.starts_with(&self.root)
                    && !std::fs::symlink_metadata(dir)
                        .ok()?
                        .file_type()
                        .is_symlink() =>
            {
                self.real_dir(parent)?.join(name)
            }
            _ => dir.canonicalize().ok()?,
        };
        self.dirs
            .lock()
            .ok()?
            .insert(dir.to_path_buf(), real.clone());
        Some(real)
    }

    /// `resolve`, and what the resolved path is (a final symlink followed).
    pub fn resolve_stat(&self, rel: &str) -> Result<(PathBuf, std::fs::Metadata), PathError> {
        check_relative(rel)?;
        if let Some(found) = self.resolve_in_known_folder(&self.root.join(rel)) {
            return Ok(found);
        }
        let real = self.resolve(rel)?;
        let meta = std::fs::metadata(&real)?;
        Ok((real, meta))
    }

    /// Resolve and open a regular file. Never opens FIFOs, sockets or devices.
    pub fn open(&self, rel: &str) -> Result<RepoFile, PathError> {
        let (real, meta) = self.resolve_stat(rel)?;
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

/// `rel` is a plain relative path: no `..`, no root, no drive letter or backslash. Says
/// nothing of what is there.
pub fn check_relative(rel: &str) -> Result<(), PathError> {
    let drive =
        rel.len() > 1 && rel.as_bytes()[0].is_ascii_alphabetic() && rel.as_bytes()[1] == b':';
    if rel.contains('\\') || drive {
        return Err(PathError::NotPortable);
    }
    for c in Path::new(rel).components() {
        match c {
            Component::ParentDir => return Err(PathError::ParentDir),
            Component::RootDir | Component::Prefix(_) => return Err(PathError::Absolute),
            Component::CurDir | Component::Normal(_) => {}
        }
    }
    Ok(())
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

/// List the tree: git's tracked files when the root is in a work tree, else every file.
fn list_files(root: &Path) -> RepoFiles {
    let tracked = crate::git::run(
        root,
        &["ls-files", "-z", "--cached", "--full-name", "--", "."],
        MAX_LISTED_BYTES,
    );
    let prefix = crate::git::run(root, &["rev-parse", "--show-prefix"], 4096);
    // Which listed paths are symlinks: git does not say (the checkout may differ from the
    // index), so each is looked at; a walk of the tree already knows.
    let (raw, walked_links): (Vec<Vec<u8>>, Option<HashSet<Vec<u8>>>) = match (tracked, prefix) {
        (Ok(t), Ok(p)) if t.success && p.success && !t.truncated => {
            // `--full-name` and the prefix make the paths relative to the root exactly, even
            // when the root is a folder of a larger work tree.
            let prefix = String::from_utf8_lossy(&p.stdout).trim().to_string();
            let paths = t
                .stdout
                .split(|b| *b == 0)
                .filter(|p| !p.is_empty())
                .filter_map(|p| p.strip_prefix(prefix.as_bytes()).map(<[u8]>::to_vec))
                .collect();
            (paths, None)
        }
        _ => {
            let (paths, links) = walk_all(root);
            (paths, Some(links))
        }
    };
    let mut out = RepoFiles::default();
    let mut dir_links = Vec::new();
    for p in raw {
        match String::from_utf8(p) {
            Ok(p) => out.files.push(p),
            Err(e) => out
                .not_utf8
                .push(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        }
    }
    out.files.sort();
    out.files.dedup();
    for p in &out.files {
        let abs = root.join(p);
        let is_link = match &walked_links {
            Some(links) => links.contains(p.as_bytes()),
            None => std::fs::symlink_metadata(&abs).is_ok_and(|m| m.file_type().is_symlink()),
        };
        if !is_link {
            continue;
        }
        match abs.canonicalize() {
            Ok(real) if real.starts_with(root) => {
                if real.is_dir() {
                    let target = real
                        .strip_prefix(root)
                        .ok()
                        .and_then(|t| t.to_str())
                        .unwrap_or_default()
                        .replace('\\', "/");
                    dir_links.push((p.clone(), target));
                }
            }
            Ok(real) => out.escaping.push((p.clone(), real.display().to_string())),
            Err(_) => {
                let target = std::fs::read_link(&abs).unwrap_or_default();
                let lexical = abs.parent().unwrap_or(root).join(&target);
                if target.is_absolute() || !normalize(&lexical).starts_with(root) {
                    out.escaping.push((p.clone(), target.display().to_string()));
                }
            }
        }
    }
    // Each folder link once: its target's files under the link's path. A link into one of its
    // own ancestors (a loop) adds nothing: those files are listed already.
    let mut extra = Vec::new();
    for (link, target) in &dir_links {
        if target.is_empty() || within(link, target) {
            continue;
        }
        let below = format!("{target}/");
        let from = out.files.partition_point(|f| f.as_str() < below.as_str());
        for f in &out.files[from..] {
            let Some(rest) = f.strip_prefix(below.as_str()) else {
                break;
            };
            extra.push(format!("{link}/{rest}"));
        }
    }
    out.folder_links = dir_links.clone();
    // A folder link is not a file itself.
    out.files.retain(|f| {
        dir_links
            .binary_search_by(|(l, _)| l.as_str().cmp(f))
            .is_err()
    });
    out.files.extend(extra);
    out.files.sort();
    out.files.dedup();
    out
}

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// Every file below `root` (outside git): no ignore files, hidden files included, symlinks
/// listed but not followed, `.git` not entered. Also returns which of them are symlinks.
fn walk_all(root: &Path) -> (Vec<Vec<u8>>, HashSet<Vec<u8>>) {
    let mut out = Vec::new();
    let mut links = HashSet::new();
    let walk = walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || e.file_name() != ".git");
    for e in walk.flatten() {
        if e.file_type().is_dir() {
            continue;
        }
        if let Ok(rel) = e.path().strip_prefix(root) {
            let parts: Vec<&[u8]> = rel
                .components()
                .map(|c| c.as_os_str().as_encoded_bytes())
                .collect();
            let path = parts.join(&b'/');
            if e.path_is_symlink() {
                links.insert(path.clone());
            }
            out.push(path);
        }
    }
    (out, links)
}
