//! The bodies of the fuzz targets (`fuzz/fuzz_targets/`), kept in the library
//! so the normal test suite replays the committed corpus and every crash found
//! through exactly the same code, on stable Rust and without libFuzzer.
//!
//! Each function takes arbitrary bytes, must never panic, and panics itself
//! when an invariant that the rest of scanwall relies on does not hold (that
//! is a finding, as a crash is).

use std::io::{self, Read};

use crate::parse::{Classifier, LinkType, LocalNets};
use crate::source::blocks::{BlockReader, read_header};
use crate::source::pcap_format::{MAX_RECORD, SliceReader, StreamReader};
use crate::source::{RecordSource, SourceError};

/// Every link type, in the order the selector byte picks them.
pub const LINKS: [LinkType; 8] = LinkType::ALL;

/// The selector byte that makes [`parse_packet`] read `frame` as `link`
/// (used to write seed inputs from known packets).
pub fn packet_selector(link: LinkType) -> u8 {
    LINKS.iter().position(|&l| l == link).unwrap_or(0) as u8
}

/// Fuzz target `parse_packet`: the first byte selects the link type (low 3
/// bits) and the inbound rule (next 2 bits); the rest is one captured frame.
/// The frame is classified with its own length as the wire length and with a
/// wire length that disagrees with it, both of which must not panic.
pub fn parse_packet(data: &[u8]) {
    let Some((&selector, frame)) = data.split_first() else {
        return;
    };
    let link = LINKS[usize::from(selector & 7)];
    let locals = match (selector >> 3) & 3 {
        0 => LocalNets::default(),
        1 => local_nets(&["192.0.0.0/16", "2001:db8::/32"]),
        2 => local_nets(&["0.0.0.0/0", "::/0"]),
        _ => local_nets(&["10.0.0.0/8", "fe80::/10", "198.51.100.7"]),
    };
    let classifier = Classifier::new(link, locals);
    let _ = classifier.classify(frame, frame.len() as u32);
    let odd_wire_len = u32::from(selector).wrapping_mul(0x0101_0101) ^ frame.len() as u32;
    if let Ok(facts) = classifier.classify(frame, odd_wire_len) {
        // A port is only ever reported with its header present.
        assert!(facts.dst_port().is_some() || facts.port == 0, "{facts:?}");
    }
}

fn local_nets(texts: &[&str]) -> LocalNets {
    LocalNets::parse(texts).unwrap_or_default()
}

/// Fuzz target `read_stream`: the bytes are a pcap stream, delivered in
/// chunks of uneven size (as TCP delivers them), read by [`StreamReader`] and
/// every record classified. Checks that no record exceeds the limits and that
/// the stream reader yields exactly what the in-memory reader ([`SliceReader`])
/// and the file reader ([`BlockReader`], in blocks of a size drawn from the
/// data, so records straddle them) yield from the same bytes, down to the
/// error that ends it. Returns the number of records read.
pub fn read_stream(data: &[u8]) -> usize {
    let chunked = Chunked { data, pos: 0 };
    let mut stream = match StreamReader::new(chunked, "fuzz stream") {
        Ok(r) => r,
        Err(e) => {
            let slice = SliceReader::new(data, "fuzz stream");
            assert!(
                slice.is_err(),
                "stream refused a header the file reader accepts: {e}"
            );
            return 0;
        }
    };
    let mut slice = match SliceReader::new(data, "fuzz stream") {
        Ok(r) => r,
        Err(e) => panic!("file reader refused a header the stream reader accepts: {e}"),
    };
    let mut blocks = match read_header(&data)
        .map(|h| h.map(|h| BlockReader::new(data, h, data.len() as u64, "fuzz stream")))
    {
        Ok(Ok(Ok(r))) => r.with_block(usize::from(data.get(24).copied().unwrap_or(0)) * 5 + 1),
        _ => panic!("the block reader refused a header the memory reader accepts"),
    };
    let snaplen = stream.header().effective_snaplen();
    let classifier = Classifier::new(stream.link(), LocalNets::default());
    let mut records = 0;
    loop {
        let from_stream = stream.next_record();
        let from_slice = slice.next_record();
        match (blocks.next_record(), &from_slice) {
            (Ok(Some(a)), Ok(Some(b))) => assert_eq!(
                (a.ts_ns, a.wire_len, a.data),
                (b.ts_ns, b.wire_len, b.data),
                "file readers disagree"
            ),
            (Ok(None), Ok(None)) => {}
            (Err(a), Err(b)) => assert!(same_error(&a, b), "file readers end differently: {a} / {b}"),
            _ => panic!("the block reader and the memory reader disagree after {records} records"),
        }
        match (from_stream, from_slice) {
            (Ok(Some(a)), Ok(Some(b))) => {
                assert!(
                    a.data.len() <= MAX_RECORD && a.data.len() <= snaplen,
                    "record over the limits"
                );
                assert_eq!(
                    (a.ts_ns, a.wire_len, a.data),
                    (b.ts_ns, b.wire_len, b.data),
                    "readers disagree"
                );
                let _ = classifier.classify(a.data, a.wire_len);
                records += 1;
            }
            (Ok(None), Ok(None)) => return records,
            (Err(a), Err(b)) => {
                assert!(same_error(&a, &b), "readers end differently: {a} / {b}");
                return records;
            }
            (a, b) => panic!(
                "readers disagree after {records} records: stream {:?}, file {:?}",
                a.map(|r| r.map(|r| r.data.len())),
                b.map(|r| r.map(|r| r.data.len()))
            ),
        }
    }
}

