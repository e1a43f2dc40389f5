//! Every rule of the sensor protocol's bytes against frames written out by
//! hand (`docs/sensor-protocol.md`), and round trips through the encoder.

use super::*;

fn one(bytes: &[u8], limit: usize) -> Result<Message<'_>, WireError> {
    match decode_frame(bytes, limit)? {
        Some((m, used)) => {
            assert_eq!(used, bytes.len(), "frame length");
            Ok(m)
        }
        None => panic!("incomplete"),
    }
}

/// Every accepted frame re-encodes to exactly its bytes.
fn round_trip(bytes: &[u8]) {
    let m = one(bytes, MAX_FRAME).expect("decodes");
    let mut again = Vec::new();
    m.encode(&mut again);
    assert_eq!(again, bytes);
}

#[test]
fn hello_as_in_the_doc() {
    #[rustfmt::skip]
    let frame = [
        0x00, 0x00, 0x00, 0x0e,       // length 14
        0x01,                         // HELLO
        b'S', b'W', b'S', b'N',       // magic
        0x00, 0x02,                   // version 2
        0x06,                         // name length
        b'e', b'd', b'g', b'e', b'-', b'1',
    ];
    assert_eq!(
        one(&frame, MAX_HANDSHAKE_FRAME),
        Ok(Message::Hello { name: "edge-1" })
    );
    let mut out = Vec::new();
    encode_hello("edge-1", &mut out);
    assert_eq!(out, frame);
}

#[test]
fn noise_and_welcome_as_in_the_doc() {
    let mut frame = vec![0x00, 0x00, 0x00, 0x31, 0x07];
    frame.extend(0..48u8);
    let msg: Vec<u8> = (0..48u8).collect();
    assert_eq!(one(&frame, MAX_HANDSHAKE_FRAME), Ok(Message::Noise { msg: &msg }));
    round_trip(&frame);
    assert_eq!(
        one(&[0, 0, 0, 1, 0x07], MAX_HANDSHAKE_FRAME),
        Err(WireError::Truncated("handshake message"))
    );
    let mut long = vec![0x00, 0x00, 0x00, 0x82, 0x07];
    long.extend([0u8; 129]);
    assert!(one(&long, MAX_HANDSHAKE_FRAME).is_err(), "over MAX_NOISE");

    assert_eq!(
        one(&[0, 0, 0, 1, 0x04], MAX_HANDSHAKE_FRAME),
        Ok(Message::Welcome)
    );
    round_trip(&[0, 0, 0, 1, 0x04]);
    // Version 1's CHALLENGE and AUTH are retired.
    assert_eq!(
        one(&[0, 0, 0, 1, 0x02], MAX_FRAME),
        Err(WireError::UnknownType(2))
    );
    assert_eq!(
        one(&[0, 0, 0, 1, 0x03], MAX_FRAME),
        Err(WireError::UnknownType(3))
    );
}

#[test]
fn close_as_in_the_doc() {
    #[rustfmt::skip]
    let frame = [
        0x00, 0x00, 0x00, 0x08,       // length 8
        0x06,                         // CLOSE
        0x02,                         // reason: authentication
        0x00, 0x04,                   // text length
        b'n', b'o', b'p', b'e',
    ];
    assert_eq!(
        one(&frame, MAX_HANDSHAKE_FRAME),
        Ok(Message::Close {
            reason: CloseReason::Auth,
            text: "nope"
        })
    );
    round_trip(&frame);
}

/// The delta of the protocol document's example.
#[rustfmt::skip]
const DOC_DELTA: [u8; 45] = [
    0x00, 0x00, 0x00, 0x29,                         // length 41
    0x05,                                           // DELTA
    0x16, 0x8d, 0x81, 0xa8, 0x35, 0x57, 0x00, 0x00, // sent at 1625097600 s (ns)
    0xac, 0x02,                                     // packets 300
    0x05, 0x00, 0x07, 0x00,                         // skipped: not_ip 5, malformed 0, not_inbound 7, filtered 0
    0x02, 0x00,                                     // drops: kernel 2, interface 0
    0x0a,                                           // late 10 (of the 300)
    0x02,                                           // two maps
    0x03, b's', b'y', b'n',                         // "syn"
    0x02,                                           // two cells
    0x25, 0xc8, 0x01,                               //   key 9672 (x.x.37.200): 1
    0x25, 0xc9, 0x96, 0x01,                         //   key 9673: 150
    0x04, b'p', b'o', b'r', b't',                   // "port"
    0x01,                                           // one cell
    0x1f, 0x90, 0x80, 0x01,                         //   key 8080: 128
];

