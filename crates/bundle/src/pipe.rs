//! Decompression on a thread of its own, so that it overlaps with parsing and writing files.
//!
//! The producer reads compressed bytes (hashing them on the way, in the caller's
//! [`crate::DigestReader`]), decompresses them, and sends chunks through a bounded channel; the
//! consumer reads the channel as a plain [`Read`]. At most [`CHUNKS_IN_FLIGHT`] chunks of
//! [`CHUNK`] bytes wait in between, so memory stays flat whatever the bundle's size.

use std::{
    io::{self, Read},
    sync::mpsc::{sync_channel, Receiver, SyncSender},
};

/// Bytes per decompressed chunk.
pub(crate) const CHUNK: usize = 1 << 20;
/// Chunks that may wait in the channel.
pub(crate) const CHUNKS_IN_FLIGHT: usize = 4;

/// The sending side: decompressed bytes, then `Ok(empty)` at the end or the first error.
pub(crate) type Sender = SyncSender<io::Result<Vec<u8>>>;

pub(crate) fn channel() -> (Sender, ChannelReader) {
    let (sender, receiver) = sync_channel(CHUNKS_IN_FLIGHT);
    (
        sender,
        ChannelReader {
            receiver,
            chunk: Vec::new(),
            at: 0,
            done: false,
        },
    )
}

/// Send everything `source` yields in chunks, then an empty chunk for the end, or the error
/// that stopped it. Returns early, quietly, when the consumer has hung up.
pub(crate) fn pump(mut source: impl Read, sender: &Sender) {
    loop {
        let mut chunk = vec![0u8; CHUNK];
        let mut filled = 0;
        let result = loop {
            match source.read(&mut chunk[filled..]) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    filled += n;
                    if filled == CHUNK {
                        break Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        chunk.truncate(filled);
        let last = filled < CHUNK;
        match result {
            Err(e) => {
                if filled > 0 && sender.send(Ok(chunk)).is_err() {
                    return;
                }
                let _ = sender.send(Err(e));
                return;
            }
            Ok(()) => {
                if filled > 0 && sender.send(Ok(chunk)).is_err() {
                    return;
                }
                if last {
                    let _ = sender.send(Ok(Vec::new()));
                    return;
                }
            }
        }
    }
}

/// The receiving side, as a reader.
pub(crate) struct ChannelReader {
    receiver: Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
    done: bool,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            if self.done {
                return Ok(0);
            }
            match self.receiver.recv() {
                Ok(Ok(chunk)) if chunk.is_empty() => self.done = true,
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Err(io::Error::other("the decompression thread stopped"));
                }
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
