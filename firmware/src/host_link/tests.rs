//! Unit tests: framing, CRC, sizes, the documentation's examples.

use super::frame::{decode_raw, encode_raw, FrameError, Incoming, CRC};
use super::testutil::*;
use super::*;
use postcard::experimental::max_size::MaxSize;
use std::format;
use std::vec::Vec;

#[test]
fn crc_is_x25() {
    assert_eq!(CRC.checksum(b"123456789"), 0x906E);
}

/// The worked example in docs/host-link.md, computed independently (Python: postcard varints,
/// CRC-16/X-25, COBS by hand) rather than by our encoder.
#[test]
fn worked_example_set_time() {
    let p = Packet::Data {
        seq: 0,
        msg: Request { request_id: 42, command: Command::SetTime(SetTime { utc: 820_540_800 }) },
    };
    let mut raw = [0u8; MAX_RAW_LEN];
    let n = encode_raw(&p, &mut raw).unwrap();
    assert_eq!(raw[..n], [0x03, 0x00, 0x2a, 0x0b, 0x80, 0xeb, 0xa1, 0x87, 0x03, 0x8f, 0x98]);
    let wire = wire_of(&p);
    assert_eq!(
        wire,
        [0x02, 0x03, 0x0a, 0x2a, 0x0b, 0x80, 0xeb, 0xa1, 0x87, 0x03, 0x8f, 0x98, 0x00]
    );
    assert_eq!(unwrap_frame::<Request>(&wire), Ok(Incoming::Packet(p)));
}

#[test]
fn worked_example_ack_and_hello() {
    assert_eq!(wire_of(&Packet::<Request>::Ack { next: 5 }), [0x05, 0x04, 0x05, 0x8a, 0x3f, 0x00]);
    let hello = Hello {
        protocol: ProtocolVersion { major: 1, minor: 0 },
        node: coordinator_node(),
        session: 0x1234_5678,
        first_seq: 0,
    };
    let expect = "00 01 02 01 02 01 07 03 01 f0 de bc 0a 03 6f 0d 07 10 f8 ac d1 91 01 03 51 d1 00";
    let wire = wire_of(&Packet::<Report>::Hello(hello));
    let hex: Vec<_> = wire.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex.join(" "), expect);
}

/// Prints the doc example: `cargo test -p firmware print_doc_example -- --nocapture`.
#[test]
fn print_doc_example() {
    let p = Packet::Data {
        seq: 0,
        msg: Request { request_id: 42, command: Command::SetTime(SetTime { utc: 820_540_800 }) },
    };
    std::println!("{p:?}\n{:02x?}", wire_of(&p));
}

#[test]
fn every_packet_kind_round_trips_through_the_deframer() {
    let hello = Hello { protocol: PROTOCOL_VERSION, node: host_node(), session: 9, first_seq: 3 };
    let mut packets: Vec<Packet<Request>> = std::vec![
        Packet::Hello(hello),
        Packet::HelloReply { hello, echo: u32::MAX },
        Packet::Refuse(Refusal {
            reason: RefusalReason::INCOMPATIBLE_VERSION,
            version: PROTOCOL_VERSION,
        }),
        Packet::Ack { next: u16::MAX },
        Packet::Error(LinkFault { code: LinkErrorCode::UNSUPPORTED, seq: Some(7) }),
        Packet::Error(LinkFault { code: LinkErrorCode(0x77), seq: None }),
    ];
    for (i, r) in sample_requests().into_iter().enumerate() {
        packets.push(Packet::Data { seq: i as u16 * 1000, msg: r.clone() });
        packets.push(Packet::Datagram(r));
    }
    for p in packets {
        let wire = wire_of(&p);
        assert_eq!(wire.last(), Some(&0));
        assert!(!wire[1..wire.len() - 1].contains(&0), "{p:?}");
        assert!(wire.len() <= MAX_WIRE_LEN);
        assert_eq!(unwrap_frame::<Request>(&wire), Ok(Incoming::Packet(p)));
    }
}

