//! Every message in `../shared/captures/itch/` and `../shared/captures/pcap/` decodes, the
//! counts per type equal those in `PROVENANCE.md`, and re-encoding each decoded message gives
//! the original bytes. Skips (with a notice) where `../shared` is absent.

use std::collections::BTreeMap;
use tickforge_feed::{shared, stats, Capture, Format};
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::{binaryfile, itch};

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(t, n)| (t.to_string(), *n)).collect()
}

fn reencode(m: itch::Message<'_>) -> Vec<u8> {
    // Copy the struct out of the file buffer, then serialise the copy.
    macro_rules! owned {
        ($($v:ident),*) => { match m { $(itch::Message::$v(x) => { let c = *x; c.as_bytes().to_vec() })* } };
    }
    owned!(
        SystemEvent,
        StockDirectory,
        StockTradingAction,
        RegShoRestriction,
        MarketParticipantPosition,
        MwcbDeclineLevel,
        MwcbStatus,
        IpoQuotingPeriodUpdate,
        LuldAuctionCollar,
        OperationalHalt,
        AddOrder,
        AddOrderMpid,
        OrderExecuted,
        OrderExecutedWithPrice,
        OrderCancel,
        OrderDelete,
        OrderReplace,
        NonCrossTrade,
        CrossTrade,
        BrokenTrade,
        Noii,
        RetailPriceImprovement,
        DirectListingPriceDiscovery
    )
}

#[test]
fn itch_test_file_counts_match_provenance_and_reencode() {
    let Some(path) = shared::require("captures/itch/ex20101224.TEST_ITCH_50", "RITCH test file") else { return };
    let cap = Capture::open(&path).unwrap();
    assert_eq!(cap.format, Format::BinaryFile);
    let s = stats::compute(cap.format, cap.bytes()).unwrap();
    assert_eq!(s.messages, 12_012);
    assert_eq!(s.errors, 0);
    let want = counts(&[
        ("S", 6),
        ("R", 3),
        ("H", 3),
        ("A", 4997),
        ("F", 3),
        ("E", 198),
        ("X", 45),
        ("D", 1745),
        ("U", 12),
        ("P", 5000),
    ]);
    assert_eq!(s.by_type, want);
    // Every prefix is zero, so the file is not our re-framing; each message re-encodes exactly,
    // and re-framed with real prefixes the file decodes to the same messages.
    let mut reframed = Vec::new();
    for f in binaryfile::Reader::new(cap.bytes()) {
        let f = f.unwrap();
        let m = itch::decode(f.bytes).unwrap();
        assert_eq!(reencode(m), f.bytes, "message at offset {}", f.offset);
        binaryfile::write_frame(&mut reframed, &reencode(m)).unwrap();
    }
    let again = stats::compute(Format::BinaryFile, &reframed).unwrap();
    assert_eq!(again.by_type, want);
    assert_eq!(reframed.len(), cap.bytes().len());
}

#[test]
fn omi_binaryfile_counts_match_provenance_and_reencode_byte_for_byte() {
    let Some(path) = shared::require("captures/itch/omi_nasdaq_totalview_itch50_messages.binaryfile", "OMI BinaryFILE")
    else {
        return;
    };
    let cap = Capture::open(&path).unwrap();
    let s = stats::compute(cap.format, cap.bytes()).unwrap();
    let want = counts(&[
        ("A", 42),
        ("F", 7),
        ("E", 6),
        ("C", 5),
        ("X", 5),
        ("D", 7),
        ("U", 6),
        ("P", 5),
        ("Q", 5),
        ("I", 6),
        ("L", 6),
        ("H", 6),
        ("J", 5),
        ("Y", 5),
        ("S", 1),
    ]);
    assert_eq!((s.messages, s.errors, &s.by_type), (117, 0, &want));
    let mut reframed = Vec::new();
    for f in binaryfile::Reader::new(cap.bytes()) {
        binaryfile::write_frame(&mut reframed, &reencode(itch::decode(f.unwrap().bytes).unwrap())).unwrap();
    }
    assert_eq!(reframed, cap.bytes(), "this file has real length prefixes: the whole file re-encodes");
}

#[test]
fn every_shared_pcap_decodes_with_the_documented_counts() {
    let Some(dir) = shared::require("captures/pcap", "real Nasdaq pcaps") else { return };
    let mut total_by_folder: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for folder in ["nasdaq-totalview-itch50", "nasdaq-totalview-itch50-20230822"] {
        let mut files: Vec<_> = std::fs::read_dir(dir.join(folder)).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        let by_type = total_by_folder.entry(folder.to_string()).or_default();
        for path in files {
            let cap = Capture::open(&path).unwrap();
            assert_eq!(cap.format, Format::Pcap, "{}", path.display());
            let s = stats::compute(cap.format, cap.bytes()).unwrap();
            assert_eq!(s.errors, 0, "{}: {:?}", path.display(), s.first_error);
            assert!(s.messages > 0, "{}", path.display());
            let p = s.packets.unwrap();
            assert_eq!(p.skipped_frames, 0, "{}", path.display());
            for (t, n) in s.by_type {
                *by_type.entry(t).or_default() += n;
            }
            if path.ends_with("Multiple.Packets.pcap") {
                // PROVENANCE: a 1,472-byte datagram carrying 38 messages (plus one more packet).
                assert_eq!(s.messages, 39);
            }
        }
    }
    // PROVENANCE: 5 packets per message type A F C E X D U P Q I L H J Y, 1 S (one message each).
    let vlan = &total_by_folder["nasdaq-totalview-itch50-20230822"];
    for t in ["A", "F", "C", "E", "X", "D", "U", "P", "Q", "I", "L", "H", "J", "Y"] {
        assert_eq!(vlan.get(t), Some(&5), "type {t} in the VLAN folder");
    }
    assert_eq!(vlan.get("S"), Some(&1));
    assert_eq!(vlan.values().sum::<u64>(), 71);
}
