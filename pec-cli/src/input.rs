//! Reading inputs: files are memory-mapped when large (no copy), `-` is standard input.

use std::io::Read;
use std::ops::Deref;
use std::path::Path;

use pec_core::Error;

/// Bytes of an input file, mapped or owned.
pub enum Input {
    /// Read into memory.
    Owned(Vec<u8>),
    /// Memory-mapped (large files).
    Mapped(memmap2::Mmap),
}

impl Deref for Input {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Input::Owned(v) => v,
            Input::Mapped(m) => m,
        }
    }
}

const MAP_THRESHOLD: u64 = 1 << 20;

/// Reads `path` (`-` for standard input).
pub fn read(path: &Path) -> Result<Input, Error> {
    if path.as_os_str() == "-" {
        let mut v = Vec::new();
        std::io::stdin().read_to_end(&mut v).map_err(|e| Error::io("<stdin>", &e))?;
        return Ok(Input::Owned(v));
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(path.display(), &e))?;
    let len = file.metadata().map_err(|e| Error::io(path.display(), &e))?.len();
    if len >= MAP_THRESHOLD {
        // SAFETY: the map is read-only and lives as long as `Input`; a file truncated by
        // another process while mapped would raise SIGBUS, the accepted risk of every mmap
        // reader (the alternative, copying 30 MB messages, is what the memory goal forbids).
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) };
        if let Ok(m) = map {
            return Ok(Input::Mapped(m));
        }
    }
    let mut v = Vec::with_capacity(len as usize);
    let mut f = file;
    f.read_to_end(&mut v).map_err(|e| Error::io(path.display(), &e))?;
    Ok(Input::Owned(v))
}

/// Reads a small file fully (keys, certificates, provider files).
pub fn read_small(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::io(path.display(), &e))
}
