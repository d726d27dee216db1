//! The LZ4 legacy frame, which the kernel's `lz4 -l` payloads use and `lz4_flex` does not
//! read: the magic `02 21 4c 18`, then blocks, each a little-endian u32 length followed by
//! that many bytes of one LZ4 block that inflates to at most 8 MiB.
//!
//! The kernel build appends the uncompressed size as four more bytes (`size_append`), so four
//! bytes at the very end of the input that no block follows end the stream, as they end it
//! for the kernel's own `unlz4`. A repeated magic starts another stream and is skipped.

use std::io::{self, Read};

use crate::scan::read_full;

pub const MAGIC: [u8; 4] = [0x02, 0x21, 0x4c, 0x18];
/// The uncompressed size of one legacy block.
const BLOCK: usize = 8 << 20;

/// A reader of the decompressed bytes of a legacy-frame stream, its magic already read.
pub struct Decoder<R> {
    input: R,
    /// Both buffers are allocated (zeroed) once, at the first block.
    compressed: Vec<u8>,
    block: Vec<u8>,
    /// The decompressed bytes in `block`, and how many of them were read.
    filled: usize,
    at: usize,
    done: bool,
}

impl<R: Read> Decoder<R> {
    pub fn new(input: R) -> Self {
        Self {
            input,
            compressed: Vec::new(),
            block: Vec::new(),
            filled: 0,
            at: 0,
            done: false,
        }
    }

    /// Decompress the next block into `self.block`; false at the end of the stream.
    fn next_block(&mut self) -> io::Result<bool> {
        loop {
            let mut length = [0u8; 4];
            match read_full(&mut self.input, &mut length)? {
                0 => return Ok(false),
                4 => {}
                n => return Err(corrupt(format!("{n} stray bytes after the last block"))),
            }
            if length == MAGIC {
                continue;
            }
            let length = u32::from_le_bytes(length) as usize;
            let bound = lz4_flex::block::get_maximum_output_size(BLOCK);
            // Read one byte first: none means these four bytes were the appended size.
            let mut first = [0u8; 1];
            if read_full(&mut self.input, &mut first)? == 0 {
                return Ok(false);
            }
            if length > bound || length == 0 {
                return Err(corrupt(format!(
                    "a block of {length} bytes, outside 1..={bound}"
                )));
            }
            if self.compressed.is_empty() {
                self.compressed = vec![0; bound];
                self.block = vec![0; BLOCK];
            }
            self.compressed[0] = first[0];
            let got = read_full(&mut self.input, &mut self.compressed[1..length])? + 1;
            if got < length {
                return Err(corrupt(format!(
                    "a block of {length} bytes ends after {got}"
                )));
            }
            self.filled =
                lz4_flex::block::decompress_into(&self.compressed[..length], &mut self.block)
                    .map_err(|e| corrupt(format!("a block does not decompress: {e}")))?;
            self.at = 0;
            return Ok(true);
        }
    }
}

fn corrupt(what: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("lz4 legacy frame: {what}"),
    )
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.filled {
            if self.done || !self.next_block()? {
                self.done = true;
                return Ok(0);
            }
        }
        let n = buf.len().min(self.filled - self.at);
        buf[..n].copy_from_slice(&self.block[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A legacy stream of `data` in blocks of `block` bytes, with the kernel's appended size.
    fn legacy(data: &[u8], block: usize, size_append: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in data.chunks(block) {
            let compressed = lz4_flex::block::compress(chunk);
            out.extend_from_slice(&(compressed.len() as u32).to_le_bytes());
            out.extend_from_slice(&compressed);
        }
        if size_append {
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        }
        out
    }

    fn decode(stream: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        Decoder::new(stream).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn round_trips_with_and_without_the_appended_size() {
        let data: Vec<u8> = (0..300_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for size_append in [false, true] {
            assert!(decode(&legacy(&data, 100_000, size_append)).unwrap() == data);
        }
        // Two streams, the second behind its own magic.
        let mut two = legacy(&data[..1000], 512, false);
        two.extend_from_slice(&MAGIC);
        two.extend_from_slice(&legacy(&data[1000..2000], 512, true));
        assert!(decode(&two).unwrap() == data[..2000]);
    }

    #[test]
    fn refuses_broken_blocks() {
        let data = vec![9u8; 50_000];
        let good = legacy(&data, 20_000, false);
        let cut = &good[..good.len() - 5];
        let mut huge = good.clone();
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        huge.push(0);
        let mut garbled = good.clone();
        garbled[4..12].fill(0xff);
        for (what, stream) in [
            ("cut", cut),
            ("huge", &huge[..]),
            ("garbled", &garbled[..]),
            ("stray", &[1, 2][..]),
        ] {
            let err = decode(stream).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{what}: {err}");
        }
    }
}
