//! The bodies of the fuzz targets `sensor_frames` and `sealed_records`
//! (`fuzz/fuzz_targets/`), kept in the library so `tests/fuzz_corpus.rs`
//! replays the committed corpus through exactly this code on stable Rust.

use super::wire::{MAX_FRAME, MAX_HANDSHAKE_FRAME, Message, decode_frame};

/// Fuzz target `sensor_frames`: the first byte picks the frame limit (even:
/// the handshake's, odd: an authenticated sensor's); the rest is a byte
/// stream of frames, decoded one after another until one is incomplete or
/// refused. Decoding must not panic, and every accepted frame must re-encode
/// to exactly its own bytes (the format is canonical) with its cells walked
/// to the count it announced. Returns the number of frames accepted.
pub fn sensor_frames(data: &[u8]) -> usize {
    let Some((&selector, mut rest)) = data.split_first() else {
        return 0;
    };
    let limit = if selector & 1 == 0 {
        MAX_HANDSHAKE_FRAME
    } else {
        MAX_FRAME
    };
    let mut frames = 0;
    while let Ok(Some((message, used))) = decode_frame(rest, limit) {
        if let Message::Delta(d) = &message {
            let cells: usize = d.maps().map(|s| s.cells().count()).sum();
            assert_eq!(
                cells,
                d.cell_count(),
                "cells walked differ from the cells validated"
            );
        }
        let mut again = Vec::new();
        message.encode(&mut again);
        assert_eq!(again, rest[..used], "an accepted frame re-encodes differently");
        rest = &rest[used..];
        frames += 1;
    }
    frames
}

/// Seed inputs: every message kind, deltas small and large, whole
/// handshakes, and near misses of each rule (for `fuzz/corpus/sensor_frames/`).
pub fn seeds() -> Vec<Vec<u8>> {
    use super::wire::{
        CloseReason, DeltaHeader, MapCells, encode_close, encode_delta, encode_hello, encode_noise,
        encode_welcome,
    };
    let frame = |limit: u8, f: &dyn Fn(&mut Vec<u8>)| {
        let mut v = vec![limit];
        f(&mut v);
        v
    };
    let header = DeltaHeader {
        sent_at_ns: 1_625_097_600_000_000_000,
        packets: 300,
        skipped: [5, 0, 7, u64::MAX],
        kernel_drops: 2,
        interface_drops: 1 << 35,
        late: 299,
    };
    let few = [
        (0u16, 1u64),
        (80, 127),
        (443, 128),
        (8080, 1 << 40),
        (65_535, u64::MAX),
    ];
    let many: Vec<(u16, u64)> = (0..2000u16).map(|k| (k * 31, u64::from(k % 300) + 1)).collect();
    let delta = |maps: &[MapCells<'_>]| {
        frame(1, &|out| {
            encode_delta(&header, maps, out);
        })
    };
    let mut seeds = vec![
        frame(0, &|out| encode_hello("edge-1", out)),
        frame(0, &|out| encode_hello(&"x".repeat(64), out)),
        frame(0, &|out| encode_noise(&[0x5a; 48], out)),
        frame(0, &|out| encode_noise(&[0xa5; 1], out)),
        frame(0, &encode_welcome),
        frame(0, &|out| {
            encode_close(CloseReason::Auth, "authentication failed", out)
        }),
        frame(0, &|out| encode_close(CloseReason::Other(200), "", out)),
        frame(0, &|out| {
            encode_hello("edge-1", out);
            encode_noise(&[1; 48], out);
            encode_close(CloseReason::Normal, "sensor stopping", out);
        }),
        delta(&[]),
        delta(&[MapCells {
            name: "syn",
            cells: &few,
        }]),
        delta(&[
            MapCells {
                name: "syn",
                cells: &few,
            },
            MapCells {
                name: "port",
                cells: &many,
            },
            MapCells {
                name: "future_map_9",
                cells: &few[..1],
            },
        ]),
    ];
    // Every map of the catalogue, by name.
    let names: Vec<&str> = crate::maps::MAPS.iter().map(|m| m.name).collect();
    let all: Vec<MapCells<'_>> = names.iter().map(|name| MapCells { name, cells: &few }).collect();
    seeds.push(delta(&all));
    // A stream of deltas, as a sensor sends them.
    let mut stream = vec![1];
    for i in 0..4 {
        encode_delta(&header, &all[i..i + 2], &mut stream);
    }
    seeds.push(stream);
    // Near misses: each breaks one rule.
    let hand: [&[u8]; 12] = [
        &[
            0, 0, 0, 0, 14, 1, b'S', b'W', b'S', b'N', 0, 1, 6, b'e', b'd', b'g', b'e', b'-', b'1',
        ],
        &[
            0, 0, 0, 0, 14, 1, b'H', b'T', b'T', b'P', 0, 2, 6, b'e', b'd', b'g', b'e', b'-', b'1',
        ],
        &[0, 0, 0, 0, 9, 1, b'S', b'W', b'S', b'N', 0, 2, 1, b' '],
        &[0, 0, 0, 0, 0],
        &[0, 0, 0, 1, 1, 1],
        &[1, 0x7f, 0xff, 0xff, 0xff, 5],
        &[0, 0, 0, 0, 2, 4, 0],
        &[0, 0, 0, 0, 1, 9],
        &[
            1, 0, 0, 0, 0x1d, 5, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 3, b's', b'y', b'n', 2,
            0, 9, 1, 0, 8, 1,
        ],
        &[
            1, 0, 0, 0, 0x1a, 5, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 3, b's', b'y', b'n', 1,
            0, 9, 0,
        ],
        &[
            1, 0, 0, 0, 0x1b, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, b's', b'y',
            b'n', 1, 0, 9, 1,
        ],
        &[
            1, 0, 0, 0, 0x18, 5, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 3, b's', b'y', b'n',
            0xff, 0x7f,
        ],
    ];
    seeds.extend(hand.iter().map(|h| h.to_vec()));
    seeds
}

