//! `tickforge serve`'s event loop: one thread, non-blocking sockets, `mio` readiness.
//!
//! Each connection is a [`ServerSession`]; a login is checked against the accounts; an
//! account's outbound OUCH messages form one sequenced stream shared by all its sessions, kept
//! in memory for the day so a session that logs in again with a sequence number gets everything
//! from there (SoupBinTCP's recovery). Commands go through the [`Translator`] to the engine,
//! applied in arrival order; every output goes back through the translator to the owning
//! account's stream and out to each of its sessions.
//!
//! A session that breaks the protocol is ended and logged with its address and the stream
//! offset; nothing it sent affects another session. Writes that would block are kept and sent
//! when the socket is writable again.
//!
//! This first version runs the engine on the event-loop thread; moving it onto the pinned
//! matching stage (rings both ways) is the next step of issue 7.

use super::ouch::{Command, Translator};
use super::soup::{Ended, Inbound, ServerSession, SoupConfig};
use crate::{Engine, EngineConfig, InstrumentConfig};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tickforge_feed::msglog::MessageLog;
use tickforge_wire::Record;

/// One account.
#[derive(Debug, Clone)]
pub struct Account {
    /// Login name (SoupBinTCP: up to 6 characters).
    pub username: String,
    /// Password (up to 10 characters).
    pub password: String,
    /// Instruments it may trade (empty: all).
    pub instruments: Vec<String>,
}

/// What the server runs with.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Accounts; account `i` is the engine's session `i + 1`.
    pub accounts: Vec<Account>,
    /// Instrument symbols; engine instrument `i`.
    pub instruments: Vec<String>,
    /// SoupBinTCP session settings.
    pub soup: SoupConfig,
    /// The session name given at login.
    pub session_name: String,
}

impl ServeConfig {
    /// The demo venue: loopback port 15000, accounts `demo`/`demo` and `demo2`/`demo2`,
    /// instruments AAPL, MSFT, SPY (tick $0.0001, no price band until a first trade).
    pub fn demo() -> ServeConfig {
        let account = |u: &str| Account { username: u.into(), password: u.into(), instruments: Vec::new() };
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 15_000)),
            accounts: vec![account("demo"), account("demo2")],
            instruments: vec!["AAPL".into(), "MSFT".into(), "SPY".into()],
            soup: SoupConfig::default(),
            session_name: "TICKFORGE1".into(),
        }
    }
}

/// Counters the server keeps.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ServeStats {
    /// Connections accepted.
    pub connections: u64,
    /// Logins accepted.
    pub logins: u64,
    /// Logins rejected.
    pub rejected_logins: u64,
    /// Sessions ended for breaking the protocol.
    pub protocol_errors: u64,
    /// Sessions ended by the silence timeout.
    pub timeouts: u64,
    /// OUCH messages that did not decode (the session is ended).
    pub bad_messages: u64,
    /// Commands ignored as OUCH says (duplicate or unknown tokens, unsupported types).
    pub ignored: u64,
    /// Commands applied by the engine.
    pub commands: u64,
}

struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    session: ServerSession,
    /// Account index once logged in, and the next sequence number this session gets.
    account: Option<(usize, u64)>,
    pending: Vec<u8>,
    ignored: u64,
}

const LISTENER: Token = Token(0);

/// A running venue.
pub struct Server {
    config: ServeConfig,
    poll: Poll,
    listener: TcpListener,
    conns: HashMap<Token, Conn>,
    next_token: usize,
    engine: Engine,
    translator: Translator,
    outputs: Vec<Record>,
    scratch: Vec<u8>,
    /// Per account: every sequenced message sent today.
    streams: Vec<MessageLog>,
    started: Instant,
    /// Counters.
    pub stats: ServeStats,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("listen", &self.config.listen).field("stats", &self.stats).finish()
    }
}

impl Server {
    /// Binds the listener and builds the engine.
    pub fn bind(config: ServeConfig) -> io::Result<Server> {
        let poll = Poll::new()?;
        let mut listener = TcpListener::bind(config.listen)?;
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        let mut engine = Engine::new(EngineConfig { book_changes: false, ..EngineConfig::default() });
        for i in 0..config.instruments.len() {
            engine.add_instrument(i as u16, InstrumentConfig::default());
        }
        let mut translator = Translator::new(&config.instruments);
        for (i, a) in config.accounts.iter().enumerate() {
            if !a.instruments.is_empty() {
                let allowed = a
                    .instruments
                    .iter()
                    .filter_map(|s| config.instruments.iter().position(|x| x == s).map(|p| p as u16))
                    .collect();
                translator.allow(i as u16 + 1, allowed);
            }
        }
        let streams = (0..config.accounts.len()).map(|_| MessageLog::default()).collect();
        Ok(Server {
            config,
            poll,
            listener,
            conns: HashMap::new(),
            next_token: 1,
            engine,
            translator,
            outputs: Vec::with_capacity(256),
            scratch: Vec::with_capacity(128),
            streams,
            started: Instant::now(),
            stats: ServeStats::default(),
        })
    }