#[test]
fn corrupted_frames_fail_the_crc() {
    let p = Packet::Data { seq: 1, msg: sample_requests().remove(4) };
    let wire = wire_of(&p);
    for i in 0..wire.len() - 1 {
        for flip in [0x01u8, 0x80, 0xFF] {
            let mut bad = wire.clone();
            bad[i] ^= flip;
            if bad[i] == 0 {
                continue; // a new delimiter: splits the frame, checked below
            }
            let r = unwrap_frame::<Request>(&bad);
            assert!(
                matches!(r, Err(FrameError::Crc | FrameError::Cobs | FrameError::Runt)),
                "byte {i} ^ {flip:#x}: {r:?}"
            );
        }
    }
}

#[test]
fn deframer_errors() {
    let mut dec = frame::FrameDecoder::<16>::new();
    let mut feed_all = |bytes: &[u8]| -> Vec<frame::Feed> {
        bytes.iter().map(|&b| dec.feed(b)).filter(|f| *f != frame::Feed::Nothing).collect()
    };
    // A run that promises 4 bytes but is cut by the delimiter.
    assert_eq!(feed_all(&[0x05, 0x11, 0x22, 0x00]), [frame::Feed::Error(FrameError::Cobs)]);
    // Empty frames between delimiters are ignored.
    assert_eq!(feed_all(&[0x00, 0x00]), []);
    // 20 bytes do not fit a 16-byte buffer: one error, then skipped to the delimiter.
    let mut long = std::vec![21u8];
    long.extend(1..=20);
    long.push(0);
    assert_eq!(feed_all(&long), [frame::Feed::Error(FrameError::Oversize)]);
    // And the next frame decodes normally.
    assert_eq!(feed_all(&[0x03, 0x01, 0x02, 0x00]), [frame::Feed::Frame(2)]);
    assert_eq!(dec.frame(), [1, 2]);
}

#[test]
fn runts_and_unknown_kinds() {
    assert_eq!(decode_raw::<Request>(&[]), Err(FrameError::Runt));
    assert_eq!(decode_raw::<Request>(&[0x12, 0x34]), Err(FrameError::Runt));
    // Unknown packet kind 7 with a good CRC.
    assert_eq!(
        decode_raw::<Request>(&raw_with_crc(&[0x07, 0x01])),
        Err(FrameError::Unsupported { seq: None })
    );
    // Data, seq 5, request_id 1, Command tag 13 (from a newer host).
    assert_eq!(
        decode_raw::<Request>(&raw_with_crc(&[0x03, 0x05, 0x01, 0x0D, 0x00])),
        Err(FrameError::Unsupported { seq: Some(5) })
    );
    // Data, seq 5, request_id 1, SetTime with its utc missing.
    assert_eq!(
        decode_raw::<Request>(&raw_with_crc(&[0x03, 0x05, 0x01, 0x0B])),
        Err(FrameError::Malformed { seq: Some(5) })
    );
    // Trailing bytes after a complete Ack.
    assert_eq!(
        decode_raw::<Request>(&raw_with_crc(&[0x04, 0x05, 0x00])),
        Err(FrameError::Malformed { seq: None })
    );
    // Report tag 10 (newer coordinator) in a Datagram.
    assert_eq!(
        decode_raw::<Report>(&raw_with_crc(&[0x05, 0x0A])),
        Err(FrameError::Unsupported { seq: None })
    );
}

