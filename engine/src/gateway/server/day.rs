//! The trading day of a venue: how it opens (fresh, or rebuilt from its journal), what is
//! journaled and when, the system events at its start and end, and the venue-side commands
//! (end of day, cancel on disconnect). See `super::super::venue_journal` for the journal's
//! contents.

use super::market::send_md;
use super::{time_of_day, Server};
use crate::book::settings::instrument_records;
use crate::gateway::ouch::Command;
use crate::gateway::venue_journal::{decode_inbound, encode_inbound, DayHeader};
use tickforge_replay::journal::{Item, Journal, JournalConfig, JournalReader};
use tickforge_wire::ouch42::outbound;
use tickforge_wire::zerocopy::byteorder::big_endian::U64;
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::Record;

impl Server {
    /// A new trading day starting at `start`: the configuration's records (journaled first
    /// when there is a journal), then the start-of-day event.
    pub(super) fn fresh_day(&mut self, start: u64) -> Result<(), String> {
        for r in self.config.setup_records() {
            self.journal_record(&r)?;
            self.apply(r, None);
        }
        self.start_of_day(start);
        Ok(())
    }

    /// The start-of-day system event, first in every account's stream.
    pub(super) fn start_of_day(&mut self, ts: u64) {
        self.system_event(b'S', ts);
    }

    /// An OUCH system event (`S` start of day, `E` end of day) to every account's stream, and
    /// the matching ITCH messages (the directory, or the end-of-day events) to market data.
    pub(super) fn system_event(&mut self, code: u8, ts: u64) {
        let m = outbound::SystemEvent { message_type: b'S', timestamp: U64::new(ts), event_code: code };
        for a in 0..self.streams.len() {
            self.scratch.clear();
            self.scratch.extend_from_slice(m.as_bytes());
            self.publish(a, None);
        }
        if let Some(md) = self.market_data.as_mut() {
            let (encoder, publisher, restoring) = (&md.encoder, &mut md.publisher, self.restoring);
            let mut send = |b: &[u8]| send_md(publisher, restoring, b);
            if code == b'S' {
                encoder.directory(ts, &mut send);
            } else {
                encoder.end_of_day(ts, &mut send);
            }
        }
    }

    pub(super) fn open_journal(&mut self, dir: &std::path::Path) -> Result<(), String> {
        let (mut journal, recovery) = Journal::open(dir, JournalConfig::default()).map_err(|e| e.to_string())?;
        if let Some(torn) = &recovery.torn {
            eprintln!(
                "serve: journal {}: dropped a torn tail of {} bytes ({torn})",
                dir.display(),
                recovery.dropped_bytes
            );
        }
        if recovery.records == 0 {
            let start = time_of_day();
            journal.append_message(&self.config.day_header(start).encode()).map_err(|e| e.to_string())?;
            self.journal = Some(journal);
            return self.fresh_day(start);
        }
        self.journal = Some(journal);
        self.restoring = true;
        let restored = self.restore(dir);
        self.restoring = false;
        restored?;
        // Limits changed in the config since the journal was written take effect now, journaled.
        for (i, (sym, c)) in self.config.instruments.clone().into_iter().enumerate() {
            if self.engine.instrument_config(i as u16) != Some(c) {
                eprintln!("serve: instrument {sym}: limits differ from the journal's; the config's apply from now on");
                for r in instrument_records(i as u16, &c) {
                    self.journal_record(&r)?;
                    self.apply(r, None);
                }
            }
        }
        Ok(())
    }

