//! The venue file of `tickforge serve --config FILE` (TOML).
//!
//! ```toml
//! listen = "0.0.0.0:15000"      # default 127.0.0.1:15000
//! session = "TICKFORGE1"        # SoupBinTCP session name given at login
//! journal = "venue-journal"     # optional; --journal overrides it
//! heartbeat_ms = 1000           # send a heartbeat after this long without output
//! timeout_ms = 15000            # end a session silent this long
//! end_of_day = "20:00:00"       # UTC: day orders expire, system event E, entries rejected (default: never)
//! market_data = "239.192.1.1:16000"  # ITCH 5.0 over MoldUDP64 (unicast or multicast; default: none)
//! market_data_rerequest = "0.0.0.0:16001"  # its retransmission server (default: data port + 1)
//! orders_per_day = 4000000      # the day's tables are sized for this many orders (default 1,048,576)
//!
//! [[account]]
//! username = "firm1"            # SoupBinTCP: at most 6 characters
//! password = "k3yb04rd"         # at most 10
//! instruments = ["AAPL"]        # may trade only these (default: all)
//! stp = "cancel-newest"         # off (default) | cancel-newest | cancel-oldest | cancel-both | decrement
//! max_messages_per_second = 5000  # per-session throttle (default: none); excess messages queue
//! cancel_on_disconnect = true   # cancel its orders when its last session ends (default false)
//!
//! [[instrument]]
//! symbol = "AAPL"
//! tick = 0.01                   # dollars (default 0.0001)
//! reference_price = 190.0       # band reference until the first trade (default: none)
//! band_percent = 10.0           # or band = 5.0 (dollars); default: no band
//! max_qty = 100000              # largest order (default 1,000,000,000)
//! max_notional = 5000000.0      # dollars (default: unlimited)
//! ```
//!
//! Every error names the file and what is wrong (an unknown key, a price off the 1/10,000
//! grid, a duplicate username). Prices are dollars in the file and `Price(4)` units inside.
//! A listener beyond loopback needs every account to have a real password: at least 6
//! characters and not the username.

use super::server::{Account, ServeConfig};
use crate::{InstrumentConfig, PriceBand, StpMode};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    listen: Option<SocketAddr>,
    session: Option<String>,
    journal: Option<PathBuf>,
    heartbeat_ms: Option<u64>,
    timeout_ms: Option<u64>,
    end_of_day: Option<String>,
    market_data: Option<SocketAddr>,
    market_data_rerequest: Option<SocketAddr>,
    orders_per_day: Option<usize>,
    #[serde(default)]
    account: Vec<AccountFile>,
    #[serde(default)]
    instrument: Vec<InstrumentFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountFile {
    username: String,
    password: String,
    #[serde(default)]
    instruments: Vec<String>,
    #[serde(default)]
    stp: Option<String>,
    max_messages_per_second: Option<u32>,
    #[serde(default)]
    cancel_on_disconnect: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstrumentFile {
    symbol: String,
    tick: Option<f64>,
    reference_price: Option<f64>,
    band_percent: Option<f64>,
    band: Option<f64>,
    max_qty: Option<u32>,
    max_notional: Option<f64>,
}

/// Dollars to `Price(4)` units, refusing values off the 1/10,000 grid or out of range.
fn price_units(what: &str, dollars: f64) -> Result<i64, String> {
    let units = dollars * 10_000.0;
    if !units.is_finite() || !(0.0..=2e14).contains(&units) || (units - units.round()).abs() > 1e-6 {
        return Err(format!("{what} = {dollars}: not a price in dollars with at most 4 decimals"));
    }
    Ok(units.round() as i64)
}

fn stp_mode(s: &str) -> Result<StpMode, String> {
    Ok(match s {
        "off" => StpMode::Off,
        "cancel-newest" => StpMode::CancelNewest,
        "cancel-oldest" => StpMode::CancelOldest,
        "cancel-both" => StpMode::CancelBoth,
        "decrement" => StpMode::Decrement,
        other => {
            return Err(format!(
                "stp = {other:?}: expected off, cancel-newest, cancel-oldest, cancel-both or decrement"
            ))
        }
    })
}

fn instrument(f: &InstrumentFile) -> Result<(String, InstrumentConfig), String> {
    let sym = &f.symbol;
    if sym.is_empty() || sym.len() > 8 || !sym.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!("instrument {sym:?}: a symbol is 1 to 8 printable ASCII characters"));
    }
    let mut c = InstrumentConfig::default();
    if let Some(t) = f.tick {
        c.tick = price_units(&format!("instrument {sym}: tick"), t)?;
        if c.tick == 0 {
            return Err(format!("instrument {sym}: tick must be positive"));
        }
    }
    if let Some(r) = f.reference_price {
        c.reference_price = price_units(&format!("instrument {sym}: reference_price"), r)?;
    }
    c.band = match (f.band_percent, f.band) {
        (Some(_), Some(_)) => return Err(format!("instrument {sym}: give band_percent or band, not both")),
        (Some(p), None) if p > 0.0 && p <= 100.0 => Some(PriceBand::Bps((p * 100.0).round() as u32)),
        (Some(p), None) => return Err(format!("instrument {sym}: band_percent = {p}: expected 0 < p <= 100")),
        (None, Some(b)) => Some(PriceBand::Absolute(price_units(&format!("instrument {sym}: band"), b)?)),
        (None, None) => None,
    };
    if let Some(q) = f.max_qty {
        c.max_qty = q;
    }
    if let Some(n) = f.max_notional {
        c.max_notional = Some(price_units(&format!("instrument {sym}: max_notional"), n)? as u128);
    }
    Ok((sym.clone(), c))
}

