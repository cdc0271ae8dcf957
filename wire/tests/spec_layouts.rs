//! Table tests: every message struct's fields, offsets and widths against the specification
//! CSVs in `../shared/specs/`. The struct side comes from `offset_of!`, so this compares the
//! compiled layout with the spec, not two hand-typed tables.

use std::collections::BTreeMap;
use std::path::PathBuf;
use tickforge_wire::{itch, ouch42, ouch50, FieldLayout};

fn spec(name: &str) -> Option<String> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/specs").join(name);
    match std::fs::read_to_string(&p) {
        Ok(s) => Some(s),
        Err(_) => {
            eprintln!("SKIPPED: {} not found (../shared is beside the workspace in CI)", p.display());
            None
        }
    }
}

/// A field row: name, offset, width.
type Row = (String, usize, usize);
/// A message in the CSV: name, total length, fields.
type SpecMessage = (String, usize, Vec<Row>);

fn ours(fields: &[FieldLayout], shift: usize) -> Vec<Row> {
    fields.iter().map(|f| (f.name.to_string(), f.offset - shift, f.len)).collect()
}

#[test]
fn itch50_layouts_match_the_spec_csv() {
    let Some(csv) = spec("itch50_message_layouts.csv") else { return };
    let mut by_type: BTreeMap<u8, SpecMessage> = BTreeMap::new();
    for line in csv.lines().skip(1) {
        let c: Vec<&str> = line.split(',').collect();
        let t = c[0].as_bytes()[0];
        let e = by_type.entry(t).or_insert_with(|| (c[1].to_string(), c[2].parse().unwrap(), Vec::new()));
        e.2.push((c[3].to_string(), c[4].parse().unwrap(), c[5].parse().unwrap()));
    }
    assert_eq!(by_type.len(), 23, "the CSV lists 23 message types");
    for (t, (name, total, fields)) in &by_type {
        let (our_name, our_fields) = itch::layout(*t).unwrap_or_else(|| panic!("type {} missing", *t as char));
        assert_eq!(our_name, name, "type {}", *t as char);
        assert_eq!(itch::message_len(*t), Some(*total), "length of {name}");
        assert_eq!(&ours(our_fields, 0), fields, "fields of {name}");
    }
    assert_eq!(itch::TYPES.len(), by_type.len());
}

#[test]
fn ouch42_layouts_match_the_spec_csv() {
    let Some(csv) = spec("ouch42_message_layouts.csv") else { return };
    let mut by_key: BTreeMap<(String, u8), SpecMessage> = BTreeMap::new();
    for line in csv.lines().skip(1) {
        let c: Vec<&str> = line.split(',').collect();
        let key = (c[1].to_string(), c[0].as_bytes()[0]);
        let e = by_key.entry(key).or_insert_with(|| (c[2].to_string(), c[3].parse().unwrap(), Vec::new()));
        e.2.push((c[4].to_string(), c[5].parse().unwrap(), c[6].parse().unwrap()));
    }
    for ((dir, t), (name, total, fields)) in &by_key {
        let (layout, len) = match dir.as_str() {
            "inbound" => (ouch42::inbound::layout(*t), ouch42::inbound::message_len(*t)),
            _ => (ouch42::outbound::layout(*t), ouch42::outbound::message_len(*t)),
        };
        let (our_name, our_fields) = layout.unwrap_or_else(|| panic!("{dir} {} missing", *t as char));
        assert_eq!(our_name, name);
        assert_eq!(len, Some(*total), "length of {name}");
        assert_eq!(&ours(our_fields, 0), fields, "fields of {name}");
    }
    assert_eq!(by_key.len(), ouch42::inbound::TYPES.len() + ouch42::outbound::TYPES.len());
}

#[test]
fn ouch50_fixed_parts_match_the_spec_csv() {
    let Some(csv) = spec("ouch50_message_layouts.csv") else { return };
    let mut by_name: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for line in csv.lines().skip(1) {
        let c: Vec<&str> = line.split(',').collect();
        if c[4] == "var" {
            continue; // the appendage itself
        }
        by_name.entry(c[0].to_string()).or_default().push((
            c[2].to_string(),
            c[3].parse().unwrap(),
            c[4].parse().unwrap(),
        ));
    }
    for (_inbound, t, name, fields) in ouch50::layouts() {
        let spec_fields = by_name.get(name).unwrap_or_else(|| panic!("{name} not in the CSV"));
        // The CSV counts offsets after the type byte; our structs include it at offset 0.
        assert_eq!(fields[0].name, "message_type");
        assert_eq!(&ours(&fields[1..], 1), spec_fields, "fields of {name} ({})", t as char);
    }
}