    /// Rebuilds the day from the journal: engine, tokens and every account's stream.
    pub(super) fn restore(&mut self, dir: &std::path::Path) -> Result<(), String> {
        let mut reader = JournalReader::open(dir).map_err(|e| e.to_string())?;
        let mut expected: Option<Record> = None;
        let mut first = true;
        loop {
            let item = reader.next_item().map_err(|e| e.to_string())?;
            let Some(item) = item else { break };
            let seq = match item {
                Item::Record(e) => e.seq,
                Item::Message { seq, .. } => seq,
            };
            if first {
                first = false;
                let Item::Message { bytes, .. } = item else {
                    return Err("not a venue journal: the first entry is not a day header".into());
                };
                let header = DayHeader::decode(bytes)?;
                if let Some(why) = header.mismatch(&self.config.day_header(0)) {
                    return Err(format!("written by another venue configuration: {why}"));
                }
                self.start_of_day(header.start_ns);
                continue;
            }
            match item {
                Item::Message { bytes, .. } => {
                    if let Some(r) = expected.take() {
                        // The previous message's command never made it to the journal (a crash
                        // between the two appends): it was journaled, so it is applied now.
                        self.journal_record(&r)?;
                        self.apply(r, None);
                    }
                    let (account, ts, ouch) =
                        decode_inbound(bytes).ok_or(format!("entry {seq}: not an inbound-message entry"))?;
                    if usize::from(account) >= self.config.accounts.len() {
                        return Err(format!("entry {seq}: account {account} does not exist"));
                    }
                    self.stats.restored += 1;
                    match self.translator.inbound(account + 1, ouch, ts) {
                        Ok(Command::Engine(r)) => expected = Some(r),
                        Ok(Command::Reply(msg)) => {
                            self.scratch.clear();
                            self.scratch.extend_from_slice(&msg);
                            self.publish(usize::from(account), None);
                        }
                        Ok(Command::Ignored(_)) => {}
                        Err(e) => return Err(format!("entry {seq}: {e}")),
                    }
                }
                Item::Record(e) => {
                    let mut got = e.record;
                    got.seq = 0;
                    if let Some(want) = expected.take() {
                        if want != got {
                            return Err(format!(
                                "entry {seq}: the journaled command differs from what its message translates to now (another tickforge version?)"
                            ));
                        }
                    }
                    self.apply(got, None);
                    if got.kind == tickforge_wire::Kind::EndOfDay as u8 {
                        self.day_ended(got.ts_event);
                    }
                }
            }
        }
        if let Some(r) = expected.take() {
            self.journal_record(&r)?;
            self.apply(r, None);
        }
        if self.stats.restored > 0 {
            eprintln!(
                "serve: restored {} inbound messages from {}; {} orders resting",
                self.stats.restored,
                dir.display(),
                self.engine.order_count()
            );
        }
        Ok(())
    }

    pub(super) fn journal_record(&mut self, r: &Record) -> Result<(), String> {
        match self.journal.as_mut() {
            Some(j) => j.append(r).map(|_| ()).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    /// Journals an inbound message (and its command), before anything it causes is sent.
    pub(super) fn journal_inbound(
        &mut self,
        account: usize,
        ts: u64,
        ouch: &[u8],
        command: Option<&Record>,
    ) -> Result<(), String> {
        let Some(j) = self.journal.as_mut() else { return Ok(()) };
        encode_inbound(&mut self.entry, account as u16, ts, ouch);
        j.append_message(&self.entry).map_err(|e| e.to_string())?;
        if let Some(r) = command {
            j.append(r).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Ends the trading day now: every day order expires (cancelled, reason `T`), each account
    /// gets the end-of-day system event, and from then on entries are rejected (`C`). Journaled
    /// (an `EndOfDay` record), so a restart or a replay ends the day at the same point.
    pub fn end_of_day(&mut self) {
        if self.closed {
            return;
        }
        let mut r = Record::new(tickforge_wire::Kind::EndOfDay);
        r.ts_event = time_of_day();
        let Some(expired) = self.venue_command(r, "end of day") else { return };
        self.day_ended(r.ts_event);
        eprintln!("serve: end of day: {expired} day orders expired");
    }

    pub(super) fn day_ended(&mut self, ts: u64) {
        self.closed = true;
        self.translator.close();
        self.system_event(b'E', ts);
    }

    /// When an account that asks for it loses its last session, its orders are cancelled (a
    /// `MassCancel` record, journaled like any command).
    pub(super) fn cancel_on_disconnect(&mut self, account: usize) {
        if !self.config.accounts[account].cancel_on_disconnect
            || self.conns.values().any(|c| c.account.is_some_and(|(b, _)| b == account))
        {
            return;
        }
        let mut r = Record::new(tickforge_wire::Kind::MassCancel);
        (r.session, r.aux, r.ts_event) = (account as u16 + 1, 0, time_of_day());
        let Some(n) = self.venue_command(r, "cancel on disconnect") else { return };
        let user = &self.config.accounts[account].username;
        eprintln!("serve: {user}: last session gone, {n} orders cancelled (cancel on disconnect)");
    }

    /// A command the venue itself issues: journaled, then applied. Returns how many orders it
    /// cancelled, or `None` if the journal failed (then nothing more is accepted).
    fn venue_command(&mut self, r: Record, what: &str) -> Option<usize> {
        if let Err(e) = self.journal_record(&r) {
            self.journal_failed = true;
            eprintln!("serve: journal write failed ({e}); {what} not applied; taking no more commands");
            return None;
        }
        self.apply(r, None);
        Some(self.outputs.iter().filter(|o| o.kind == tickforge_wire::Kind::Canceled as u8).count())
    }
}
