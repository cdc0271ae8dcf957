//! The venue's own market data: the matching engine's order-entry outputs turned into
//! market-by-order records (`MdAdd`, `MdExecute`, `MdCancel`, `MdDelete`, `MdReplace`,
//! `MdTrade`) that `tickforge_feed::itch_out` encodes as ITCH 5.0 (sans-I/O).
//!
//! What the public sees of one command's outputs, in order:
//!
//! | engine output | ITCH |
//! |---|---|
//! | `Fill` of a resting displayed order | `E` executed (the order's reference, the match number) |
//! | `Fill` of a resting hidden order | `P` trade (order reference 0, as Nasdaq publishes) |
//! | `Fill` of the incoming order | nothing: the resting side's `E` is the execution |
//! | `Canceled` of a resting order | `X` (part) or `D` (all) |
//! | `Accepted`, and what is left of it after matching | `A` once the command is done, if it rests and is displayed |
//! | `Replaced` of a displayed order | `U` with what rests after matching, or `D` if nothing does |
//!
//! An incoming order's `A` waits for the end of its command, so the public never sees a
//! crossed book built from an order that was about to trade; an IOC's remainder never shows.
//! Order references are the engine's order ids. A replace that keeps priority (a smaller size at
//! the same price) is still published as `U`, which ITCH defines as losing priority: the levels
//! are exact, the queue position in a mirror may not be.

use std::collections::HashMap;
use tickforge_wire::record::{FLAG_HIDDEN, FLAG_MAKER};
use tickforge_wire::{Kind, Record, Side};

#[derive(Debug, Clone, Copy)]
struct Resting {
    shares: u32,
    hidden: bool,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    record: Record,
    shares: u32,
    hidden: bool,
    /// A replace: the displayed order it replaces.
    replaces: Option<u64>,
}

/// Order-entry outputs to market-by-order records.
#[derive(Debug, Default)]
pub struct MarketData {
    resting: HashMap<u64, Resting>,
    pending: Vec<Pending>,
}

impl MarketData {
    /// Converts the outputs of one engine command, emitting market-data records in order.
    pub fn on_outputs(&mut self, outputs: &[Record], mut emit: impl FnMut(&Record)) {
        for o in outputs {
            match o.kind() {
                Ok(Kind::Accepted) => self.pending.push(Pending {
                    record: *o,
                    shares: o.qty,
                    hidden: o.flags & FLAG_HIDDEN != 0,
                    replaces: None,
                }),
                Ok(Kind::Replaced) => {
                    let old = self.resting.remove(&o.order_id);
                    let hidden = old.is_none_or(|r| r.hidden);
                    let mut record = *o;
                    record.order_id = o.aux;
                    let replaces = old.filter(|r| !r.hidden).map(|_| o.order_id);
                    self.pending.push(Pending { record, shares: o.qty, hidden, replaces });
                }
                Ok(Kind::Fill) if o.flags & FLAG_MAKER != 0 => {
                    let Some(r) = self.resting.get_mut(&o.order_id) else { continue };
                    let mut m = *o;
                    if r.hidden {
                        m.kind = Kind::MdTrade as u8;
                        m.order_id = 0;
                    } else {
                        m.kind = Kind::MdExecute as u8;
                    }
                    m.flags = 0;
                    emit(&m);
                    r.shares = r.shares.saturating_sub(o.qty);
                    if r.shares == 0 {
                        self.resting.remove(&o.order_id);
                    }
                }
                Ok(Kind::Fill) => self.reduce_pending(o.order_id, o.qty),
                Ok(Kind::Canceled) => {
                    if let Some(r) = self.resting.get_mut(&o.order_id) {
                        let left = (o.aux & 0xFFFF_FFFF) as u32;
                        let hidden = r.hidden;
                        r.shares = left;
                        if left == 0 {
                            self.resting.remove(&o.order_id);
                        }
                        if !hidden {
                            let mut m = *o;
                            m.kind = if left == 0 { Kind::MdDelete } else { Kind::MdCancel } as u8;
                            (m.aux, m.flags) = (0, 0);
                            emit(&m);
                        }
                    } else {
                        self.reduce_pending(o.order_id, o.qty);
                    }
                }
                _ => {}
            }
        }
        for p in self.pending.drain(..) {
            let mut m = p.record;
            m.flags = 0;
            m.qty = p.shares;
            match (p.replaces, p.shares) {
                (Some(old), 0) => {
                    m.kind = Kind::MdDelete as u8;
                    m.order_id = old;
                    emit(&m);
                }
                (Some(old), n) => {
                    m.kind = Kind::MdReplace as u8;
                    (m.order_id, m.aux) = (old, p.record.order_id);
                    emit(&m);
                    self.resting.insert(p.record.order_id, Resting { shares: n, hidden: false });
                }
                (None, 0) => {}
                (None, n) => {
                    self.resting.insert(p.record.order_id, Resting { shares: n, hidden: p.hidden });
                    if !p.hidden {
                        m.kind = Kind::MdAdd as u8;
                        m.aux = 0;
                        if m.side == Side::None as u8 {
                            continue;
                        }
                        emit(&m);
                    }
                }
            }
        }
    }

    fn reduce_pending(&mut self, id: u64, qty: u32) {
        if let Some(p) = self.pending.iter_mut().find(|p| p.record.order_id == id) {
            p.shares = p.shares.saturating_sub(qty);
        }
    }

    /// Orders resting as far as the public knows (displayed and hidden).
    pub fn resting(&self) -> usize {
        self.resting.len()
    }
}
