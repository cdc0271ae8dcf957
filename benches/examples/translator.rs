//! The OUCH translator's cost per inbound message over a trading day, as `tickforge serve`
//! runs it (tables sized for the day with `Translator::with_capacity`): `N` orders (default
//! 1,000,000) entered by 32 sessions of two accounts in turn, with the client's token format
//! (`tickforge client`: run tag, session, order number), every second order followed by a
//! cancel of the one before it. Each entry looks its token up (the duplicate check) and
//! remembers it; each cancel looks a token up. The messages are built before the clock
//! starts; each round uses a fresh translator; prints the median and range of `ROUNDS`
//! (default 5) rounds in ns per message. `TOKENS=random|dense` changes the tokens' shape (see
//! `Tokens`).
//! `cargo run --release -p tickforge-benches --example translator [N]`
use std::time::Instant;
use tickforge_engine::gateway::ouch::{Command, Translator};
use tickforge_wire::ouch42::inbound;
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::Alpha;

const SESSIONS: usize = 32;
const ALPHANUMERIC: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The tokens' shape, from `TOKENS`.
#[derive(Debug, Clone, Copy)]
enum Tokens {
    /// `client` (the default): `tickforge client`'s format, a counter at the end.
    Client,
    /// `random`: 14 random letters and digits, as a client hashing its own ids would send.
    Random,
    /// `dense`: runs of 62 tokens that differ only in their last character, the shape that
    /// packs the token table's neighbourhoods fullest.
    Dense,
}

/// The token of a session's `order`th order.
fn token(style: Tokens, session: usize, order: usize) -> [u8; 14] {
    let n = (order * SESSIONS + session) as u64;
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5851_F42D_4C95_7F2D;
    let mut random_char = || {
        x ^= x >> 29;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 32;
        ALPHANUMERIC[(x % 62) as usize]
    };
    match style {
        Tokens::Random => std::array::from_fn(|_| random_char()),
        Tokens::Dense => {
            let (run, last) = (n / 62, ALPHANUMERIC[(n % 62) as usize]);
            let mut t = Alpha::pad(&format!("D{run:012}"));
            t[13] = last;
            t
        }
        Tokens::Client => Alpha::pad(&format!("TF{session:03}O{order:08}")),
    }
}

/// (account, message bytes) for the whole day.
fn day(n: usize, style: Tokens) -> Vec<(u16, Vec<u8>)> {
    let mut messages = Vec::with_capacity(n + n / 2);
    for i in 0..n {
        let (session, order) = (i % SESSIONS, i / SESSIONS);
        let account = 1 + (session % 2) as u16;
        let side = if i % 2 == 0 { b'B' } else { b'S' };
        let o =
            inbound::EnterOrder::day(token(style, session, order), side, 100, Alpha::pad("AAPL"), 1_000_000, *b"DEMO");
        messages.push((account, o.as_bytes().to_vec()));
        if i % 2 == 1 && i >= SESSIONS {
            let earlier = i - SESSIONS; // this session's order before
            let c = inbound::CancelOrder {
                message_type: b'X',
                order_token: token(style, earlier % SESSIONS, earlier / SESSIONS),
                shares: 0.into(),
            };
            messages.push((account, c.as_bytes().to_vec()));
        }
    }
    messages
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    let style = match std::env::var("TOKENS").as_deref() {
        Ok("random") => Tokens::Random,
        Ok("dense") => Tokens::Dense,
        Ok("client") | Err(_) => Tokens::Client,
        Ok(other) => panic!("TOKENS={other}: client, random or dense"),
    };
    let messages = day(n, style);
    let mut per_message = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let mut t = Translator::with_capacity(&["AAPL"], n);
        let mut engine_commands = 0u64;
        let start = Instant::now();
        for (account, bytes) in &messages {
            if let Ok(Command::Engine(_)) = t.inbound(*account, bytes, 0) {
                engine_commands += 1;
            }
        }
        let elapsed = start.elapsed();
        assert_eq!(engine_commands as usize, messages.len(), "every entry and cancel becomes a command");
        per_message.push(elapsed.as_nanos() as f64 / messages.len() as f64);
    }
    per_message.sort_by(f64::total_cmp);
    println!(
        "{} messages ({n} entries, {} cancels): median {:.1} ns per message (range {:.1}-{:.1}, {rounds} rounds)",
        messages.len(),
        messages.len() - n,
        per_message[rounds / 2],
        per_message[0],
        per_message[rounds - 1]
    );
}
