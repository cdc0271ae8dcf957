//! `normalize::dispatch` (one dispatch on the type byte) must be exactly `itch::decode` then
//! `normalize::record`: the same record for every message, the same error for every bad input.

use proptest::prelude::*;
use tickforge_feed::normalize;
use tickforge_wire::{binaryfile, itch, Record};

fn two_step(bytes: &[u8]) -> Result<Option<Record>, tickforge_wire::DecodeError> {
    itch::decode(bytes).map(|m| normalize::record(&m))
}

fn one_step(bytes: &[u8]) -> Result<Option<Record>, tickforge_wire::DecodeError> {
    let mut got = None;
    normalize::dispatch(bytes, &mut |r: &Record| {
        assert!(got.is_none(), "at most one record per message");
        got = Some(*r);
    })?;
    Ok(got)
}

#[test]
fn every_message_of_a_generated_day_gives_the_same_record() {
    let bytes = tickforge_feed::generate::generate(&tickforge_feed::generate::GenerateConfig {
        messages: 50_000,
        symbols: 4,
        seed: 9,
    });
    let mut types = std::collections::BTreeSet::new();
    for (i, f) in binaryfile::Reader::new(&bytes).enumerate() {
        let m = f.unwrap().bytes;
        types.insert(m[0]);
        assert_eq!(one_step(m), two_step(m), "message {i} (type {:?})", m[0] as char);
    }
    // The generator's mix covers every type that makes a record.
    for t in *b"AFECXDUPQH" {
        assert!(types.contains(&t), "no {:?} in the generated day", t as char);
    }
}

proptest! {
    /// Random bytes, and random bodies behind every real type byte at its real length, give the
    /// same record or the same error both ways.
    #[test]
    fn random_input_agrees(body in proptest::collection::vec(any::<u8>(), 0..64), t in prop::sample::select(itch::TYPES.to_vec()), exact in any::<bool>()) {
        prop_assert_eq!(one_step(&body), two_step(&body));
        let mut msg = body.clone();
        if exact {
            msg.resize(itch::message_len(t).unwrap(), 0);
        }
        if let Some(b) = msg.first_mut() {
            *b = t;
        }
        prop_assert_eq!(one_step(&msg), two_step(&msg));
    }
}