#[test]
fn worst_case_sizes() {
    // The derived maxima, checked against hand-built worst cases (every varint at its longest,
    // every collection full).
    let entry = DeviceEntry {
        slot: 0xFF,
        eui64: Eui64(u64::MAX),
        state: DeviceState::KEY_ESTABLISHED,
        last_seen: u32::MAX,
        lqi: 0xFF,
        join_deadline: u32::MAX,
    };
    let list = Report::DeviceList(DeviceList {
        request_id: u32::MAX,
        capacity: 16,
        entries: heapless::Vec::from_slice(&[entry; types::MAX_SLOTS]).unwrap(),
    });
    let mut buf = [0u8; 1024];
    let n = postcard::to_slice(&list, &mut buf).unwrap().len();
    assert_eq!(n, Report::POSTCARD_MAX_SIZE);

    let text = heapless::String::<80>::try_from("x".repeat(80).as_str()).unwrap();
    let targets = Targets::Devices(heapless::Vec::from_slice(&[Eui64(u64::MAX); 16]).unwrap());
    let msg = Request {
        request_id: u32::MAX,
        command: Command::DisplayMessage(DisplayMessage {
            message_id: u32::MAX,
            message_control: 0xFF,
            start_time: u32::MAX,
            duration_in_minutes: u16::MAX,
            message: text,
            targets,
        }),
    };
    let n = postcard::to_slice(&msg, &mut buf).unwrap().len();
    assert_eq!(n, Request::POSTCARD_MAX_SIZE);

    assert_eq!(MAX_MESSAGE_LEN, 344);
    assert_eq!(MAX_BODY_LEN, 1 + 3 + 344);
    assert_eq!(MAX_RAW_LEN, MAX_BODY_LEN + 2);
    assert_eq!(MAX_WIRE_LEN, cobs::max_encoding_length(MAX_RAW_LEN) + 2);
    let p = Packet::Data { seq: u16::MAX, msg: list };
    let wire = wire_of(&p);
    assert!(wire.len() <= MAX_WIRE_LEN);
    // A Hello is far smaller than a data frame.
    assert!(packet_fits::<Hello>());
}

fn packet_fits<T: MaxSize>() -> bool {
    1 + T::POSTCARD_MAX_SIZE + 5 <= MAX_BODY_LEN
}

/// Static RAM of the endpoints (design.md §10: the whole firmware core ≤ 8 KiB with 16 slots).
#[test]
fn endpoint_ram() {
    let coord = core::mem::size_of::<CoordinatorEndpoint>();
    let small = core::mem::size_of::<LinkEndpoint<Report, Request, 2, 1>>();
    std::println!("CoordinatorEndpoint {coord} B, window 2 / rx queue 1: {small} B");
    assert!(coord <= 3 * 1024, "{coord}");
    assert!(small <= 2 * 1024, "{small}");
}

