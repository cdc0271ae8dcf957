//! Configuration as records: an instrument's limits and an account's self-trade prevention,
//! expressed as `Configure` records ([`Setting`]) that [`Engine::apply`] understands.
//!
//! A venue journals these before any order, so replaying its journal (with `tickforge replay`,
//! which knows nothing of the venue's config file) rebuilds exactly the same books and rejects.
//! [`instrument_records`] and [`stp_record`] produce them; applying them in order has the same
//! effect as [`Engine::add_instrument`] and [`Engine::set_stp`].

use super::{Engine, InstrumentConfig, PriceBand, StpMode};
use tickforge_wire::{Kind, Record, Setting};

fn setting(setting: Setting, instrument: u16, session: u16, value: i64) -> Record {
    let mut r = Record::new(Kind::Configure);
    (r.aux, r.instrument, r.session, r.price) = (setting as u64, instrument, session, value);
    r
}

/// The records that configure `instrument` as `config` does.
pub fn instrument_records(instrument: u16, config: &InstrumentConfig) -> Vec<Record> {
    let s = |k, v| setting(k, instrument, 0, v);
    let band = match config.band {
        None => s(Setting::BandAbsolute, 0),
        Some(PriceBand::Absolute(w)) => s(Setting::BandAbsolute, w),
        Some(PriceBand::Bps(b)) => s(Setting::BandBps, i64::from(b)),
    };
    vec![
        s(Setting::Instrument, config.tick),
        s(Setting::ReferencePrice, config.reference_price),
        band,
        s(Setting::MaxQty, i64::from(config.max_qty)),
        s(Setting::MaxNotional, config.max_notional.map_or(0, |n| i64::try_from(n).unwrap_or(i64::MAX))),
    ]
}

/// The record that sets an account's self-trade prevention.
pub fn stp_record(session: u16, mode: StpMode) -> Record {
    let code = match mode {
        StpMode::Off => 0,
        StpMode::CancelNewest => 1,
        StpMode::CancelOldest => 2,
        StpMode::CancelBoth => 3,
        StpMode::Decrement => 4,
    };
    setting(Setting::SelfTradePrevention, 0, session, code)
}

impl Engine {
    /// Applies a `Configure` record; an unknown setting or a value out of range is counted as
    /// ignored (as any record the engine cannot use), never a panic.
    pub(crate) fn configure(&mut self, rec: &Record) {
        let Ok(code) = u8::try_from(rec.aux) else {
            self.stats.ignored += 1;
            return;
        };
        let v = rec.price;
        let i = usize::from(rec.instrument);
        match Setting::try_from(code) {
            Ok(Setting::Instrument) if v > 0 => {
                self.add_instrument(rec.instrument, InstrumentConfig { tick: v, ..InstrumentConfig::default() });
            }
            Ok(Setting::SelfTradePrevention) => {
                let mode = match v {
                    0 => StpMode::Off,
                    1 => StpMode::CancelNewest,
                    2 => StpMode::CancelOldest,
                    3 => StpMode::CancelBoth,
                    4 => StpMode::Decrement,
                    _ => {
                        self.stats.ignored += 1;
                        return;
                    }
                };
                self.set_stp(rec.session, mode);
            }
            Ok(s) if i < self.books.len() && self.books[i].configured && v >= 0 => {
                let b = &mut self.books[i];
                match s {
                    Setting::ReferencePrice => {
                        b.config.reference_price = v;
                        b.reference_price = v;
                    }
                    Setting::BandAbsolute => b.config.band = (v > 0).then_some(PriceBand::Absolute(v)),
                    Setting::BandBps => b.config.band = u32::try_from(v).ok().filter(|&x| x > 0).map(PriceBand::Bps),
                    Setting::MaxQty => b.config.max_qty = u32::try_from(v).unwrap_or(u32::MAX),
                    Setting::MaxNotional => b.config.max_notional = (v > 0).then_some(v as u128),
                    Setting::Instrument | Setting::SelfTradePrevention => unreachable!("matched above"),
                }
                b.refresh();
            }
            _ => self.stats.ignored += 1,
        }
    }

    /// The configuration of `instrument`, if it is configured for matching.
    pub fn instrument_config(&self, instrument: u16) -> Option<InstrumentConfig> {
        self.books.get(usize::from(instrument)).filter(|b| b.configured).map(|b| b.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EngineConfig;

    #[test]
    fn records_configure_as_the_api_does() {
        let configs = [
            InstrumentConfig::default(),
            InstrumentConfig {
                tick: 100,
                band: Some(PriceBand::Bps(500)),
                reference_price: 1_500_000,
                max_qty: 10_000,
                max_notional: Some(5_000_000_000),
            },
            InstrumentConfig { tick: 1, band: Some(PriceBand::Absolute(2_000)), ..InstrumentConfig::default() },
        ];
        let mut by_api = Engine::new(EngineConfig::default());
        let mut by_records = Engine::new(EngineConfig::default());
        let mut out = Vec::new();
        for (i, c) in configs.iter().enumerate() {
            by_api.add_instrument(i as u16, *c);
            for r in instrument_records(i as u16, c) {
                by_records.apply(&r, &mut out);
            }
            assert_eq!(by_records.instrument_config(i as u16), Some(*c));
        }
        by_api.set_stp(3, StpMode::Decrement);
        by_records.apply(&stp_record(3, StpMode::Decrement), &mut out);
        assert!(out.is_empty(), "configuration produces no output");
        assert_eq!(by_api.state_hash(), by_records.state_hash());
        assert_eq!(by_records.stats().ignored, 0);
        // Garbage settings are counted, not fatal.
        let mut bad = Record::new(Kind::Configure);
        for aux in [0, 99, 1 << 40] {
            bad.aux = aux;
            by_records.apply(&bad, &mut out);
        }
        assert_eq!(by_records.stats().ignored, 3);
    }
}