    /// The address listened on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Nanoseconds since the server started (the sessions' clock).
    fn now(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    /// Runs until `stop` is set.
    pub fn run(&mut self, stop: &AtomicBool) -> io::Result<()> {
        let mut events = Events::with_capacity(256);
        let mut buf = vec![0u8; 64 * 1024];
        while !stop.load(Ordering::Relaxed) {
            self.poll.poll(&mut events, Some(Duration::from_millis(50)))?;
            for ev in &events {
                if ev.token() == LISTENER {
                    self.accept()?;
                    continue;
                }
                let token = ev.token();
                if ev.is_readable() {
                    self.read(token, &mut buf);
                }
                if ev.is_writable() {
                    self.flush(token);
                }
            }
            let now = self.now();
            for c in self.conns.values_mut() {
                c.session.tick(now);
            }
            let tokens: Vec<Token> = self.conns.keys().copied().collect();
            for t in tokens {
                self.flush(t);
            }
        }
        Ok(())
    }

    fn accept(&mut self) -> io::Result<()> {
        loop {
            match self.listener.accept() {
                Ok((mut stream, peer)) => {
                    let token = Token(self.next_token);
                    self.next_token += 1;
                    let _ = stream.set_nodelay(true);
                    self.poll.registry().register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)?;
                    let session = ServerSession::new(self.config.soup, self.now());
                    self.conns
                        .insert(token, Conn { stream, peer, session, account: None, pending: Vec::new(), ignored: 0 });
                    self.stats.connections += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    fn read(&mut self, token: Token, buf: &mut [u8]) {
        loop {
            let Some(conn) = self.conns.get_mut(&token) else { return };
            let n = match conn.stream.read(buf) {
                Ok(0) => {
                    self.close(token, "connection closed by the peer");
                    return;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.close(token, &format!("read error: {e}"));
                    return;
                }
            };
            self.on_bytes(token, &buf[..n]);
        }
    }

    /// Feeds bytes to a session and acts on each login and message as it is parsed (borrowed
    /// from the session's buffer: nothing is copied or allocated per message).
    fn on_bytes(&mut self, token: Token, bytes: &[u8]) {
        let now = self.now();
        let Some(mut conn) = self.conns.remove(&token) else { return };
        let (peer, account, ignored) = (conn.peer, &mut conn.account, &mut conn.ignored);
        conn.session.on_bytes(bytes, now, |session, ev| {
            let mut me = Current { session, account, peer, ignored: &mut *ignored };
            match ev {
                Inbound::Login { username, password, sequence, .. } => {
                    self.login(&mut me, username, password, sequence)
                }
                Inbound::Message { bytes, offset } => self.command(&mut me, bytes, offset),
            }
        });
        self.conns.insert(token, conn);
    }

    fn login(&mut self, me: &mut Current<'_>, username: &str, password: &str, sequence: u64) {
        let now = self.now();
        let found = self
            .config
            .accounts
            .iter()
            .position(|a| a.username.eq_ignore_ascii_case(username) && a.password.eq_ignore_ascii_case(password));
        let Some(account) = found else {
            self.stats.rejected_logins += 1;
            eprintln!("serve: {}: login as {username:?} rejected (not authorised)", me.peer);
            me.session.reject(b'A', now);
            return;
        };
        let stream = &self.streams[account];
        let next = if sequence == 0 { stream.len() + 1 } else { sequence.min(stream.len() + 1) };
        me.session.accept(&self.config.session_name, next, now);
        for seq in next..=stream.len() {
            me.session.send_sequenced(stream.get(seq).unwrap_or_default(), now);
        }
        *me.account = Some((account, stream.len() + 1));
        self.stats.logins += 1;
    }

    fn command(&mut self, me: &mut Current<'_>, bytes: &[u8], offset: u64) {
        let Some((account, _)) = *me.account else { return };
        let ts = self.now() % 86_400_000_000_000;
        match self.translator.inbound(account as u16 + 1, bytes, ts) {
            Ok(Command::Engine(r)) => {
                self.stats.commands += 1;
                self.outputs.clear();
                self.engine.apply(&r, &mut self.outputs);
                for i in 0..self.outputs.len() {
                    let o = self.outputs[i];
                    self.scratch.clear();
                    if let Some(acct) = self.translator.outbound(&o, &mut self.scratch) {
                        self.publish(usize::from(acct - 1), me);
                    }
                }
            }
            Ok(Command::Reply(msg)) => {
                self.scratch.clear();
                self.scratch.extend_from_slice(&msg);
                self.publish(account, me);
            }
            Ok(Command::Ignored(why)) => {
                self.stats.ignored += 1;
                *me.ignored += 1;
                // The first few per session, then a count when it ends: a log line is a syscall.
                if *me.ignored <= IGNORED_LOGGED {
                    let user = &self.config.accounts[account].username;
                    eprintln!("serve: {} ({user}): ignored at stream offset {offset}: {why}", me.peer);
                }
            }
            Err(e) => {
                self.stats.bad_messages += 1;
                let user = &self.config.accounts[account].username;
                eprintln!(
                    "serve: {} ({user}): bad message at stream offset {offset}: {e}; ending the session",
                    me.peer
                );
                me.session.end_of_session(self.now());
            }
        }
    }

    /// Appends the message in `scratch` to an account's stream (kept for the day: re-logins
    /// replay from it) and sends it to each of the account's sessions, `me` included (it is out
    /// of the map while its bytes are handled).
    fn publish(&mut self, account: usize, me: &mut Current<'_>) {
        let now = self.now();
        self.streams[account].push(&self.scratch);
        let msg = &self.scratch[..];
        let seq = self.streams[account].len();
        let deliver = |session: &mut ServerSession, acct: &mut Option<(usize, u64)>| {
            if let Some((a, next)) = acct {
                if *a == account && *next == seq {
                    session.send_sequenced(msg, now);
                    *next += 1;
                }
            }
        };
        for c in self.conns.values_mut() {
            deliver(&mut c.session, &mut c.account);
        }
        deliver(me.session, me.account);
    }

    fn flush(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else { return };
        if conn.session.has_output() {
            let out = conn.session.take_output();
            conn.pending.extend_from_slice(&out);
        }
        while !conn.pending.is_empty() {
            match conn.stream.write(&conn.pending) {
                Ok(0) => break,
                Ok(n) => {
                    conn.pending.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let why = format!("write error: {e}");
                    self.close(token, &why);
                    return;
                }
            }
        }
        let Some(conn) = self.conns.get(&token) else { return };
        if let Some(ended) = conn.session.ended() {
            if conn.pending.is_empty() {
                let why = match ended {
                    Ended::Logout => "logged out".to_string(),
                    Ended::Timeout => {
                        self.stats.timeouts += 1;
                        "silent past the timeout".to_string()
                    }
                    Ended::Rejected(r) => format!("login rejected ({})", *r as char),
                    Ended::Protocol { offset, what } => {
                        self.stats.protocol_errors += 1;
                        format!("protocol error at stream offset {offset}: {what}")
                    }
                };
                self.close(token, &why);
            }
        }
    }

    fn close(&mut self, token: Token, why: &str) {
        if let Some(mut c) = self.conns.remove(&token) {
            let _ = self.poll.registry().deregister(&mut c.stream);
            let who = c.account.map_or("not logged in".to_string(), |(a, _)| self.config.accounts[a].username.clone());
            let ignored = if c.ignored > IGNORED_LOGGED {
                format!(" ({} commands ignored in all)", c.ignored)
            } else {
                String::new()
            };
            eprintln!("serve: {} ({who}): session ended: {why}{ignored}", c.peer);
        }
    }

    /// The engine's state hash (for tests and restarts).
    pub fn state_hash(&self) -> u64 {
        self.engine.state_hash()
    }

    /// Orders resting.
    pub fn resting_orders(&self) -> usize {
        self.engine.order_count()
    }
}

/// The connection whose bytes are being handled (out of the map meanwhile).
struct Current<'a> {
    session: &'a mut ServerSession,
    account: &'a mut Option<(usize, u64)>,
    peer: SocketAddr,
    ignored: &'a mut u64,
}

/// Ignored commands logged one by one per session (then only counted).
const IGNORED_LOGGED: u64 = 10;
