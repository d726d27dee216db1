//! Streaming searches through an image's bytes: the `Linux version` banner and the
//! `IKCFG_ST` gzip that `CONFIG_IKCONFIG` leaves in `.rodata`.
//!
//! Both read any `Read` in 1 MiB chunks, keeping only an overlap between chunks, so a file of
//! any size is searched in bounded memory. What the image holds is untrusted: the release is
//! cut at [`MAX_RELEASE`] printable bytes and the config at [`IKCONFIG_CAP`].

use std::io::{self, Cursor, Read};

use flate2::read::GzDecoder;
use memchr::memmem;

const BANNER: &[u8] = b"Linux version ";
/// Longest release string read after the banner; real ones are under 65 bytes (`uname -r`).
pub const MAX_RELEASE: usize = 64;
const IKCFG_ST: &[u8] = b"IKCFG_ST";
/// The most config text read from an image: real configs are 100-300 KiB.
pub const IKCONFIG_CAP: u64 = 1 << 20;
const CHUNK: usize = 1 << 20;

/// What [`ikconfig`] found.
#[derive(Debug)]
pub enum Ikconfig {
    None,
    Config(Vec<u8>),
    /// The markers are there but the gzip between them does not decode.
    Corrupt(io::Error),
    /// The gzip inflates past [`IKCONFIG_CAP`].
    TooLarge,
}

/// Calls `found` with each chunk (plus the overlap kept from the previous one) and whether
/// the input has ended, until it returns `Some`.
fn scan<R: Read, T>(
    mut input: R,
    keep: usize,
    mut found: impl FnMut(&[u8], bool, &mut R) -> io::Result<Option<T>>,
) -> io::Result<Option<T>> {
    let mut buf = Vec::with_capacity(CHUNK + keep);
    loop {
        let start = buf.len();
        buf.resize(start + CHUNK, 0);
        let n = read_full(&mut input, &mut buf[start..])?;
        buf.truncate(start + n);
        let at_end = n == 0;
        if let Some(value) = found(&buf, at_end, &mut input)? {
            return Ok(Some(value));
        }
        if at_end {
            return Ok(None);
        }
        let drop = buf.len().saturating_sub(keep);
        buf.drain(..drop);
    }
}

/// Fill `buf` as far as the input goes.
pub(crate) fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The release in the first `Linux version <release>` banner, if there is one. A banner not
/// followed by a digit (the `%s` format string) is skipped.
pub fn banner(input: impl Read) -> io::Result<Option<String>> {
    let finder = memmem::Finder::new(BANNER);
    scan(input, BANNER.len() + MAX_RELEASE, |buf, at_end, _| {
        for hit in finder.find_iter(buf) {
            let rest = &buf[hit + BANNER.len()..];
            if rest.len() < MAX_RELEASE && !at_end {
                break; // the release may continue in the next chunk
            }
            if let Some(release) = release_token(rest) {
                return Ok(Some(release));
            }
        }
        Ok(None)
    })
}

/// The release at the start of `text`: printable ASCII up to the first space, starting with a
/// digit, at most [`MAX_RELEASE`] bytes.
pub(crate) fn release_token(text: &[u8]) -> Option<String> {
    let release: Vec<u8> = text
        .iter()
        .take(MAX_RELEASE)
        .take_while(|b| b.is_ascii_graphic())
        .copied()
        .collect();
    release
        .first()
        .is_some_and(u8::is_ascii_digit)
        .then(|| String::from_utf8(release).expect("ASCII"))
}

