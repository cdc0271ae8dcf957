//! Property tests: every decoder survives arbitrary bytes (a value or an error, never a panic),
//! and for every message type, encode then decode is the identity.

use proptest::prelude::*;
use tickforge_wire::{binaryfile, itch, moldudp64, ouch42, ouch50, soupbin, FrameError};
use zerocopy::IntoBytes;

fn exercise_all_decoders(bytes: &[u8]) {
    let _ = itch::decode(bytes).map(|m| (m.timestamp(), m.stock_locate(), m.as_bytes().len()));
    let _ = ouch42::inbound::decode(bytes);
    let _ = ouch42::outbound::decode(bytes);
    if let Ok(m) = ouch50::decode_inbound(bytes) {
        let mut out = Vec::new();
        m.encode(&mut out);
        assert_eq!(out, bytes);
    }
    if let Ok(m) = ouch50::decode_outbound(bytes) {
        let mut out = Vec::new();
        m.encode(&mut out);
        assert_eq!(out, bytes);
        if let ouch50::Outbound::OrderAccepted(_, a) = m {
            for f in a.fields() {
                let _ = f.as_uint();
            }
        }
    }
    let mut pos = 0;
    while let Ok(Some((_, used))) = soupbin::parse(&bytes[pos..], 1 << 16) {
        pos += used;
    }
    if let Ok(p) = moldudp64::Packet::parse(bytes) {
        for m in p.messages() {
            let _ = m.map(|(_, msg)| itch::decode(msg));
        }
    }
    for f in binaryfile::Reader::new(bytes) {
        let _ = f.map(|f| itch::decode(f.bytes));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        exercise_all_decoders(&bytes);
    }

    #[test]
    fn arbitrary_bytes_with_a_valid_type_byte_never_panic(
        t in proptest::sample::select(itch::TYPES.to_vec()),
        bytes in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let mut b = bytes;
        b.insert(0, t);
        exercise_all_decoders(&b);
        let mut framed = vec![0, 0];
        framed.extend_from_slice(&b);
        exercise_all_decoders(&framed);
    }

    /// Framed messages cut at any byte: the reader yields every whole frame with its offset,
    /// then (if the cut is inside a frame) one `Truncated` naming where that frame starts and
    /// how many bytes it lacks, and `position` ends at the first byte it could not use.
    #[test]
    fn binaryfile_frames_tile_the_buffer_up_to_a_cut(
        lens in proptest::collection::vec(1usize..60, 0..40),
        cut_permille in 0usize..=1000,
    ) {
        let mut framed = Vec::new();
        let mut starts = Vec::new();
        for (k, &len) in lens.iter().enumerate() {
            starts.push(framed.len());
            binaryfile::write_frame(&mut framed, &vec![k as u8; len]).unwrap();
        }
        let cut = framed.len() * cut_permille / 1000;
        let bytes = &framed[..cut];
        let mut reader = binaryfile::Reader::new(bytes);
        let mut whole = 0;
        for (k, &len) in lens.iter().enumerate() {
            if starts[k] + 2 + len > cut {
                break;
            }
            let f = reader.next().unwrap().unwrap();
            prop_assert_eq!(f.offset, starts[k] + 2);
            prop_assert_eq!(f.bytes, &vec![k as u8; len][..]);
            whole += 1;
        }
        let used = if whole == 0 { 0 } else { starts[whole - 1] + 2 + lens[whole - 1] };
        prop_assert_eq!(reader.position(), used);
        if used < cut {
            let needed = if cut - used < 2 { 2 - (cut - used) } else { 2 + lens[whole] - (cut - used) };
            prop_assert_eq!(reader.next(), Some(Err(FrameError::Truncated { offset: used, needed })));
        }
        prop_assert_eq!(reader.next(), None);
        prop_assert_eq!(reader.position(), used);
    }

    #[test]
    fn itch_encode_then_decode_is_identity(t in proptest::sample::select(itch::TYPES.to_vec()), seed in any::<u64>()) {
        let len = itch::message_len(t).unwrap();
        let mut bytes: Vec<u8> = (0..len).map(|i| (seed.rotate_left(i as u32 % 64) ^ i as u64) as u8).collect();
        bytes[0] = t;
        let m = itch::decode(&bytes).unwrap();
        prop_assert_eq!(m.message_type(), t);
        prop_assert_eq!(m.as_bytes(), &bytes[..]);
        // Re-encode from an owned copy of the struct: the bytes survive a move out of the buffer.
        let owned = match m {
            itch::Message::AddOrder(a) => { let c: itch::AddOrder = *a; c.as_bytes().to_vec() }
            other => other.as_bytes().to_vec(),
        };
        prop_assert_eq!(owned, bytes.clone());
        let mut framed = Vec::new();
        binaryfile::write_frame(&mut framed, &bytes).unwrap();
        let f = binaryfile::Reader::new(&framed).next().unwrap().unwrap();
        prop_assert_eq!(f.bytes, &bytes[..]);
    }

    #[test]
    fn ouch42_encode_then_decode_is_identity(
        inbound in any::<bool>(),
        idx in any::<prop::sample::Index>(),
        body in proptest::collection::vec(any::<u8>(), 80),
    ) {
        let types = if inbound { ouch42::inbound::TYPES } else { ouch42::outbound::TYPES };
        let t = types[idx.index(types.len())];
        let len = if inbound { ouch42::inbound::message_len(t) } else { ouch42::outbound::message_len(t) }.unwrap();
        let mut bytes = body[..len].to_vec();
        bytes[0] = t;
        if inbound {
            prop_assert_eq!(ouch42::inbound::decode(&bytes).unwrap().as_bytes(), &bytes[..]);
        } else {
            prop_assert_eq!(ouch42::outbound::decode(&bytes).unwrap().as_bytes(), &bytes[..]);
        }
        // Inside SoupBinTCP, as it travels.
        let mut packet = Vec::new();
        soupbin::write(&mut packet, if inbound { b'U' } else { b'S' }, &bytes).unwrap();
        let (p, used) = soupbin::parse(&packet, 1 << 16).unwrap().unwrap();
        prop_assert_eq!(used, packet.len());
        match p {
            soupbin::Packet::UnsequencedData(d) | soupbin::Packet::SequencedData(d) => prop_assert_eq!(d, &bytes[..]),
            other => prop_assert!(false, "unexpected {:?}", other),
        }
    }

    #[test]
    fn ouch50_encode_then_decode_is_identity(
        fixed in proptest::collection::vec(any::<u8>(), 64),
        fields in proptest::collection::vec((1u8..=20, proptest::collection::vec(any::<u8>(), 0..9)), 0..5),
    ) {
        let mut appendage = Vec::new();
        for (tag, value) in &fields {
            ouch50::push_field(&mut appendage, *tag, value);
        }
        let mut fixed_enter = fixed[..ouch50::EnterOrder::LEN].to_vec();
        fixed_enter[0] = b'O';
        let mut msg = Vec::new();
        ouch50::write_with_appendage(&mut msg, &fixed_enter, &appendage);
        let decoded = ouch50::decode_inbound(&msg).unwrap();
        let ouch50::Inbound::EnterOrder(_, a) = decoded else { panic!("not an enter order") };
        let got: Vec<(u8, Vec<u8>)> = a.fields().map(|f| (f.tag, f.value.to_vec())).collect();
        prop_assert_eq!(got, fields.clone());
        let mut again = Vec::new();
        decoded.encode(&mut again);
        prop_assert_eq!(again, msg);
    }

    #[test]
    fn soupbin_packets_round_trip(t in proptest::sample::select(b"+SU".to_vec()), payload in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut out = Vec::new();
        soupbin::write(&mut out, t, &payload).unwrap();
        let (p, used) = soupbin::parse(&out, 1 << 16).unwrap().unwrap();
        prop_assert_eq!(used, out.len());
        prop_assert_eq!(p.packet_type(), t);
    }

    #[test]
    fn moldudp64_packets_round_trip(
        seq in any::<u64>(),
        msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..60), 0..30),
    ) {
        let mut b = moldudp64::PacketBuilder::new(*b"SESSION001", seq, 1400);
        let mut pushed = Vec::new();
        for m in &msgs {
            if b.push(m) { pushed.push(m.clone()); }
        }
        let p = moldudp64::Packet::parse(b.bytes()).unwrap();
        prop_assert_eq!(p.sequence_number(), seq);
        let got: Vec<Vec<u8>> = p.messages().map(|m| m.unwrap().1.to_vec()).collect();
        prop_assert_eq!(got, pushed);
    }
}
