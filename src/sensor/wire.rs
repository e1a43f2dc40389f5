//! The sensor protocol's bytes (`docs/sensor-protocol.md`): frames and the
//! messages in them, encoded into a `Vec<u8>` and decoded from a byte slice.
//!
//! No I/O happens here, so every rule of the format is tested against bytes
//! written out by hand, and the fuzz target (`fuzz/fuzz_targets/sensor_frames.rs`)
//! drives exactly this code. Decoding treats the input as hostile: it never
//! panics, checks every length against what is left before allocating, and
//! accepts only the canonical encoding of each message, so every accepted
//! frame re-encodes to the same bytes (the fuzz target's check).
//!
//! A delta is validated whole before anything in it is used ([`DeltaView`]);
//! its cells are then read straight from the frame, without copying.

use std::fmt;

/// The protocol version this build speaks. A peer with another version is
/// refused with a [`CloseReason::Version`] message naming both. Version 2
/// seals every frame after the handshake ([`super::secure`]); version 1 sent
/// deltas in clear.
pub const VERSION: u16 = 2;
/// First bytes of a hello: marks a scanwall sensor (and nothing else talking
/// to the port by mistake).
pub const MAGIC: [u8; 4] = *b"SWSN";
/// Bytes of the length field before each frame.
pub const LENGTH_LEN: usize = 4;
/// Largest frame (type byte and payload) a wall accepts from an
/// authenticated sensor: one map's every cell always fits, and a delta that
/// does not fit is split at map boundaries.
pub const MAX_FRAME: usize = 1 << 20;
/// Largest frame before authentication: the handshake messages are small,
/// so an unauthenticated peer can make the wall buffer no more than this.
pub const MAX_HANDSHAKE_FRAME: usize = 256;
/// Longest sensor name, in bytes.
pub const MAX_NAME: usize = 64;
/// Longest map name, in bytes.
pub const MAX_MAP_NAME: usize = 32;
/// Longest close message text, in bytes (fits a handshake-sized frame).
pub const MAX_CLOSE_TEXT: usize = 200;
/// Longest Noise handshake message carried in a NOISE frame.
pub const MAX_NOISE: usize = 128;
/// Cells in a map: the most a map section can carry.
pub const MAX_CELLS: usize = crate::maps::CELLS;
/// Skip reasons a delta carries, in [`crate::parse::SkipReason::ALL`] order.
pub const SKIP_REASONS: usize = 4;
/// Most map sections in one frame (the count is one byte).
pub const MAX_SECTIONS: usize = 255;

/// Frame type bytes.
/// (2 and 3 were version 1's CHALLENGE and AUTH, retired with it.)
mod kind {
    pub const HELLO: u8 = 1;
    pub const WELCOME: u8 = 4;
    pub const DELTA: u8 = 5;
    pub const CLOSE: u8 = 6;
    pub const NOISE: u8 = 7;
}

/// The type byte of a sealed record: after the handshake every frame travels
/// inside these ([`super::conn::Conn`] opens them; they are not messages).
pub const SEALED: u8 = 8;

/// Why a side ends a connection (sent in a [`Message::Close`], so the other
/// side can say why in its log).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// An orderly end: the sensor stops, or the wall shuts down.
    Normal,
    /// The peer speaks another protocol version.
    Version,
    /// The sensor's answer did not prove it holds the key.
    Auth,
    /// A frame broke the format; the connection cannot be trusted further.
    Malformed,
    /// The wall serves as many sensors as it allows; try again later.
    Busy,
    /// The peer was silent for too long.
    Timeout,
    /// A reason this build does not know (from a newer peer).
    Other(u8),
}

impl CloseReason {
    /// The byte on the wire.
    pub fn code(self) -> u8 {
        match self {
            CloseReason::Normal => 0,
            CloseReason::Version => 1,
            CloseReason::Auth => 2,
            CloseReason::Malformed => 3,
            CloseReason::Busy => 4,
            CloseReason::Timeout => 5,
            CloseReason::Other(c) => c,
        }
    }