#[test]
fn link_keys_never_show_in_debug() {
    let req = sample_requests().remove(0);
    assert!(matches!(req.command, Command::AddDevice(_)));
    let text = format!("{req:?} {req:#?}");
    assert!(text.contains("LinkKey(<redacted>)"), "{text}");
    for leak in ["171", "0xab", "ab, ab", "AB"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
    // Nor from an endpoint holding the encoded key in its buffers, nor its events.
    let mut p = Pair::connected();
    p.host.send(p.now, &req).unwrap();
    p.pump();
    let mut events = format!("{:?} {:?} {:?}", p.host, p.coord, p.coord_events);
    events.make_ascii_lowercase();
    assert!(!events.contains("171") && !events.contains("0xab"), "{events}");
}

#[test]
fn fuzz_entry_accepts_anything() {
    fuzz_decode(&[]);
    fuzz_decode(&[0; 1000]);
    fuzz_decode(&[0xFF; 1000]);
    let mut all = Vec::new();
    for r in sample_requests() {
        all.extend(wire_of(&Packet::Data { seq: 0, msg: r }));
    }
    fuzz_decode(&all);
}

#[test]
fn open_codes_print_names_or_numbers() {
    assert_eq!(format!("{:?}", ResultCode::SLOTS_FULL), "SLOTS_FULL");
    assert_eq!(format!("{:?}", ResultCode(0x42)), "ResultCode(0x42)");
    assert_eq!(ResultCode::KNOWN.len(), 13);
    assert_eq!(format!("{:?}", Eui64(0x000D_6F00_0ABC_DEF0)), "Eui64(000d6f000abcdef0)");
    // Unknown code values survive a round trip (forward compatibility).
    let r = Report::DeviceEvent(DeviceEvent { eui64: Eui64(1), state: DeviceState(0x99) });
    let mut buf = [0u8; 64];
    let bytes = postcard::to_slice(&r, &mut buf).unwrap();
    assert_eq!(postcard::from_bytes::<Report>(bytes).unwrap(), r);
}

/// Variant name of a message, from its `Debug` text.
fn variant_name(debug: &str) -> &str {
    debug.split(['(', ' ']).next().unwrap()
}

fn hex(bytes: &[u8]) -> std::string::String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

/// docs/host-link.md stays true: its examples, sizes, tags and codes come from the code.
/// When this fails, the message shows the line the document should contain.
#[test]
fn doc_examples_are_current() {
    let doc = include_str!("../../../docs/host-link.md");
    let mut want: Vec<std::string::String> = Vec::new();
    let v = PROTOCOL_VERSION;
    want.push(format!("Protocol version **{}.{}**", v.major, v.minor));
    for (name, value) in [
        ("MAX_MESSAGE_LEN", MAX_MESSAGE_LEN),
        ("MAX_BODY_LEN", MAX_BODY_LEN),
        ("MAX_RAW_LEN", MAX_RAW_LEN),
        ("MAX_WIRE_LEN", MAX_WIRE_LEN),
    ] {
        want.push(format!("| `{name}` | {value} |"));
    }
    want.push(format!(
        "`retransmit_timeout_ms` (default {} ms)",
        LinkConfig::DEFAULT_RETRANSMIT_TIMEOUT_MS
    ));
    want.push(format!("`max_retries` (default {})", LinkConfig::DEFAULT_MAX_RETRIES));
    want.push(format!(
        "`hello_interval_ms` (default {} ms)",
        LinkConfig::DEFAULT_HELLO_INTERVAL_MS
    ));
    let example = Packet::Data {
        seq: 0,
        msg: Request { request_id: 42, command: Command::SetTime(SetTime { utc: 820_540_800 }) },
    };
    let mut raw = [0u8; MAX_RAW_LEN];
    let n = encode_raw(&example, &mut raw).unwrap();
    want.push(format!("body  {}\n", hex(&raw[..n - 2])));
    want.push(format!("crc   {}\n", hex(&raw[n - 2..n])));
    want.push(format!("wire  {}\n", hex(&wire_of(&example))));
    want.push(format!("wire  {}\n", hex(&wire_of(&Packet::<Request>::Ack { next: 5 }))));
    let hello = Hello {
        protocol: PROTOCOL_VERSION,
        node: coordinator_node(),
        session: 0x1234_5678,
        first_seq: 0,
    };
    want.push(format!("wire  {}\n", hex(&wire_of(&Packet::<Report>::Hello(hello)))));
    // Every message variant, with its wire tag.
    let mut buf = [0u8; 512];
    let requests = sample_requests();
    let reports = sample_reports();
    assert_eq!(requests.len() as u32, Command::VARIANTS);
    assert_eq!(reports.len() as u32, Report::VARIANTS);
    for (i, r) in requests.iter().enumerate() {
        let tag = postcard::to_slice(&r.command, &mut buf).unwrap()[0];
        assert_eq!(usize::from(tag), i, "samples in tag order");
        let name = format!("{:?}", r.command);
        want.push(format!("| {tag} | `{}` |", variant_name(&name)));
    }
    for (i, r) in reports.iter().enumerate() {
        let tag = postcard::to_slice(r, &mut buf).unwrap()[0];
        assert_eq!(usize::from(tag), i, "samples in tag order");
        let name = format!("{r:?}");
        want.push(format!("| {tag} | `{}` |", variant_name(&name)));
    }
    // Every named code value.
    macro_rules! codes {
        ($($t:ty),*) => {$(
            for c in <$t>::KNOWN {
                want.push(format!("0x{:02X} `{}`", c.0, c.name().unwrap()));
            }
        )*};
    }
    codes!(ResultCode, RemoveReason, DeviceState, PowerState, SwitchState, ErrorCode);
    codes!(LinkErrorCode, RefusalReason);
    // Line breaks in the prose may split "0x01 `NAME`"; compare with whitespace collapsed.
    let flat = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    for w in &want {
        let w_flat = w.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            doc.contains(w.as_str()) || (!w.ends_with('\n') && flat.contains(&w_flat)),
            "docs/host-link.md should contain:\n{w}"
        );
    }
}
