//! Frames over a TCP connection, for both ends: read one whole frame within a
//! deadline into a buffer that never grows past the limit in force, and
//! write frames out. The bytes themselves are [`super::wire`]'s business.
//!
//! Once the handshake has given the connection its keys ([`Conn::seal`]),
//! everything written is one plaintext stream of frames cut into sealed
//! records ([`super::secure`]), and everything read is opened record by
//! record into a plaintext buffer that frames are read from, with the same
//! limits: a frame's length is checked as soon as its four bytes are open,
//! so a peer can make this end hold at most one frame and one record.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::secure::{self, Sealer, SecureError};
use super::wire::{self, CloseReason, LENGTH_LEN, Message, SEALED, WireError};

/// Why no frame could be read.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    /// The peer closed the connection between frames.
    #[error("connection closed")]
    Closed,
    /// Nothing (or not a whole frame) arrived in time.
    #[error("nothing arrived in time")]
    Timeout,
    /// The connection failed.
    #[error("{0}")]
    Io(io::Error),
    /// The bytes broke the format.
    #[error("{0}")]
    Wire(WireError),
    /// A sealed record did not open: the connection was tampered with.
    #[error("{0}")]
    Sealed(SecureError),
}

/// One end of a sensor connection.
pub struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    buf: Vec<u8>,
    out: Vec<u8>,
    /// The session's keys and buffers, once the handshake has finished.
    sealed: Option<Box<Sealed>>,
}

/// A sealed connection's state.
struct Sealed {
    sealer: Sealer,
    /// Opened bytes not yet read as frames, from `start` on.
    plain: Vec<u8>,
    start: usize,
    /// One sealed record as it arrives.
    record: Vec<u8>,
    /// What a send writes: the sealed records.
    records: Vec<u8>,
}

impl Conn {
    /// Wraps a connected stream (blocking, no Nagle delay: deltas are small
    /// and their lag matters).
    pub fn new(stream: TcpStream, peer: SocketAddr) -> Conn {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_nodelay(true);
        Conn {
            stream,
            peer,
            buf: Vec::new(),
            out: Vec::new(),
            sealed: None,
        }
    }

    /// From now on, every frame is sealed with `sealer` both ways.
    pub fn seal(&mut self, sealer: Sealer) {
        self.sealed = Some(Box::new(Sealed {
            sealer,
            plain: Vec::new(),
            start: 0,
            record: Vec::new(),
            records: Vec::new(),
        }));
    }

