//! What `tickforge serve --journal DIR` writes, and how a restart reads it back.
//!
//! One journal (see `tickforge_replay::journal`) holds, in one sequence:
//!
//! 1. a day header (message entry): `TFVENUE1` then JSON with the session name, the accounts'
//!    usernames and the instruments' symbols in order (the numbering every later entry uses),
//!    and the start of day (ns since midnight UTC);
//! 2. the configuration as `Configure` records (instrument limits, each account's self-trade
//!    prevention), applied by the engine like any command;
//! 3. for every inbound OUCH message that changes anything: a message entry `O`, account (u16
//!    LE), time of day (u64 LE, ns), the OUCH bytes as received; then, if the message became an
//!    engine command, that command's record.
//!
//! The records alone are what the engine saw, so `tickforge replay --format journal DIR`
//! rebuilds the venue's books and state hash without the config file. The messages are what the
//! gateway needs on a restart: re-translating them in order rebuilds the order tokens and every
//! account's sequenced OUCH stream exactly, so sessions log in again and resume their sequence
//! numbers. A restart checks that each re-translated command equals the journaled record, and
//! refuses a journal written for other accounts or instruments.
//!
//! Every message is journaled before its effects are sent, so nothing acknowledged is lost by a
//! crash of the process (the journal's page-cache durability).

use serde::{Deserialize, Serialize};

/// Prefix of the day header.
pub const HEADER_MAGIC: &[u8; 8] = b"TFVENUE1";

/// The day header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayHeader {
    /// SoupBinTCP session name.
    pub session: String,
    /// Usernames; account `i` is engine session `i + 1`.
    pub accounts: Vec<String>,
    /// Symbols; engine instrument `i`.
    pub instruments: Vec<String>,
    /// Start of day, ns since midnight UTC (the start-of-day system event's time).
    pub start_ns: u64,
}

impl DayHeader {
    /// The entry bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = HEADER_MAGIC.to_vec();
        v.extend_from_slice(serde_json::to_string(self).unwrap_or_default().as_bytes());
        v
    }

    /// Reads a header entry.
    pub fn decode(bytes: &[u8]) -> Result<DayHeader, String> {
        let json = bytes.strip_prefix(HEADER_MAGIC).ok_or("the first entry is not a venue day header")?;
        serde_json::from_slice(json).map_err(|e| format!("venue day header: {e}"))
    }

    /// Why a venue with these names may not continue this journal, if it may not.
    pub fn mismatch(&self, other: &DayHeader) -> Option<String> {
        if self.accounts != other.accounts {
            return Some(format!("accounts {:?} in the journal, {:?} in the config", self.accounts, other.accounts));
        }
        if self.instruments != other.instruments {
            return Some(format!(
                "instruments {:?} in the journal, {:?} in the config",
                self.instruments, other.instruments
            ));
        }
        None
    }
}

/// Tag of an inbound-message entry.
pub const INBOUND: u8 = b'O';

/// Encodes an inbound OUCH message entry into `out`.
pub fn encode_inbound(out: &mut Vec<u8>, account: u16, ts: u64, ouch: &[u8]) {
    out.clear();
    out.push(INBOUND);
    out.extend_from_slice(&account.to_le_bytes());
    out.extend_from_slice(&ts.to_le_bytes());
    out.extend_from_slice(ouch);
}

/// Decodes an inbound-message entry: (account, time of day, OUCH bytes).
pub fn decode_inbound(bytes: &[u8]) -> Option<(u16, u64, &[u8])> {
    if bytes.len() < 12 || bytes[0] != INBOUND {
        return None;
    }
    let account = u16::from_le_bytes([bytes[1], bytes[2]]);
    let ts = u64::from_le_bytes(bytes[3..11].try_into().ok()?);
    Some((account, ts, &bytes[11..]))
}

/// One line describing a message entry, for `tickforge journal inspect`.
pub fn describe_message(bytes: &[u8]) -> String {
    use tickforge_wire::ouch42::inbound::{decode, Message};
    use tickforge_wire::Alpha;
    if let Ok(h) = DayHeader::decode(bytes) {
        return format!(
            "venue day: session {}, accounts {}, instruments {}",
            h.session,
            h.accounts.join(" "),
            h.instruments.join(" ")
        );
    }
    let Some((account, ts, ouch)) = decode_inbound(bytes) else {
        return format!("message of {} bytes (not a venue entry)", bytes.len());
    };
    let what = match decode(ouch) {
        Ok(Message::EnterOrder(o)) => format!(
            "O enter {} {} {} {} @ {}",
            Alpha::trim(&o.order_token),
            o.buy_sell_indicator as char,
            o.shares.get(),
            Alpha::trim(&o.stock),
            o.price.get()
        ),
        Ok(Message::CancelOrder(c)) => format!("X cancel {} to {}", Alpha::trim(&c.order_token), c.shares.get()),
        Ok(Message::ReplaceOrder(u)) => format!(
            "U replace {} by {} {} @ {}",
            Alpha::trim(&u.existing_order_token),
            Alpha::trim(&u.replacement_order_token_token_14),
            u.shares.get(),
            u.price.get()
        ),
        Ok(Message::ModifyOrder(m)) => {
            format!("M modify {} {} to {}", Alpha::trim(&m.order_token), m.buy_sell_indicator as char, m.shares.get())
        }
        Ok(other) => format!("{:?}", other),
        Err(e) => format!("undecodable OUCH ({e})"),
    };
    // Account `i` is the engine's session `i + 1`, as the records around it show it.
    format!("OUCH in, session {}, at {}: {what}", u32::from(account) + 1, tickforge_feed::stats::format_time_of_day(ts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_mismatches_are_named() {
        let h = DayHeader {
            session: "S".into(),
            accounts: vec!["a".into(), "b".into()],
            instruments: vec!["X".into()],
            start_ns: 5,
        };
        assert_eq!(DayHeader::decode(&h.encode()).unwrap(), h);
        assert!(DayHeader::decode(b"nope").is_err());
        let mut other = h.clone();
        other.accounts.reverse();
        assert!(h.mismatch(&other).unwrap().contains("accounts"));
        let mut v = Vec::new();
        encode_inbound(&mut v, 3, 77, b"Oxyz");
        assert_eq!(decode_inbound(&v), Some((3, 77, &b"Oxyz"[..])));
        assert_eq!(decode_inbound(&v[..11]), None);
        assert!(describe_message(&h.encode()).contains("accounts a b"));
        assert!(describe_message(&v).contains("session 4"), "{}", describe_message(&v));
    }
}
