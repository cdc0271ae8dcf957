//! Our DBN MBO reader against the `dbn` crate (Databento's own), on every shared DBN file:
//! the same records, field by field, plain and zstd-compressed, versions 1 to 3.

use dbn::decode::{DbnDecoder, DecodeRecord};
use dbn::MboMsg;
use tickforge_feed::{dbn as ours, shared};

fn theirs(path: &std::path::Path) -> Vec<MboMsg> {
    let zst = path.extension().is_some_and(|e| e == "zst");
    let mut v = Vec::new();
    if zst {
        let mut d = DbnDecoder::from_zstd_file(path).unwrap();
        while let Some(m) = d.decode_record::<MboMsg>().unwrap() {
            v.push(m.clone());
        }
    } else {
        let mut d = DbnDecoder::from_file(path).unwrap();
        while let Some(m) = d.decode_record::<MboMsg>().unwrap() {
            v.push(m.clone());
        }
    }
    v
}

#[test]
fn every_shared_dbn_file_agrees_with_the_dbn_crate() {
    let Some(dir) = shared::require("captures/dbn", "DBN agreement") else { return };
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 5);
    for path in files {
        let raw = std::fs::read(&path).unwrap();
        let bytes = ours::decompress(&raw).unwrap();
        let (version, mine) = ours::read_mbo(&bytes).unwrap();
        let reference = theirs(&path);
        assert_eq!(mine.len(), reference.len(), "{}", path.display());
        assert!(!mine.is_empty(), "{}", path.display());
        assert!((1..=3).contains(&version));
        for (a, b) in mine.iter().zip(&reference) {
            let ctx = path.display();
            assert_eq!(a.instrument_id, b.hd.instrument_id, "{ctx}");
            assert_eq!(a.publisher_id, b.hd.publisher_id, "{ctx}");
            assert_eq!(a.ts_event, b.hd.ts_event, "{ctx}");
            assert_eq!((a.order_id, a.price, a.size), (b.order_id, b.price, b.size), "{ctx}");
            assert_eq!(a.flags, b.flags.raw(), "{ctx}");
            assert_eq!((a.channel_id, a.action, a.side), (b.channel_id, b.action as u8, b.side as u8), "{ctx}");
            assert_eq!((a.ts_recv, a.sequence), (b.ts_recv, b.sequence), "{ctx}");
        }
    }
}