#[test]
fn delta_as_in_the_doc() {
    let Ok(Message::Delta(d)) = one(&DOC_DELTA, MAX_FRAME) else {
        panic!("not a delta")
    };
    assert_eq!(
        d.header,
        DeltaHeader {
            sent_at_ns: 1_625_097_600_000_000_000,
            packets: 300,
            skipped: [5, 0, 7, 0],
            kernel_drops: 2,
            interface_drops: 0,
            late: 10,
        }
    );
    let maps: Vec<(&str, Vec<(u16, u64)>)> = d.maps().map(|s| (s.name, s.cells().collect())).collect();
    assert_eq!(
        maps,
        [("syn", vec![(9672, 1), (9673, 150)]), ("port", vec![(8080, 128)])]
    );
    assert_eq!(d.cell_count(), 3);
    round_trip(&DOC_DELTA);
}

#[test]
fn empty_delta_is_a_heartbeat() {
    let header = DeltaHeader {
        sent_at_ns: 7,
        kernel_drops: 1,
        ..DeltaHeader::default()
    };
    let mut out = Vec::new();
    assert_eq!(
        encode_delta(
            &header,
            &[MapCells {
                name: "syn",
                cells: &[]
            }],
            &mut out
        ),
        1
    );
    #[rustfmt::skip]
    let expected = [
        0, 0, 0, 0x12, 0x05,
        0, 0, 0, 0, 0, 0, 0, 7,
        0, 0, 0, 0, 0, 1, 0,
        0, // none late
        0,
    ];
    assert_eq!(out, expected);
    round_trip(&out);
}

#[test]
fn varints_are_leb128_in_shortest_form() {
    for v in [0, 1, 127, 128, 300, 16_383, 16_384, u64::from(u32::MAX), u64::MAX] {
        let mut b = Vec::new();
        put_varint(&mut b, v);
        assert_eq!(b.len(), varint_len(v), "{v}");
        let mut r = Reader { buf: &b, pos: 0 };
        assert_eq!(r.varint("x"), Ok(v));
    }
    let bad: [&[u8]; 4] = [
        &[0x80, 0x00],                                                 // overlong zero
        &[0xff, 0x80, 0x00],                                           // overlong
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02], // over 64 bits
        &[0x80; 11],
    ];
    for b in bad {
        let mut r = Reader { buf: b, pos: 0 };
        assert_eq!(r.varint("x"), Err(WireError::BadVarint("x")), "{b:?}");
    }
    let mut r = Reader { buf: &[0x80], pos: 0 };
    assert_eq!(r.varint("x"), Err(WireError::Truncated("x")));
}

#[test]
fn partial_frames_ask_for_more() {
    for cut in 0..DOC_DELTA.len() {
        assert_eq!(decode_frame(&DOC_DELTA[..cut], MAX_FRAME), Ok(None), "{cut}");
    }
}

#[test]
fn frame_size_limits() {
    assert_eq!(
        decode_frame(&[0, 0, 0, 0], MAX_FRAME),
        Err(WireError::FrameSize {
            len: 0,
            limit: MAX_FRAME
        })
    );
    assert_eq!(
        decode_frame(&[0x7f, 0xff, 0xff, 0xff, 5], MAX_FRAME),
        Err(WireError::FrameSize {
            len: 0x7fff_ffff,
            limit: MAX_FRAME
        })
    );
    // Before authentication, 256 bytes is the most: refused on the length alone.
    assert_eq!(decode_frame(&[0, 0, 1, 0], MAX_HANDSHAKE_FRAME), Ok(None));
    assert_eq!(
        decode_frame(&[0, 0, 1, 1], MAX_HANDSHAKE_FRAME),
        Err(WireError::FrameSize {
            len: 257,
            limit: MAX_HANDSHAKE_FRAME
        })
    );
}