/// Fuzz target `sealed_records`: what the sealed transport does with bytes
/// an attacker controls. With the first byte even, the rest is opened as a
/// sealed record of a live session: it must be refused (forging a record
/// without the session's keys is the cipher's whole promise) and must not
/// panic. With it odd, the rest is sealed, one byte of the record (picked by
/// the first byte) altered, and the altered record must be refused while
/// the record as sealed still opens to exactly the bytes sealed.
pub fn sealed_records(data: &[u8]) {
    use super::secure::{MAX_PLAIN, pair};
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let key = super::SensorKey::from_bytes(b"fuzzing key, 16+ bytes");
    let Ok((mut sensor, mut wall)) = pair(&key, b"fuzz") else {
        panic!("an in-memory handshake failed");
    };
    let mut plain = Vec::new();
    if selector & 1 == 0 {
        assert!(wall.open(rest, &mut plain).is_err(), "a forged record opened");
        assert!(plain.is_empty());
        return;
    }
    let rest = &rest[..rest.len().min(MAX_PLAIN)];
    let mut sealed = Vec::new();
    if sensor.seal(rest, &mut sealed).is_err() {
        panic!("sealing {} bytes failed", rest.len());
    }
    let at = usize::from(selector >> 1) % sealed.len();
    let mut altered = sealed.clone();
    altered[at] ^= 1 << (selector % 8);
    assert!(
        wall.open(&altered, &mut plain).is_err(),
        "an altered record opened"
    );
    assert!(plain.is_empty());
    assert!(
        wall.open(&sealed, &mut plain).is_ok(),
        "the record as sealed did not open"
    );
    assert_eq!(plain, rest);
}

/// Seed inputs for `sealed_records`: forged records of every size class and
/// records to alter at their start, middle and tag.
pub fn sealed_seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for len in [0usize, 1, 15, 16, 17, 64, 1500, 65_535, 65_536] {
        let mut forged = vec![0u8];
        forged.extend((0..len).map(|i| i as u8));
        seeds.push(forged);
    }
    for selector in [1u8, 3, 0x41, 0x81, 0xff] {
        for len in [0usize, 5, 100, 4096] {
            let mut input = vec![selector];
            input.extend((0..len).map(|i| (i * 7) as u8));
            seeds.push(input);
        }
    }
    seeds
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensor::wire::{DeltaHeader, MapCells, encode_delta, encode_hello};

    #[test]
    fn sealed_seeds_pass_their_target() {
        for input in sealed_seeds() {
            sealed_records(&input);
        }
    }

    #[test]
    fn streams_of_good_frames_are_accepted_whole() {
        let mut input = vec![1u8];
        encode_hello("edge-1", &mut input);
        encode_delta(
            &DeltaHeader::default(),
            &[MapCells {
                name: "syn",
                cells: &[(1, 1), (2, 300)],
            }],
            &mut input,
        );
        assert_eq!(sensor_frames(&input), 2);
        assert_eq!(sensor_frames(&input[..input.len() - 1]), 1);
        assert_eq!(sensor_frames(&[]), 0);
        assert_eq!(sensor_frames(&[0, 0xff, 0xff, 0xff, 0xff]), 0);
    }

    #[test]
    fn seeds_cover_good_and_bad_frames() {
        let accepted: Vec<usize> = seeds().iter().map(|s| sensor_frames(s)).collect();
        assert!(accepted.len() >= 20);
        assert_eq!(accepted[..13], [1, 1, 1, 1, 1, 1, 1, 3, 1, 1, 1, 1, 4]);
        assert!(accepted[13..].iter().all(|&n| n == 0), "{accepted:?}");
    }
}