    /// The reason a byte on the wire stands for.
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => CloseReason::Normal,
            1 => CloseReason::Version,
            2 => CloseReason::Auth,
            3 => CloseReason::Malformed,
            4 => CloseReason::Busy,
            5 => CloseReason::Timeout,
            c => CloseReason::Other(c),
        }
    }

    /// Whether retrying cannot help until someone changes a configuration
    /// (a sensor gives up on a wall that says so).
    pub fn is_permanent(self) -> bool {
        matches!(self, CloseReason::Version | CloseReason::Auth)
    }
}

/// The packet totals and capture drops of one delta.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeltaHeader {
    /// The sensor's clock (ns since the Unix epoch) when the counts were read:
    /// the wall's packet time for them, and how it measures lag.
    pub sent_at_ns: u64,
    /// Packets handed to counting since the previous delta.
    pub packets: u64,
    /// Of those, skipped per reason, in [`crate::parse::SkipReason::ALL`] order.
    pub skipped: [u64; SKIP_REASONS],
    /// The sensor's kernel capture drops so far (a running total, so a
    /// reconnect does not lose or double them).
    pub kernel_drops: u64,
    /// The sensor's interface drops so far (a running total).
    pub interface_drops: u64,
    /// Of `packets`, those counted while this wall could not take them (the
    /// sensor was refused or the wall was unreachable): delivered late.
    pub late: u64,
}

/// One map's changed cells, for [`encode_delta`]: keys strictly ascending,
/// counts above zero (the only form a wall accepts).
#[derive(Clone, Copy, Debug)]
pub struct MapCells<'a> {
    /// The map's name (`syn`, `port`, ...), its stable identity on the wire.
    pub name: &'a str,
    /// (key, count added since the previous delta).
    pub cells: &'a [(u16, u64)],
}

/// One decoded message; text and cells borrow the frame's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// Sensor to wall, first: who it is (the version was checked on decoding).
    Hello {
        /// The sensor's name (printable ASCII, 1 to [`MAX_NAME`] bytes).
        name: &'a str,
    },
    /// Either side, in the handshake: a Noise handshake message
    /// ([`super::secure`]).
    Noise {
        /// The message's bytes (1 to [`MAX_NOISE`]).
        msg: &'a [u8],
    },
    /// Wall to sensor: authenticated, send deltas.
    Welcome,
    /// Sensor to wall: counts added since the previous delta.
    Delta(DeltaView<'a>),
    /// Either side: the connection ends, and why.
    Close {
        /// Why.
        reason: CloseReason,
        /// Said for a person (UTF-8, at most [`MAX_CLOSE_TEXT`] bytes).
        text: &'a str,
    },
}