#[test]
fn bad_handshakes_are_named() {
    let hello = |magic: &[u8], version: [u8; 2], name: &[u8]| {
        let mut b = vec![0, 0, 0, 0, 0x01];
        b.extend_from_slice(magic);
        b.extend_from_slice(&version);
        b.push(name.len() as u8);
        b.extend_from_slice(name);
        let n = (b.len() - 4) as u32;
        b[..4].copy_from_slice(&n.to_be_bytes());
        b
    };
    assert_eq!(
        one(&hello(b"HTTP", [0, 2], b"x"), MAX_HANDSHAKE_FRAME),
        Err(WireError::BadMagic)
    );
    // A version 1 sensor (deltas in clear) is told its version, not served.
    assert_eq!(
        one(&hello(b"SWSN", [0, 1], b"x"), MAX_HANDSHAKE_FRAME),
        Err(WireError::Version(1))
    );
    for bad in [
        &b""[..],
        b"a b",
        b"tab\t",
        b"\x1b[31m",
        "é".as_bytes(),
        &[b'a'; 65],
    ] {
        assert_eq!(
            one(&hello(b"SWSN", [0, 2], bad), MAX_HANDSHAKE_FRAME),
            Err(WireError::BadName),
            "{bad:?}"
        );
    }
    assert!(one(&hello(b"SWSN", [0, 2], &[b'a'; 64]), MAX_HANDSHAKE_FRAME).is_ok());
    assert_eq!(
        one(&[0, 0, 0, 1, 0x09], MAX_FRAME),
        Err(WireError::UnknownType(9))
    );
    assert_eq!(
        one(&[0, 0, 0, 2, 0x04, 0], MAX_FRAME),
        Err(WireError::Trailing(1))
    );
    assert_eq!(
        one(&[0, 0, 0, 3, 0x01, b'S', b'W'], MAX_FRAME),
        Err(WireError::BadMagic)
    );
}

/// DOC_DELTA with its "port" section replaced by `section`.
fn delta_with(section: &[u8]) -> Vec<u8> {
    let mut b = DOC_DELTA[..DOC_DELTA.len() - 10].to_vec();
    b.extend_from_slice(section);
    let n = (b.len() - 4) as u32;
    b[..4].copy_from_slice(&n.to_be_bytes());
    b
}

#[test]
fn bad_deltas_are_refused_whole() {
    let cases: [(&[u8], WireError); 7] = [
        (
            &[4, b'p', b'o', b'r', b't', 1, 0x1f, 0x90, 0x00],
            WireError::ZeroCount("port".into()),
        ),
        (
            &[4, b'p', b'o', b'r', b't', 0],
            WireError::CellCount("port".into()),
        ),
        (
            &[4, b'p', b'o', b'r', b't', 2, 0x1f, 0x90, 1, 0x1f, 0x90, 1],
            WireError::KeyOrder("port".into()),
        ),
        (
            &[4, b'p', b'o', b'r', b't', 2, 0x1f, 0x90, 1, 0x00, 0x01, 1],
            WireError::KeyOrder("port".into()),
        ),
        (
            &[3, b's', b'y', b'n', 1, 0, 1, 1],
            WireError::DuplicateMap("syn".into()),
        ),
        (&[4, b'P', b'o', b'r', b't', 1, 0, 1, 1], WireError::BadMapName),
        // Claims 200 cells with 3 bytes left: refused before anything is read.
        (
            &[4, b'p', b'o', b'r', b't', 0xc8, 0x01, 0, 1, 1],
            WireError::CellCount("port".into()),
        ),
    ];
    for (section, err) in cases {
        assert_eq!(one(&delta_with(section), MAX_FRAME), Err(err), "{section:?}");
    }
    // A cell cut short.
    assert_eq!(
        one(&delta_with(&[4, b'p', b'o', b'r', b't', 1, 0x1f]), MAX_FRAME),
        Err(WireError::CellCount("port".into()))
    );
    assert_eq!(
        one(
            &delta_with(&[4, b'p', b'o', b'r', b't', 1, 0x1f, 0x90, 0x80]),
            MAX_FRAME
        ),
        Err(WireError::Truncated("cell count"))
    );
}

