//! `tickforge listen`: a MoldUDP64 feed handler. Receives ITCH 5.0 over MoldUDP64, recovers
//! lost datagrams from the retransmission server, and rebuilds the books: the state hash at the
//! end must equal the publishing engine's.

use crate::replay::input::replay_engine;
use anyhow::Result;
use std::time::Duration;
use tickforge_feed::mold::udp::UdpReceiver;
use tickforge_feed::mold::ReceiverStats;
use tickforge_feed::normalize;
use tickforge_wire::itch;

/// What a listener saw.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ListenSummary {
    /// Whether the session ended with nothing missing (false: timed out).
    pub complete: bool,
    /// Messages delivered in sequence.
    pub messages: u64,
    /// Of which book records.
    pub records: u64,
    /// Messages that did not decode as ITCH 5.0.
    pub malformed: u64,
    /// The first of them: its sequence number, length and what was wrong.
    pub first_malformed: Option<String>,
    /// Transport counters: gaps, re-requests, recovered, lost, duplicates.
    pub transport: ReceiverStats,
    /// Orders resting at the end.
    pub resting_orders: usize,
    /// References to orders the book did not hold.
    pub unknown_refs: u64,
    /// Hash of every book at the end.
    pub state_hash: String,
}

/// Receives until the session ends (or `timeout`), building books.
pub fn listen(receiver: &mut UdpReceiver, timeout: Duration) -> Result<ListenSummary> {
    let mut engine = replay_engine();
    let mut out = Vec::with_capacity(64);
    let (mut messages, mut records, mut malformed) = (0u64, 0u64, 0u64);
    let mut first_malformed = None;
    let complete = receiver.run(timeout, |seq, msg| {
        messages += 1;
        match itch::decode(msg) {
            Ok(m) => {
                if let Some(r) = normalize::record(&m) {
                    records += 1;
                    out.clear();
                    engine.apply(&r, &mut out);
                }
            }
            Err(e) => {
                malformed += 1;
                first_malformed
                    .get_or_insert_with(|| format!("message {seq} ({} bytes) could not be decoded: {e}", msg.len()));
            }
        }
    })?;
    Ok(ListenSummary {
        complete,
        messages,
        records,
        malformed,
        first_malformed,
        transport: receiver.core.stats.clone(),
        resting_orders: engine.order_count(),
        unknown_refs: engine.stats().unknown_refs,
        state_hash: format!("{:016x}", engine.state_hash()),
    })
}

impl ListenSummary {
    /// The terminal summary.
    pub fn to_text(&self) -> String {
        let t = &self.transport;
        format!(
            "session      {}\nmessages     {} delivered in sequence, {} book records, {} malformed\n{}transport    {} datagrams, {} gaps, {} re-requests, {} recovered, {} lost, {} duplicates{}\nbooks        {} orders resting, {} unknown refs\nstate hash   {}\n",
            if self.complete { "ended, nothing missing" } else { "INCOMPLETE (timed out)" },
            self.messages,
            self.records,
            self.malformed,
            self.first_malformed.as_ref().map_or(String::new(), |p| format!("problem      {p}\n")),
            t.packets,
            t.gaps,
            t.rerequests,
            t.recovered,
            t.lost,
            t.duplicates,
            if t.malformed > 0 { format!(", {} datagrams not MoldUDP64 or of another session", t.malformed) } else { String::new() },
            self.resting_orders,
            self.unknown_refs,
            self.state_hash
        )
    }
}