/// What is wrong with bytes that claim to be a frame. Each message says what
/// was found, for the log line that drops the connection.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The length field is 0 or over the limit in force.
    #[error("frame of {len} bytes (the limit here is {limit})")]
    FrameSize {
        /// What the length field said.
        len: u32,
        /// The limit in force (handshake or delta).
        limit: usize,
    },
    /// The frame ends inside a field.
    #[error("frame ends inside the {0}")]
    Truncated(&'static str),
    /// Bytes are left after the message.
    #[error("{0} bytes after the end of the message")]
    Trailing(usize),
    /// An unknown frame type.
    #[error("unknown frame type {0}")]
    UnknownType(u8),
    /// A hello without the magic bytes.
    #[error("not a scanwall sensor (the hello lacks the SWSN magic)")]
    BadMagic,
    /// The peer speaks another protocol version.
    #[error("protocol version {0}, this side speaks version {VERSION}")]
    Version(u16),
    /// A sensor name that is empty, too long or not printable ASCII.
    #[error("sensor name must be 1 to {MAX_NAME} printable ASCII characters without spaces")]
    BadName,
    /// A map name that is empty, too long or not `[a-z0-9_]`.
    #[error("map name must be 1 to {MAX_MAP_NAME} characters of a-z, 0-9 and _")]
    BadMapName,
    /// A close text that is not UTF-8 or too long.
    #[error("close text must be UTF-8 of at most {MAX_CLOSE_TEXT} bytes")]
    BadText,
    /// A varint longer than 10 bytes, over 64 bits, or not in its shortest form.
    #[error("bad varint in the {0}")]
    BadVarint(&'static str),
    /// A map section with no cells, or more than a map has.
    #[error("map `{0}` carries an impossible number of cells")]
    CellCount(String),
    /// A cell count of zero.
    #[error("map `{0}` has a cell with count 0")]
    ZeroCount(String),
    /// Cell keys not strictly ascending.
    #[error("map `{0}` has cell keys out of order or repeated")]
    KeyOrder(String),
    /// More late packets than packets.
    #[error("more late packets than packets")]
    Late,
    /// The same map twice in one frame.
    #[error("map `{0}` appears twice in one delta")]
    DuplicateMap(String),
}

// ---------------------------------------------------------------------------
// Encoding

/// Appends `v` as an unsigned LEB128 varint (1 to 10 bytes).
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The encoded length of `v` as a varint.
pub fn varint_len(v: u64) -> usize {
    let bits = 64 - v.max(1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Starts a frame of type `kind`; returns where its length field is.
fn begin(out: &mut Vec<u8>, kind: u8) -> usize {
    let at = out.len();
    out.extend_from_slice(&[0; LENGTH_LEN]);
    out.push(kind);
    at
}

/// Writes the length of the frame that started at `at`.
fn end(out: &mut [u8], at: usize) {
    let len = out.len() - at - LENGTH_LEN;
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    out[at..at + LENGTH_LEN].copy_from_slice(&len.to_be_bytes());
}

/// Appends a HELLO frame for the sensor `name` (this build's version).
pub fn encode_hello(name: &str, out: &mut Vec<u8>) {
    let at = begin(out, kind::HELLO);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_be_bytes());
    let name = &name.as_bytes()[..name.len().min(MAX_NAME)];
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    end(out, at);
}

/// Appends a NOISE frame carrying a handshake message (cut to [`MAX_NOISE`]).
pub fn encode_noise(msg: &[u8], out: &mut Vec<u8>) {
    let at = begin(out, kind::NOISE);
    out.extend_from_slice(&msg[..msg.len().min(MAX_NOISE)]);
    end(out, at);
}

/// Appends a SEALED record's header for `sealed_len` bytes of sealed data
/// (which the caller appends next).
pub fn begin_sealed(sealed_len: usize, out: &mut Vec<u8>) {
    let len = u32::try_from(sealed_len + 1).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.push(SEALED);
}

/// Appends a WELCOME frame.
pub fn encode_welcome(out: &mut Vec<u8>) {
    let at = begin(out, kind::WELCOME);
    end(out, at);
}

/// Appends a CLOSE frame; `text` is cut (at a character boundary) to
/// [`MAX_CLOSE_TEXT`] bytes.
pub fn encode_close(reason: CloseReason, text: &str, out: &mut Vec<u8>) {
    let mut cut = text.len().min(MAX_CLOSE_TEXT);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let text = &text.as_bytes()[..cut];
    let at = begin(out, kind::CLOSE);
    out.push(reason.code());
    out.extend_from_slice(&(text.len() as u16).to_be_bytes());
    out.extend_from_slice(text);
    end(out, at);
}

/// Appends a delta as one DELTA frame, or several when it would exceed
/// [`MAX_FRAME`]: split between maps, the totals in the first frame and zero
/// in the rest, every frame with the same time and drop totals. Empty maps
/// are left out; a delta with no cells is still sent (it is the sensor's
/// heartbeat and carries its drops). Returns the number of frames.
///
/// Each map's `cells` must have strictly ascending keys; zero counts are
/// left out.
pub fn encode_delta(header: &DeltaHeader, maps: &[MapCells<'_>], out: &mut Vec<u8>) -> usize {
    let mut frames = 1;
    let mut totals = *header;
    let (mut at, mut count_at) = begin_delta(&totals, out);
    let mut sections = 0usize;
    for map in maps {
        let cells = map.cells.iter().filter(|(_, c)| *c > 0);
        let n = cells.clone().count();
        if n == 0 {
            continue;
        }
        debug_assert!(
            map.cells.windows(2).all(|w| w[0].0 < w[1].0),
            "cells of {} not ascending",
            map.name
        );
        let name = &map.name.as_bytes()[..map.name.len().min(MAX_MAP_NAME)];
        let size = 1
            + name.len()
            + varint_len(n as u64)
            + cells.clone().map(|(_, c)| 2 + varint_len(*c)).sum::<usize>();
        let frame_len = out.len() - at - LENGTH_LEN;
        if frame_len + size > MAX_FRAME || sections == MAX_SECTIONS {
            out[count_at] = sections as u8;
            end(out, at);
            totals = DeltaHeader {
                sent_at_ns: header.sent_at_ns,
                kernel_drops: header.kernel_drops,
                interface_drops: header.interface_drops,
                ..DeltaHeader::default() // (late, like packets, is carried by the first frame only)
            };
            (at, count_at) = begin_delta(&totals, out);
            sections = 0;
            frames += 1;
        }
        out.push(name.len() as u8);
        out.extend_from_slice(name);
        put_varint(out, n as u64);
        for &(key, count) in cells {
            out.extend_from_slice(&key.to_be_bytes());
            put_varint(out, count);
        }
        sections += 1;
    }
    out[count_at] = sections as u8;
    end(out, at);
    frames
}

/// Starts a DELTA frame with `h`; returns where its length field and its map
/// count are.
fn begin_delta(h: &DeltaHeader, out: &mut Vec<u8>) -> (usize, usize) {
    let at = begin(out, kind::DELTA);
    out.extend_from_slice(&h.sent_at_ns.to_be_bytes());
    put_varint(out, h.packets);
    for &s in &h.skipped {
        put_varint(out, s);
    }
    put_varint(out, h.kernel_drops);
    put_varint(out, h.interface_drops);
    put_varint(out, h.late);
    out.push(0);
    (at, out.len() - 1)
}

impl Message<'_> {
    /// Appends this message as a frame (a delta too large for one frame is
    /// split, see [`encode_delta`]).
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Message::Hello { name } => encode_hello(name, out),
            Message::Noise { msg } => encode_noise(msg, out),
            Message::Welcome => encode_welcome(out),
            Message::Close { reason, text } => encode_close(*reason, text, out),
            Message::Delta(d) => {
                let owned: Vec<(&str, Vec<(u16, u64)>)> =
                    d.maps().map(|s| (s.name, s.cells().collect())).collect();
                let maps: Vec<MapCells<'_>> = owned
                    .iter()
                    .map(|(name, cells)| MapCells { name, cells })
                    .collect();
                encode_delta(&d.header, &maps, out);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Decoding

/// The length of the frame body announced by a length field, checked against
/// `limit` (use [`MAX_HANDSHAKE_FRAME`] before authentication).
pub fn frame_len(field: [u8; LENGTH_LEN], limit: usize) -> Result<usize, WireError> {
    let len = u32::from_be_bytes(field);
    let n = len as usize;
    if n == 0 || n > limit {
        return Err(WireError::FrameSize { len, limit });
    }
    Ok(n)
}

/// Decodes the first frame in `buf`: `Ok(None)` when `buf` holds only part of
/// it (read more), else the message and the bytes it used.
pub fn decode_frame(buf: &[u8], limit: usize) -> Result<Option<(Message<'_>, usize)>, WireError> {
    let Some((field, rest)) = buf.split_first_chunk::<LENGTH_LEN>() else {
        return Ok(None);
    };
    let n = frame_len(*field, limit)?;
    let Some(body) = rest.get(..n) else {
        return Ok(None);
    };
    decode_body(body).map(|m| Some((m, LENGTH_LEN + n)))
}

/// Decodes one frame body (type byte and payload, without the length field).
pub fn decode_body(body: &[u8]) -> Result<Message<'_>, WireError> {
    let mut r = Reader { buf: body, pos: 0 };
    let message = match r.u8("frame type")? {
        kind::HELLO => {
            if r.bytes(MAGIC.len(), "magic").ok() != Some(&MAGIC[..]) {
                return Err(WireError::BadMagic);
            }
            version(r.u16("version")?)?;
            let n = usize::from(r.u8("name length")?);
            let name = r.bytes(n, "name")?;
            Message::Hello {
                name: sensor_name(name).ok_or(WireError::BadName)?,
            }
        }
        kind::NOISE => {
            let msg = r.bytes(r.left(), "handshake message")?;
            if msg.is_empty() || msg.len() > MAX_NOISE {
                return Err(WireError::Truncated("handshake message"));
            }
            Message::Noise { msg }
        }
        kind::WELCOME => Message::Welcome,
        kind::DELTA => Message::Delta(DeltaView::decode(&mut r)?),
        kind::CLOSE => {
            let reason = CloseReason::from_code(r.u8("close reason")?);
            let n = usize::from(r.u16("close text length")?);
            if n > MAX_CLOSE_TEXT {
                return Err(WireError::BadText);
            }
            let text = std::str::from_utf8(r.bytes(n, "close text")?).map_err(|_| WireError::BadText)?;
            Message::Close { reason, text }
        }
        other => return Err(WireError::UnknownType(other)),
    };
    match r.left() {
        0 => Ok(message),
        n => Err(WireError::Trailing(n)),
    }
}

fn version(v: u16) -> Result<(), WireError> {
    if v == VERSION {
        Ok(())
    } else {
        Err(WireError::Version(v))
    }
}

/// `bytes` as a sensor name when it is one: 1 to [`MAX_NAME`] bytes of
/// printable ASCII without spaces (names go into log lines and on the wall,
/// so no control characters can ride along).
pub fn sensor_name(bytes: &[u8]) -> Option<&str> {
    let ok = !bytes.is_empty() && bytes.len() <= MAX_NAME && bytes.iter().all(u8::is_ascii_graphic);
    ok.then(|| std::str::from_utf8(bytes).ok()).flatten()
}

fn map_name(bytes: &[u8]) -> Option<&str> {
    let ok = !bytes.is_empty()
        && bytes.len() <= MAX_MAP_NAME
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
    ok.then(|| std::str::from_utf8(bytes).ok()).flatten()
}

/// A cursor over a frame body; every read checks what is left first.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn left(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).ok_or(WireError::Truncated(what))?;
        let b = self.buf.get(self.pos..end).ok_or(WireError::Truncated(what))?;
        self.pos = end;
        Ok(b)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], WireError> {
        let b = self.bytes(N, what)?;
        b.try_into().map_err(|_| WireError::Truncated(what))
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// An unsigned LEB128 varint in its shortest form, at most 64 bits.
    fn varint(&mut self, what: &'static str) -> Result<u64, WireError> {
        let mut v = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(WireError::Truncated(what));
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(WireError::BadVarint(what));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return Err(WireError::BadVarint(what));
                }
                return Ok(v);
            }
        }
        Err(WireError::BadVarint(what))
    }
}