/// The config that `CONFIG_IKCONFIG` stored: the gzip that follows the first `IKCFG_ST`, as
/// `scripts/extract-ikconfig` reads it.
pub fn ikconfig(input: impl Read) -> io::Result<Ikconfig> {
    let finder = memmem::Finder::new(IKCFG_ST);
    let found = scan(input, IKCFG_ST.len(), |buf, _, rest| {
        let Some(hit) = finder.find(buf) else {
            return Ok(None);
        };
        let after = Cursor::new(buf[hit + IKCFG_ST.len()..].to_vec());
        let mut text = Vec::new();
        let mut gzip = GzDecoder::new(after.chain(rest)).take(IKCONFIG_CAP + 1);
        Ok(Some(match gzip.read_to_end(&mut text) {
            Err(e) => Ikconfig::Corrupt(e),
            Ok(n) if n as u64 > IKCONFIG_CAP => Ikconfig::TooLarge,
            Ok(_) => Ikconfig::Config(text),
        }))
    })?;
    Ok(found.unwrap_or(Ikconfig::None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        out.write_all(bytes).unwrap();
        out.finish().unwrap()
    }

    #[test]
    fn finds_the_banner_across_chunk_boundaries() {
        for offset in [0, CHUNK - 20, CHUNK - 3, CHUNK, 3 * CHUNK + 7] {
            let mut bytes = vec![0u8; offset];
            // A decoy that is not followed by a digit comes first.
            bytes.extend_from_slice(b"Linux version %s\0");
            bytes.extend_from_slice(b"Linux version 6.12.3-void (gcc) #1\0");
            bytes.resize(bytes.len() + 100, 0);
            assert_eq!(
                banner(&bytes[..]).unwrap().as_deref(),
                Some("6.12.3-void"),
                "banner at {offset}"
            );
        }
        assert_eq!(
            banner(&b"\0\0Linux version 5.10.1"[..]).unwrap().as_deref(),
            Some("5.10.1")
        );
        assert_eq!(banner(&[7u8; 5000][..]).unwrap(), None);
        // A release longer than any real one is cut, and control bytes end it.
        let long = format!("Linux version 6{}", "9".repeat(500));
        assert_eq!(banner(long.as_bytes()).unwrap().unwrap().len(), MAX_RELEASE);
        assert_eq!(
            banner(&b"Linux version 6.1\x1b[31m"[..])
                .unwrap()
                .as_deref(),
            Some("6.1")
        );
    }

    #[test]
    fn reads_ikconfig_across_chunk_boundaries() {
        let config = b"# Linux/x86 6.1.0 Kernel Configuration\nCONFIG_VIRTIO_BLK=y\n".repeat(50);
        for offset in [0, CHUNK - 4, CHUNK - 9, CHUNK + 1] {
            let mut bytes = vec![b'x'; offset];
            bytes.extend_from_slice(IKCFG_ST);
            bytes.extend_from_slice(&gzip(&config));
            bytes.extend_from_slice(b"IKCFG_ED");
            bytes.resize(bytes.len() + 3 * CHUNK, 0);
            match ikconfig(&bytes[..]).unwrap() {
                Ikconfig::Config(found) => assert!(found == config, "config at {offset}"),
                other => panic!("config at {offset}: {other:?}"),
            }
        }
        assert!(matches!(
            ikconfig(&[0u8; 4096][..]).unwrap(),
            Ikconfig::None
        ));
    }

    #[test]
    fn refuses_a_broken_or_huge_ikconfig() {
        let mut garbled = IKCFG_ST.to_vec();
        garbled.extend_from_slice(b"\x1f\x8b\x08\0garbage that is no deflate stream");
        assert!(matches!(
            ikconfig(&garbled[..]).unwrap(),
            Ikconfig::Corrupt(_)
        ));
        let mut truncated = IKCFG_ST.to_vec();
        truncated.extend_from_slice(&gzip(&[b'y'; 10_000])[..30]);
        assert!(matches!(
            ikconfig(&truncated[..]).unwrap(),
            Ikconfig::Corrupt(_)
        ));
        // A gzip header whose file name never ends: flate2 stops it at 64 KiB.
        let mut endless_name = IKCFG_ST.to_vec();
        endless_name.extend_from_slice(b"\x1f\x8b\x08\x08\0\0\0\0\0\x03");
        endless_name.resize(endless_name.len() + (4 << 20), b'n');
        assert!(matches!(
            ikconfig(&endless_name[..]).unwrap(),
            Ikconfig::Corrupt(_)
        ));
        let mut bomb = IKCFG_ST.to_vec();
        bomb.extend_from_slice(&gzip(&vec![b'#'; IKCONFIG_CAP as usize + 1]));
        assert!(matches!(ikconfig(&bomb[..]).unwrap(), Ikconfig::TooLarge));
    }
}