    /// The other end's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The underlying stream (to shut it down from another thread).
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Reads one frame of at most `limit` bytes, waiting at most until
    /// `deadline`; the length is checked before the body is read, so an
    /// oversized frame costs four bytes of buffer.
    pub fn read(&mut self, limit: usize, deadline: Instant) -> Result<Message<'_>, ConnError> {
        if self.sealed.is_some() {
            return self.read_sealed(limit, deadline);
        }
        let mut field = [0u8; LENGTH_LEN];
        self.fill(&mut field, deadline, true)?;
        let n = wire::frame_len(field, limit).map_err(ConnError::Wire)?;
        let mut body = std::mem::take(&mut self.buf);
        body.clear();
        body.resize(n, 0);
        let filled = self.fill(&mut body, deadline, false);
        self.buf = body;
        filled?;
        wire::decode_body(&self.buf).map_err(ConnError::Wire)
    }

    /// [`Conn::read`] on a sealed connection: opens records until a whole
    /// frame is in the plaintext buffer.
    fn read_sealed(&mut self, limit: usize, deadline: Instant) -> Result<Message<'_>, ConnError> {
        let Some(mut s) = self.sealed.take() else {
            return Err(ConnError::Closed);
        };
        // Bytes of frames already read are dropped first.
        s.plain.drain(..s.start);
        s.start = 0;
        let got = self.open_until(&mut s, LENGTH_LEN, deadline).and_then(|()| {
            let mut field = [0u8; LENGTH_LEN];
            field.copy_from_slice(&s.plain[..LENGTH_LEN]);
            let n = wire::frame_len(field, limit).map_err(ConnError::Wire)?;
            self.open_until(&mut s, LENGTH_LEN + n, deadline)?;
            Ok(n)
        });
        self.sealed = Some(s);
        let n = got?;
        let Some(s) = self.sealed.as_mut() else {
            return Err(ConnError::Closed);
        };
        s.start = LENGTH_LEN + n;
        wire::decode_body(&s.plain[LENGTH_LEN..LENGTH_LEN + n]).map_err(ConnError::Wire)
    }

    /// Opens sealed records into `s.plain` until it holds `want` bytes.
    fn open_until(&mut self, s: &mut Sealed, want: usize, deadline: Instant) -> Result<(), ConnError> {
        while s.plain.len() < want {
            let mut field = [0u8; LENGTH_LEN];
            // A connection may end cleanly only between frames.
            self.fill(&mut field, deadline, s.plain.is_empty())?;
            let n = wire::frame_len(field, secure::MAX_SEALED + 1).map_err(ConnError::Wire)?;
            let mut record = std::mem::take(&mut s.record);
            record.clear();
            record.resize(n, 0);
            let filled = self.fill(&mut record, deadline, false);
            s.record = record;
            filled?;
            if s.record[0] != SEALED {
                return Err(ConnError::Wire(WireError::UnknownType(s.record[0])));
            }
            s.sealer
                .open(&s.record[1..], &mut s.plain)
                .map_err(ConnError::Sealed)?;
        }
        Ok(())
    }

    /// Fills `buf` from the stream by `deadline`. End of stream before the
    /// first byte of a frame is [`ConnError::Closed`]; inside one, a
    /// truncated frame.
    fn fill(&mut self, buf: &mut [u8], deadline: Instant, frame_start: bool) -> Result<(), ConnError> {
        let mut got = 0;
        while got < buf.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ConnError::Timeout);
            }
            let _ = self.stream.set_read_timeout(Some(left));
            match self.stream.read(&mut buf[got..]) {
                Ok(0) if got == 0 && frame_start => return Err(ConnError::Closed),
                Ok(0) => return Err(ConnError::Wire(WireError::Truncated("frame (connection closed)"))),
                Ok(n) => got += n,
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    return Err(ConnError::Timeout);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ConnError::Io(e)),
            }
        }
        Ok(())
    }

    /// Writes what `encode` appends, as one write, giving up after `timeout`
    /// (a peer that stops reading cannot hold this end for ever).
    pub fn send(&mut self, timeout: Duration, encode: impl FnOnce(&mut Vec<u8>)) -> io::Result<usize> {
        self.out.clear();
        encode(&mut self.out);
        let _ = self
            .stream
            .set_write_timeout(Some(timeout.max(Duration::from_millis(1))));
        let Some(s) = self.sealed.as_mut() else {
            self.stream.write_all(&self.out)?;
            return Ok(self.out.len());
        };
        s.records.clear();
        for chunk in self.out.chunks(secure::MAX_PLAIN) {
            wire::begin_sealed(chunk.len() + secure::TAG_LEN, &mut s.records);
            s.sealer
                .seal(chunk, &mut s.records)
                .map_err(|e| io::Error::other(e.to_string()))?;
        }
        self.stream.write_all(&s.records)?;
        Ok(s.records.len())
    }

    /// Sends a CLOSE (best effort) and shuts the connection down.
    pub fn close(&mut self, reason: CloseReason, text: &str) {
        self.send_close(reason, text);
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Sends a CLOSE (best effort) and leaves the connection open: follow
    /// with [`Conn::linger`] for an orderly end.
    pub fn send_close(&mut self, reason: CloseReason, text: &str) {
        let _ = self.send(Duration::from_secs(1), |out| {
            wire::encode_close(reason, text, out)
        });
    }

    /// Looks for a frame the peer sent without waiting: `Ok(None)` when
    /// nothing has arrived. Used by a sensor between deltas to hear a wall's
    /// CLOSE; a wall sends nothing else after WELCOME.
    pub fn poll(&mut self, limit: usize) -> Result<Option<Message<'_>>, ConnError> {
        if self.sealed.as_ref().is_some_and(|s| s.plain.len() > s.start) {
            return self
                .read(limit, Instant::now() + Duration::from_secs(1))
                .map(Some);
        }
        let mut probe = [0u8; 1];
        let _ = self.stream.set_nonblocking(true);
        let peeked = self.stream.peek(&mut probe);
        let _ = self.stream.set_nonblocking(false);
        match peeked {
            Ok(0) => Err(ConnError::Closed),
            Ok(_) => self
                .read(limit, Instant::now() + Duration::from_secs(1))
                .map(Some),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(ConnError::Io(e)),
        }
    }

    /// After sending a CLOSE: waits (at most `timeout`) for the peer to close
    /// its side, so nothing sent is lost to a reset when this process exits.
    pub fn linger(&mut self, timeout: Duration) {
        let _ = self.stream.shutdown(Shutdown::Write);
        let deadline = Instant::now() + timeout;
        let mut sink = [0u8; 512];
        while Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            let _ = self
                .stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))));
            match self.stream.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
}

/// Text from the other side, made safe for one log line: control characters
/// become `?` (a CLOSE text is the peer's words, not ours).
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair() -> (Conn, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        let client = TcpStream::connect(addr).expect("connect");
        let (server, peer) = l.accept().expect("accept");
        (Conn::new(server, peer), client)
    }

    #[test]
    fn frames_are_read_whole_and_limits_checked_first() {
        let (mut c, mut peer) = pair();
        let soon = || Instant::now() + Duration::from_secs(5);
        let mut hello = Vec::new();
        wire::encode_hello("edge-1", &mut hello);
        // Delivered a byte at a time, it still arrives as one frame.
        for b in &hello {
            peer.write_all(&[*b]).expect("write");
        }
        assert!(matches!(
            c.read(wire::MAX_HANDSHAKE_FRAME, soon()),
            Ok(Message::Hello { name: "edge-1" })
        ));
        peer.write_all(&[0x7f, 0xff, 0xff, 0xff]).expect("write");
        assert!(matches!(
            c.read(wire::MAX_FRAME, soon()),
            Err(ConnError::Wire(WireError::FrameSize { .. }))
        ));
        assert!(c.buf.capacity() < 1024, "nothing was buffered for the huge frame");
    }

    #[test]
    fn silence_and_closing_are_told_apart() {
        let (mut c, peer) = pair();
        let t = c.read(64, Instant::now() + Duration::from_millis(30));
        assert!(matches!(t, Err(ConnError::Timeout)), "{t:?}");
        assert!(matches!(c.poll(64), Ok(None)));
        drop(peer);
        assert!(matches!(
            c.read(64, Instant::now() + Duration::from_secs(5)),
            Err(ConnError::Closed)
        ));
    }

    #[test]
    fn peer_text_is_one_safe_line() {
        assert_eq!(printable("bad\nkey\x1b[0m"), "bad?key?[0m");
    }
}
