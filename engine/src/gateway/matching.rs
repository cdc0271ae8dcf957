//! `tickforge serve`'s matching stage: the engine on its own thread, pinned to a core when
//! asked, fed by the event loop through one SPSC ring ([`crate::ring`]) and answering through
//! another.
//!
//! # Protocol
//!
//! Each command is a call. The event loop pushes the command record; the stage applies it,
//! pushes every output, then a done marker: the command echoed with `seq = u64::MAX` (commands
//! are sent with `seq = 0`, and outputs copy it) and `qty` = the shares the named order still
//! has open (what an OUCH modify answer reports). The event loop waits for the marker before it
//! translates the next inbound message, so translations, journal entries and stream messages
//! happen in exactly the order one thread would produce them, and a restart from the journal
//! (which is single-threaded) rebuilds the same streams. What the separate core buys is cache
//! residency: the books, order pool and id index stay in the matching core's caches while the
//! event loop's socket and session work runs on another. What it costs is two cross-core
//! hand-offs per command. On 2 cores the default keeps the engine on the event-loop thread
//! (no two busy-spinners on one core, and a client on the same machine needs the other).
//!
//! # Memory ordering
//!
//! Nothing here beyond the rings': a record is written before its ring's release store of the
//! tail and read after the acquire load of it, so the stage sees every command field, and the
//! event loop every output, fully written. The engine moves into the thread at start and back
//! out through `JoinHandle::join` (which synchronises) at stop.
//!
//! # Waiting
//!
//! The stage waits for commands with its [`WaitStrategy`]; when that parks, the event loop
//! unparks it after each push (a futex wake only if it is actually parked). The event loop
//! waits for a call's answer with the same strategy, minus the parking (the answer is always
//! on its way).

use crate::ring::{ring, Consumer, Producer};
use crate::wait::{WaitStrategy, Waiter};
use crate::Engine;
use std::thread::JoinHandle;
use tickforge_wire::{Kind, Record};

/// Where the engine runs when it has a thread of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchingPlacement {
    /// The core it is pinned to (`None`: not pinned).
    pub core: Option<usize>,
    /// How it waits for commands.
    pub wait: WaitStrategy,
}

impl MatchingPlacement {
    /// The default for this machine: on 3 or more cores, the last core, busy-spinning; on
    /// fewer, `None` (the engine runs on the event-loop thread).
    pub fn for_this_machine() -> Option<MatchingPlacement> {
        let cores = core_affinity::get_core_ids().map_or(1, |c| c.len());
        (cores >= 3).then_some(MatchingPlacement { core: Some(cores - 1), wait: WaitStrategy::BusySpin })
    }
}

/// Shares order `cmd.order_id` has open after `cmd` was applied (0 if it is gone), for a
/// cancel-to-size (the OUCH modify answer); 0 for other commands.
pub fn leaves_after(engine: &Engine, cmd: &Record) -> u32 {
    if cmd.kind == Kind::CancelOrder as u8 {
        engine.order(cmd.order_id).map_or(0, |o| o.visible + o.hidden)
    } else {
        0
    }
}

const DONE: u64 = u64::MAX;
const RING: usize = 4096;

/// The running stage.
#[derive(Debug)]
pub struct MatchingStage {
    to: Producer<Record>,
    from: Consumer<Record>,
    handle: JoinHandle<Engine>,
    wait: WaitStrategy,
}

impl MatchingStage {
    /// Moves `engine` onto a new thread placed as `placement` says.
    pub fn start(mut engine: Engine, placement: MatchingPlacement) -> std::io::Result<MatchingStage> {
        let (to, mut commands) = ring::<Record>(RING);
        let (mut answers, from) = ring::<Record>(RING);
        let handle = std::thread::Builder::new().name("tickforge-matching".into()).spawn(move || {
            if let Some(id) = placement.core {
                core_affinity::set_for_current(core_affinity::CoreId { id });
            }
            let mut out = Vec::with_capacity(1024);
            let mut idle = Waiter::new(placement.wait);
            loop {
                match commands.pop() {
                    Some(cmd) => {
                        idle.reset();
                        out.clear();
                        engine.apply(&cmd, &mut out);
                        let mut done = cmd;
                        (done.seq, done.qty) = (DONE, leaves_after(&engine, &cmd));
                        out.push(done);
                        // The outputs and the marker in as few publishes as the ring allows
                        // (one, unless it is full).
                        let (mut sent, mut full) = (0, Waiter::new(WaitStrategy::YIELDING));
                        while sent < out.len() {
                            sent += answers.push_slice(&out[sent..]);
                            if sent < out.len() {
                                full.wait(); // the event loop drains as it waits for the marker
                            }
                        }
                    }
                    None if commands.is_finished() => return engine,
                    None => idle.wait(),
                }
            }
        })?;
        Ok(MatchingStage { to, from, handle, wait: placement.wait })
    }

    /// Applies `cmd` on the stage; its outputs are appended to `out`. Returns the shares the
    /// named order has open afterwards (see [`leaves_after`]).
    pub fn call(&mut self, cmd: &Record, out: &mut Vec<Record>) -> u32 {
        let mut cmd = *cmd;
        cmd.seq = 0;
        let mut waiter = Waiter::new(self.answer_wait());
        while self.to.push(cmd).is_err() {
            waiter.wait(); // cannot stay full: every earlier call was answered
        }
        if matches!(self.wait, WaitStrategy::SpinThenPark { .. }) {
            self.handle.thread().unpark();
        }
        waiter.reset();
        loop {
            match self.from.pop() {
                Some(r) if r.seq == DONE => return r.qty,
                Some(r) => {
                    out.push(r);
                    waiter.reset();
                }
                None => waiter.wait(),
            }
        }
    }

    fn answer_wait(&self) -> WaitStrategy {
        match self.wait {
            WaitStrategy::BusySpin => WaitStrategy::BusySpin,
            _ => WaitStrategy::YIELDING,
        }
    }

    /// Stops the stage and hands the engine back.
    pub fn stop(self) -> Engine {
        self.to.close();
        self.handle.thread().unpark();
        self.handle.join().expect("the matching stage does not panic")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EngineConfig, InstrumentConfig};
    use tickforge_wire::Side;

    #[test]
    fn calls_answer_like_the_engine_itself() {
        let mut inline = Engine::new(EngineConfig::default());
        let mut staged = Engine::new(EngineConfig::default());
        for e in [&mut inline, &mut staged] {
            e.add_instrument(0, InstrumentConfig::default());
        }
        let mut stage =
            MatchingStage::start(staged, MatchingPlacement { core: None, wait: WaitStrategy::PARKING }).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for i in 0..3_000u64 {
            let mut r = Record::new(Kind::NewOrder);
            (r.order_id, r.session, r.qty, r.price) = (i + 1, 1 + (i % 2) as u16, 100, 1_000 + (i % 7) as i64);
            r.side = if i % 3 == 0 { Side::Sell } else { Side::Buy } as u8;
            if i % 5 == 4 {
                r = Record::new(Kind::CancelOrder);
                (r.order_id, r.session, r.aux) = (i - 3, 1 + ((i - 4) % 2) as u16, 40);
            }
            a.clear();
            b.clear();
            inline.apply(&r, &mut a);
            let leaves = stage.call(&r, &mut b);
            assert_eq!(a, b, "command {i}");
            assert_eq!(leaves, leaves_after(&inline, &r));
        }
        let staged = stage.stop();
        assert_eq!(staged.state_hash(), inline.state_hash());
    }
}