/// A validated delta, its map sections still in the frame's bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DeltaView<'a> {
    /// Totals, time and drops.
    pub header: DeltaHeader,
    sections: &'a [u8],
    section_count: usize,
    cell_count: usize,
}

impl fmt::Debug for DeltaView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeltaView")
            .field("header", &self.header)
            .field(
                "maps",
                &self.maps().map(|s| (s.name, s.len())).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl<'a> DeltaView<'a> {
    /// Reads and checks the rest of a DELTA frame: every section, name, key
    /// order and count, so nothing of a bad frame is ever merged.
    fn decode(r: &mut Reader<'a>) -> Result<Self, WireError> {
        let sent_at_ns = r.u64("timestamp")?;
        let packets = r.varint("packet total")?;
        let mut skipped = [0; SKIP_REASONS];
        for s in &mut skipped {
            *s = r.varint("skip totals")?;
        }
        let kernel_drops = r.varint("kernel drops")?;
        let interface_drops = r.varint("interface drops")?;
        let late = r.varint("late packets")?;
        if late > packets {
            return Err(WireError::Late);
        }
        let section_count = usize::from(r.u8("map count")?);
        let start = r.pos;
        let mut names: Vec<&str> = Vec::new();
        let mut cell_count = 0usize;
        for _ in 0..section_count {
            let n = usize::from(r.u8("map name length")?);
            let name = map_name(r.bytes(n, "map name")?).ok_or(WireError::BadMapName)?;
            if names.contains(&name) {
                return Err(WireError::DuplicateMap(name.into()));
            }
            names.push(name);
            let cells = r.varint("cell count")?;
            // Each cell takes at least 3 bytes: no count can claim more than fits.
            if cells == 0 || cells > MAX_CELLS as u64 || cells > (r.left() / 3) as u64 {
                return Err(WireError::CellCount(name.into()));
            }
            let mut previous: Option<u16> = None;
            for _ in 0..cells {
                let key = r.u16("cell key")?;
                if previous.is_some_and(|p| key <= p) {
                    return Err(WireError::KeyOrder(name.into()));
                }
                previous = Some(key);
                if r.varint("cell count")? == 0 {
                    return Err(WireError::ZeroCount(name.into()));
                }
            }
            cell_count += cells as usize;
        }
        Ok(DeltaView {
            header: DeltaHeader {
                sent_at_ns,
                packets,
                skipped,
                kernel_drops,
                interface_drops,
                late,
            },
            sections: &r.buf[start..r.pos],
            section_count,
            cell_count,
        })
    }

    /// The map sections, in frame order.
    pub fn maps(&self) -> Sections<'a> {
        Sections {
            r: Reader {
                buf: self.sections,
                pos: 0,
            },
            left: self.section_count,
        }
    }

    /// Cells in all sections together.
    pub fn cell_count(&self) -> usize {
        self.cell_count
    }
}

