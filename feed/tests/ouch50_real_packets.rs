//! The real OUCH 5.0 packets in `../shared/captures/ouch50/` decode with the field values that an
//! independent Wireshark dissector (Open Markets Initiative's Lua) gives in `REFERENCE_DECODE.txt`,
//! and re-encode to the original bytes.

use std::collections::BTreeMap;
use tickforge_feed::{net, pcap, shared};
use tickforge_wire::ouch50::{self, tag, Inbound, Outbound};
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::{soupbin, Alpha};

/// `=== File` sections of the reference decode: label -> values (in order).
fn reference(text: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("=== ") {
            current = name.trim().to_string();
            continue;
        }
        if let Some((k, v)) = line.trim().split_once(": ") {
            out.entry(current.clone()).or_default().push((k.to_string(), v.trim().to_string()));
        }
    }
    out
}

fn field<'a>(fields: &'a [(String, String)], label: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == label).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("{label} missing"))
}

fn price(p: u64) -> String {
    // The dissector prints Price(4) without trailing zeros: 63.02, 477.78.
    let s = format!("{}.{:04}", p / 10_000, p % 10_000);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn clock(ns: u64) -> String {
    let s = ns / 1_000_000_000;
    format!("1970-01-01 {:02}:{:02}:{:02}.{:09}", s / 3600, s / 60 % 60, s % 60, ns % 1_000_000_000)
}

fn soup_payload(file: &std::path::Path) -> Vec<u8> {
    let bytes = std::fs::read(file).unwrap();
    let frames: Vec<_> = pcap::Frames::new(&bytes).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(frames.len(), 1, "{}", file.display());
    net::segment(frames[0].link_type, frames[0].data).unwrap().payload.to_vec()
}

#[test]
fn real_ouch50_packets_match_the_reference_decode() {
    let Some(dir) = shared::require("captures/ouch50", "OUCH 5.0 real packets") else { return };
    let refs = reference(&std::fs::read_to_string(dir.join("REFERENCE_DECODE.txt")).unwrap());
    assert_eq!(refs.len(), 6);
    for (file, fields) in &refs {
        let payload = soup_payload(&dir.join(file));
        let (packet, used) = soupbin::parse(&payload, 1 << 16).unwrap().unwrap();
        assert_eq!(used, payload.len(), "{file}: one SoupBinTCP packet per capture");
        assert_eq!(field(fields, "Packet Length"), (payload.len() - 2).to_string(), "{file}");
        let ptype = field(fields, "Packet Type");
        assert!(ptype.ends_with(&format!("({})", packet.packet_type() as char)), "{file}: {ptype}");
        match packet {
            soupbin::Packet::UnsequencedData(msg) => {
                let decoded = ouch50::decode_inbound(msg).unwrap();
                let mut again = Vec::new();
                decoded.encode(&mut again);
                assert_eq!(again, msg, "{file}: re-encode");
                match decoded {
                    Inbound::EnterOrder(m, a) => {
                        assert_eq!(field(fields, "User Ref Num"), m.user_ref_num.get().to_string());
                        assert!(field(fields, "Side").ends_with(&format!("({})", m.side as char)));
                        assert_eq!(field(fields, "Quantity"), m.quantity.get().to_string());
                        assert_eq!(field(fields, "Symbol"), Alpha::trim(&m.symbol));
                        assert_eq!(field(fields, "Price"), price(m.price.get()));
                        assert!(field(fields, "Time In Force").ends_with(&format!("({})", m.time_in_force as char)));
                        assert!(field(fields, "Display").ends_with(&format!("({})", m.display as char)));
                        assert!(field(fields, "Capacity").ends_with(&format!("({})", m.capacity as char)));
                        assert_eq!(field(fields, "ClOrdId"), Alpha::trim(&m.clordid));
                        assert_eq!(field(fields, "Appendage Length"), m.appendage_length.get().to_string());
                        assert_eq!(field(fields, "Firm"), Alpha::trim(a.get(tag::FIRM).unwrap().value));
                        assert_eq!(field(fields, "Optional Field Length"), "5");
                    }
                    Inbound::CancelOrder(m) => {
                        assert_eq!(field(fields, "User Ref Num"), m.user_ref_num.get().to_string());
                        assert_eq!(field(fields, "Quantity"), m.quantity.get().to_string());
                        assert_eq!(m.as_bytes(), msg);
                    }
                    other => panic!("{file}: unexpected {other:?}"),
                }
            }
            soupbin::Packet::SequencedData(msg) => {
                let decoded = ouch50::decode_outbound(msg).unwrap();
                let mut again = Vec::new();
                decoded.encode(&mut again);
                assert_eq!(again, msg, "{file}: re-encode");
                match decoded {
                    Outbound::OrderAccepted(m, a) => {
                        assert_eq!(field(fields, "Timestamp"), clock(m.timestamp.get()));
                        assert_eq!(field(fields, "User Ref Num"), m.user_ref_num.get().to_string());
                        assert_eq!(field(fields, "Quantity"), m.quantity.get().to_string());
                        assert_eq!(field(fields, "Symbol"), Alpha::trim(&m.symbol));
                        assert_eq!(field(fields, "Price"), price(m.price.get()));
                        assert!(field(fields, "Time In Force").ends_with(&format!("({})", m.time_in_force as char)));
                        assert_eq!(field(fields, "Order Reference Number"), m.order_reference_number.get().to_string());
                        assert!(field(fields, "Order State").ends_with(&format!("({})", m.order_state as char)));
                        assert_eq!(field(fields, "ClOrdId"), Alpha::trim(&m.clordid));
                        assert_eq!(field(fields, "Appendage Length"), m.appendage_length.get().to_string());
                        assert_eq!(field(fields, "Firm"), Alpha::trim(a.get(tag::FIRM).unwrap().value));
                        let bbo = a.get(tag::BBO_WEIGHT_INDICATOR).unwrap();
                        assert_eq!(field(fields, "Bbo Weight Indicator"), (bbo.value[0] as char).to_string());
                        assert_eq!(a.fields().count(), 2);
                    }
                    Outbound::Canceled(m) => {
                        assert_eq!(field(fields, "Timestamp"), clock(m.timestamp.get()));
                        assert_eq!(field(fields, "User Ref Num"), m.user_ref_num.get().to_string());
                        assert_eq!(field(fields, "Quantity"), m.quantity.get().to_string());
                        assert!(field(fields, "Cancel Order Reason")
                            .ends_with(&format!("({})", m.cancel_order_reason as char)));
                    }
                    other => panic!("{file}: unexpected {other:?}"),
                }
            }
            soupbin::Packet::ClientHeartbeat | soupbin::Packet::ServerHeartbeat => {
                assert_eq!(payload.len(), 3);
            }
            other => panic!("{file}: unexpected packet {other:?}"),
        }
    }
}