#[test]
fn a_full_delta_splits_between_maps_and_round_trips() {
    let full: Vec<(u16, u64)> = (0..=u16::MAX).map(|k| (k, u64::MAX - u64::from(k))).collect();
    // Every map of the catalogue, by name.
    let names: Vec<&str> = crate::maps::MAPS.iter().map(|m| m.name).collect();
    let maps: Vec<MapCells<'_>> = names.iter().map(|name| MapCells { name, cells: &full }).collect();
    let header = DeltaHeader {
        sent_at_ns: 42,
        packets: 1 << 40,
        skipped: [1, 2, 3, 4],
        kernel_drops: 5,
        interface_drops: 6,
        late: 7,
    };
    let mut out = Vec::new();
    let frames = encode_delta(&header, &maps, &mut out);
    assert_eq!(frames, 9, "each full map takes most of a frame");
    let mut rest = &out[..];
    let mut seen = Vec::new();
    let mut packets = 0;
    while !rest.is_empty() {
        let (Message::Delta(d), used) = decode_frame(rest, MAX_FRAME).unwrap().unwrap() else {
            panic!("not a delta")
        };
        assert!(used - LENGTH_LEN <= MAX_FRAME);
        assert_eq!((d.header.sent_at_ns, d.header.kernel_drops), (42, 5));
        packets += d.header.packets;
        for s in d.maps() {
            assert!(s.cells().eq(full.iter().copied()));
            seen.push(s.name.to_string());
        }
        round_trip(&rest[..used]);
        rest = &rest[used..];
    }
    assert_eq!(seen, names);
    assert_eq!(packets, 1 << 40, "totals are sent once");
}

#[test]
fn zero_counts_and_empty_maps_are_left_out() {
    let mut out = Vec::new();
    let cells = [(1, 0), (2, 5), (3, 0)];
    encode_delta(
        &DeltaHeader::default(),
        &[
            MapCells {
                name: "syn",
                cells: &cells,
            },
            MapCells {
                name: "all",
                cells: &[(9, 0)],
            },
        ],
        &mut out,
    );
    let Ok(Message::Delta(d)) = one(&out, MAX_FRAME) else {
        panic!("not a delta")
    };
    let maps: Vec<(&str, Vec<(u16, u64)>)> = d.maps().map(|s| (s.name, s.cells().collect())).collect();
    assert_eq!(maps, [("syn", vec![(2, 5)])]);
}

#[test]
fn close_text_is_cut_at_a_character() {
    let long = "é".repeat(150);
    let mut out = Vec::new();
    encode_close(CloseReason::Other(77), &long, &mut out);
    let Ok(Message::Close { reason, text }) = one(&out, MAX_HANDSHAKE_FRAME) else {
        panic!("not a close")
    };
    assert_eq!(reason, CloseReason::Other(77));
    assert_eq!(text.len(), MAX_CLOSE_TEXT);
    for code in 0..=255 {
        assert_eq!(CloseReason::from_code(code).code(), code);
    }
}

#[test]
fn more_late_packets_than_packets_is_refused() {
    let header = DeltaHeader {
        packets: 3,
        late: 4,
        ..DeltaHeader::default()
    };
    let mut out = Vec::new();
    encode_delta(&header, &[], &mut out);
    assert_eq!(one(&out, MAX_FRAME), Err(WireError::Late));
    // A SEALED record is not a message: only the connection opens it.
    assert_eq!(
        one(&[0, 0, 0, 1, SEALED], MAX_FRAME),
        Err(WireError::UnknownType(SEALED))
    );
}