/// Fuzz target `config_file`: the bytes are a `--config` file (TOML from
/// whoever can write to /etc/scanwall) given to the wall, `count` and
/// `snapshot`. Parsing must not panic, and a file that is refused must be
/// refused with one line naming the problem (the errors' contract).
pub fn config_file(data: &[u8]) {
    thread_local! {
        static PATH: std::path::PathBuf = std::env::temp_dir()
            .join(format!("scanwall-fuzz-config-{}-{:?}.toml", std::process::id(), std::thread::current().id()));
    }
    PATH.with(|path| {
        if std::fs::write(path, data).is_err() {
            return;
        }
        let file = path.as_os_str().to_owned();
        let lines: [&[&str]; 3] = [&[], &["count", "-r", "x.pcap"], &["snapshot", "-o", "x.png"]];
        for line in lines {
            let mut args: Vec<std::ffi::OsString> = vec!["scanwall".into()];
            args.extend(line.iter().map(Into::into));
            args.push("--config".into());
            args.push(file.clone());
            if let Err(crate::config::ParseError::Config(e)) = crate::config::try_parse_from(args) {
                let text = e.to_string();
                assert!(!text.contains('\n'), "a config error spans lines: {text:?}");
                assert!(!text.is_empty(), "an empty config error");
            }
        }
    });
}

/// Same kind of error (their byte offsets are counted alike too).
fn same_error(a: &SourceError, b: &SourceError) -> bool {
    match (a, b) {
        (SourceError::Truncated { offset: x, .. }, SourceError::Truncated { offset: y, .. }) => x == y,
        (
            SourceError::Corrupt {
                offset: x, len: m, ..
            },
            SourceError::Corrupt {
                offset: y, len: n, ..
            },
        ) => x == y && m == n,
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

/// Bytes handed out in chunks of 1 to 4096 bytes, sizes drawn from the data
/// itself so a fuzzer controls where reads split records.
struct Chunked<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = &self.data[self.pos..];
        if left.is_empty() || buf.is_empty() {
            return Ok(0);
        }
        let seed = self.data.get(self.pos / 7).copied().unwrap_or(0);
        let chunk = (usize::from(seed) * 17 + self.pos % 13) % 4096 + 1;
        let n = chunk.min(left.len()).min(buf.len());
        buf[..n].copy_from_slice(&left[..n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_pick_every_link_type() {
        for link in LINKS {
            assert_eq!(LINKS[usize::from(packet_selector(link))], link);
        }
    }

    #[test]
    fn empty_and_tiny_inputs_are_harmless() {
        parse_packet(&[]);
        parse_packet(&[0xff]);
        assert_eq!(read_stream(&[]), 0);
        assert_eq!(read_stream(&[0xd4, 0xc3, 0xb2, 0xa1]), 0);
    }

    #[test]
    fn config_files_with_hostile_values_are_refused_on_one_line() {
        for text in [
            &b"half-life = \"10s\"\nmaps = \"syn,udp\""[..],
            b"local = \"10.0.0.0/8\\nsecond line\"",
            b"maps = \"\"\"\nsyn\nudp\"\"\"",
            b"\"evil\\nkey\" = 1",
            b"filter = [\"tcp\", 3]",
            b"[table]\nx = 1",
            b"\xff\xfe not utf-8",
            b"half-life = 1e308",
            b"",
        ] {
            config_file(text);
        }
    }
}