/// `HH:MM:SS` (UTC) to ns since midnight.
pub fn time_of_day(text: &str) -> Result<u64, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let field = |i: usize, max: u64| -> Result<u64, String> {
        parts
            .get(i)
            .and_then(|p| p.parse::<u64>().ok())
            .filter(|&v| v <= max)
            .ok_or_else(|| "expected HH:MM:SS".to_string())
    };
    if parts.len() != 3 {
        return Err("expected HH:MM:SS".into());
    }
    Ok(((field(0, 23)? * 60 + field(1, 59)?) * 60 + field(2, 59)?) * 1_000_000_000)
}

/// Reads a venue file.
pub fn load(path: &Path) -> Result<ServeConfig, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses a venue file's text.
pub fn parse(text: &str) -> Result<ServeConfig, String> {
    let f: File = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut config = ServeConfig::demo();
    config.demo = false;
    if let Some(l) = f.listen {
        config.listen = l;
    }
    if let Some(s) = f.session {
        if s.len() > 10 {
            return Err(format!("session = {s:?}: a SoupBinTCP session name is at most 10 characters"));
        }
        config.session_name = s;
    }
    config.journal = f.journal;
    config.market_data = f.market_data;
    config.market_data_rerequest = f.market_data_rerequest;
    if let Some(n) = f.orders_per_day {
        config.orders_per_day = n;
    }
    if let Some(h) = f.heartbeat_ms {
        config.soup.heartbeat_ns = h.max(1) * 1_000_000;
    }
    if let Some(t) = f.timeout_ms {
        config.soup.timeout_ns = t.max(1) * 1_000_000;
    }
    if let Some(t) = &f.end_of_day {
        config.end_of_day = Some(time_of_day(t).map_err(|e| format!("end_of_day = {t:?}: {e}"))?);
    }
    if !f.instrument.is_empty() {
        config.instruments = f.instrument.iter().map(instrument).collect::<Result<_, _>>()?;
    }
    for (i, (s, _)) in config.instruments.iter().enumerate() {
        if config.instruments[..i].iter().any(|(x, _)| x == s) {
            return Err(format!("instrument {s} is listed twice"));
        }
    }
    if f.account.is_empty() {
        return Err("no [[account]]: a venue file lists its accounts".into());
    }
    config.accounts.clear();
    for a in &f.account {
        let u = &a.username;
        if u.is_empty() || u.len() > 6 || a.password.is_empty() || a.password.len() > 10 {
            return Err(format!(
                "account {u:?}: SoupBinTCP allows usernames of 1 to 6 and passwords of 1 to 10 characters"
            ));
        }
        if config.accounts.iter().any(|x: &Account| x.username.eq_ignore_ascii_case(u)) {
            return Err(format!("account {u} is listed twice"));
        }
        for s in &a.instruments {
            if !config.instruments.iter().any(|(x, _)| x == s) {
                return Err(format!("account {u}: instrument {s} is not one of the venue's [[instrument]]s"));
            }
        }
        if a.max_messages_per_second == Some(0) {
            return Err(format!("account {u}: max_messages_per_second must be positive"));
        }
        config.accounts.push(Account {
            username: u.clone(),
            password: a.password.clone(),
            instruments: a.instruments.clone(),
            stp: a
                .stp
                .as_deref()
                .map(stp_mode)
                .transpose()
                .map_err(|e| format!("account {u}: {e}"))?
                .unwrap_or_default(),
            max_messages_per_second: a.max_messages_per_second,
            cancel_on_disconnect: a.cancel_on_disconnect,
        });
    }
    Ok(config)
}