/// The map sections of a [`DeltaView`].
pub struct Sections<'a> {
    r: Reader<'a>,
    left: usize,
}

impl<'a> Iterator for Sections<'a> {
    type Item = MapSection<'a>;

    fn next(&mut self) -> Option<MapSection<'a>> {
        // The bytes were validated: a failure here cannot happen, and ends the walk.
        self.left = self.left.checked_sub(1)?;
        let n = usize::from(self.r.u8("map name length").ok()?);
        let name = map_name(self.r.bytes(n, "map name").ok()?)?;
        let count = self.r.varint("cell count").ok()? as usize;
        let start = self.r.pos;
        for _ in 0..count {
            self.r.u16("cell key").ok()?;
            self.r.varint("cell count").ok()?;
        }
        Some(MapSection {
            name,
            cells: &self.r.buf[start..self.r.pos],
            count,
        })
    }
}

/// One map's cells in a delta.
#[derive(Clone, Copy, Debug)]
pub struct MapSection<'a> {
    /// The map's name as sent (a wall ignores maps it does not count).
    pub name: &'a str,
    cells: &'a [u8],
    count: usize,
}

impl<'a> MapSection<'a> {
    /// Number of cells.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the section has no cells (never true of a decoded one).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// (key, count) pairs, keys ascending.
    pub fn cells(&self) -> Cells<'a> {
        Cells {
            r: Reader {
                buf: self.cells,
                pos: 0,
            },
        }
    }
}

/// The cells of a [`MapSection`].
pub struct Cells<'a> {
    r: Reader<'a>,
}

impl Iterator for Cells<'_> {
    type Item = (u16, u64);

    fn next(&mut self) -> Option<(u16, u64)> {
        if self.r.left() == 0 {
            return None;
        }
        let key = self.r.u16("cell key").ok()?;
        let count = self.r.varint("cell count").ok()?;
        Some((key, count))
    }
}

#[cfg(test)]
mod tests;