impl ServeConfig {
    /// Why this config may not listen where it says, if it may not: beyond loopback, the demo
    /// venue is refused, and so is any account whose password is short or equals the username.
    pub fn exposure_problem(&self) -> Option<String> {
        if self.listen.ip().is_loopback() {
            return None;
        }
        if self.demo {
            return Some(format!(
                "{} is not loopback, and the demo accounts have well-known passwords: give a --config with real credentials to listen beyond loopback",
                self.listen
            ));
        }
        self.accounts.iter().find(|a| a.password.len() < 6 || a.password.eq_ignore_ascii_case(&a.username)).map(|a| {
            format!(
                "{} is not loopback, and account {} has a weak password (under 6 characters, or the username)",
                self.listen, a.username
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
listen = "0.0.0.0:16000"
session = "VENUE1"
journal = "j"
orders_per_day = 5000000
[[account]]
username = "firm1"
password = "k3yb04rd"
instruments = ["AAPL"]
stp = "decrement"
max_messages_per_second = 500
[[account]]
username = "firm2"
password = "an0th3r"
[[instrument]]
symbol = "AAPL"
tick = 0.01
reference_price = 190.0
band_percent = 10
max_qty = 5000
max_notional = 1000000
[[instrument]]
symbol = "SPY"
band = 2.5
"#;

    #[test]
    fn a_full_file_parses_into_engine_units() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:16000");
        assert_eq!((c.session_name.as_str(), c.journal.as_deref()), ("VENUE1", Some(Path::new("j"))));
        assert_eq!(c.orders_per_day, 5_000_000);
        assert_eq!(c.accounts.len(), 2);
        assert_eq!((c.accounts[0].stp, c.accounts[0].max_messages_per_second), (StpMode::Decrement, Some(500)));
        assert_eq!(c.accounts[1].stp, StpMode::Off);
        let (sym, a) = &c.instruments[0];
        assert_eq!(sym, "AAPL");
        assert_eq!(
            *a,
            InstrumentConfig {
                tick: 100,
                band: Some(PriceBand::Bps(1000)),
                reference_price: 1_900_000,
                max_qty: 5000,
                max_notional: Some(10_000_000_000)
            }
        );
        assert_eq!(c.instruments[1].1.band, Some(PriceBand::Absolute(25_000)));
        assert_eq!(c.exposure_problem(), None, "real passwords may listen beyond loopback");
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let cases = [
            (GOOD.replace("tick = 0.01", "tick = 0.00001"), "tick = 0.00001"),
            (GOOD.replace("stp = \"decrement\"", "stp = \"sometimes\""), "account firm1: stp"),
            (GOOD.replace("instruments = [\"AAPL\"]", "instruments = [\"TSLA\"]"), "instrument TSLA is not one"),
            (GOOD.replace("firm2", "firm1"), "account firm1 is listed twice"),
            (GOOD.replace("band = 2.5", "band = 2.5\nband_percent = 1"), "not both"),
            (GOOD.replace("max_qty", "max_quantity"), "unknown field `max_quantity`"),
            (GOOD.replace("username = \"firm1\"", "username = \"toolongname\""), "usernames of 1 to 6"),
            ("listen = \"127.0.0.1:1\"".to_string(), "no [[account]]"),
            (format!("end_of_day = \"25:00:00\"\n{GOOD}"), "end_of_day = \"25:00:00\": expected HH:MM:SS"),
        ];
        for (text, want) in cases {
            let e = parse(&text).unwrap_err();
            assert!(!e.is_empty());
            assert!(e.contains(want), "{e:?} should mention {want:?}");
        }
    }

    #[test]
    fn the_example_file_in_the_repository_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("venue.example.toml");
        let c = load(&path).unwrap();
        assert_eq!((c.accounts.len(), c.instruments.len()), (2, 3));
        assert_eq!(c.accounts[0].stp, StpMode::CancelNewest);
        assert!(c.accounts[0].cancel_on_disconnect);
        assert_eq!(c.exposure_problem(), None);
        assert_eq!(c.orders_per_day, 2_000_000);
    }

    #[test]
    fn weak_passwords_and_the_demo_stay_on_loopback() {
        let mut demo = ServeConfig::demo();
        assert_eq!(demo.exposure_problem(), None);
        demo.listen = "0.0.0.0:15000".parse().unwrap();
        assert!(demo.exposure_problem().unwrap().contains("demo accounts"));
        let weak = parse(&GOOD.replace("k3yb04rd", "firm1")).unwrap();
        assert!(weak.exposure_problem().unwrap().contains("account firm1 has a weak password"));
        let short = parse(&GOOD.replace("k3yb04rd", "abc")).unwrap();
        assert!(short.exposure_problem().is_some());
        let local = parse(&GOOD.replace("0.0.0.0", "127.0.0.1").replace("k3yb04rd", "abc")).unwrap();
        assert_eq!(local.exposure_problem(), None);
    }
}
