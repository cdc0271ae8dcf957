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
//! when the socket is writable again. Reads are fair: each turn of the loop reads a socket at
//! most `READ_BUDGET` (64 KiB) and comes back to it in the next, so one session sending as fast
//! as it can never starves the others (whose silence timers only count what the venue could
//! have read). A read shorter than the buffer ends a socket's turn without a further read
//! that would only say `WouldBlock` (one system call fewer per turn), except once the peer
//! has shut down, when the socket is read to its end of stream.
//!
//! With a journal ([`super::venue_journal`]) every inbound message that changes anything is
//! journaled before its effects are sent, and a restart from the same journal rebuilds the
//! books, the tokens and every account's stream, so sessions resume their sequence numbers.
//! Each account's stream starts with the OUCH start-of-day system event. Accounts may be
//! throttled ([`super::throttle`]): excess messages queue, they are never dropped.
//!
//! The engine runs on the event-loop thread, or, when the config asks (the default on 3 or
//! more cores), on a matching stage of its own ([`super::matching`]) that each command calls
//! through a pair of rings.

mod day;
mod market;
mod settings;

use super::matching::{leaves_after, MatchingStage};
use super::ouch::{Command, Translator};
use super::soup::{Ended, Inbound, ServerSession};
use super::throttle::{Throttle, PAUSE_READING_AT};
use crate::{Engine, EngineConfig};
use market::{send_md, MarketDataOut};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
pub use settings::{Account, ServeConfig, DEFAULT_ORDERS_PER_DAY};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tickforge_feed::msglog::MessageLog;
use tickforge_replay::journal::Journal;
use tickforge_wire::Record;

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
    /// Inbound messages that waited in a throttle queue.
    pub throttled: u64,
    /// Inbound messages re-applied from the journal at start.
    pub restored: u64,
}

/// Nanoseconds since midnight UTC (the OUCH timestamps' clock).
pub fn time_of_day() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (now.as_nanos() % 86_400_000_000_000) as u64
}

/// Why the venue could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Binding the listener.
    #[error("listening on {0}: {1}")]
    Listen(SocketAddr, #[source] io::Error),
    /// The journal could not be opened, read or continued.
    #[error("journal {0}: {1}")]
    Journal(PathBuf, String),
}

struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    session: ServerSession,
    /// Account index once logged in, and the next sequence number this session gets.
    account: Option<(usize, u64)>,
    pending: Vec<u8>,
    ignored: u64,
    throttle: Option<Throttle>,
    /// Not reading the socket while the throttle queue is long.
    paused: bool,
    /// The peer has shut down its side, or the socket has an error (seen in a readiness
    /// event): read until end of stream or `WouldBlock`, not only until a short read.
    read_closed: bool,
}

const LISTENER: Token = Token(0);

/// The most a session's socket is read in one turn of the event loop. Without a bound, one
/// client sending as fast as it can kept the loop reading its socket until it stopped, and the
/// sessions behind it went unread for longer than the timeout (32 sessions of 100,000 orders:
/// sessions ended "silent" while their heartbeats sat in the socket); with it, every session
/// is read every turn, and a socket with more waiting is read again in the next.
const READ_BUDGET: usize = 64 * 1024;

/// A running venue.
pub struct Server {
    config: ServeConfig,
    poll: Poll,
    listener: TcpListener,
    conns: HashMap<Token, Conn>,
    /// Sessions whose last read stopped at [`READ_BUDGET`] with more possibly waiting (the
    /// readiness events are edge-triggered: no new event comes for bytes already there).
    more_to_read: Vec<Token>,
    /// Last turn's `more_to_read`, being read this turn (the two swap each turn, so neither
    /// allocates once grown).
    reading_on: Vec<Token>,
    /// The connections' tokens, gathered each turn to drain and flush them (kept between
    /// turns so a turn does not allocate).
    turn_tokens: Vec<Token>,
    next_token: usize,
    engine: Engine,
    translator: Translator,
    outputs: Vec<Record>,
    scratch: Vec<u8>,
    /// Per account: every sequenced message sent today.
    streams: Vec<MessageLog>,
    journal: Option<Journal>,
    /// The day has ended.
    closed: bool,
    market_data: Option<MarketDataOut>,
    /// The engine's own thread while `run` runs, if the config asks for one.
    matching: Option<MatchingStage>,
    /// Rebuilding from the journal: market data is numbered and kept, not sent.
    restoring: bool,
    /// A journal write failed: no more commands are taken.
    journal_failed: bool,
    entry: Vec<u8>,
    started: Instant,
    /// The clocks as last read (see [`Clock`]).
    clock: Clock,
    /// Counters.
    pub stats: ServeStats,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("listen", &self.config.listen).field("stats", &self.stats).finish()
    }
}

impl Server {
    /// Binds the listener, builds the engine and opens the day: from the journal if it has one
    /// (a restart), else fresh (and journaled, if a journal is configured).
    pub fn bind(config: ServeConfig) -> Result<Server, StartError> {
        let listen_err = |e| StartError::Listen(config.listen, e);
        let poll = Poll::new().map_err(listen_err)?;
        let mut listener = TcpListener::bind(config.listen).map_err(listen_err)?;
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE).map_err(listen_err)?;
        // Sized for the day: the translator numbers the day's orders 1, 2, 3, ..., so ids up to
        // `orders_per_day` fit the index's direct array (past it, the hash map takes them).
        // Pre-faulted, so no order of the day waits for the kernel to back a page of the pools
        // or the index (`book/paging.rs`).
        let engine = Engine::new(EngineConfig {
            book_changes: false,
            max_orders: config.orders_per_day,
            dense_ids: config.orders_per_day.saturating_add(1),
            prefault: true,
            ..EngineConfig::default()
        });
        let mut translator = Translator::with_capacity(&config.symbols(), config.orders_per_day);
        for (i, a) in config.accounts.iter().enumerate() {
            if !a.instruments.is_empty() {
                let allowed = a
                    .instruments
                    .iter()
                    .filter_map(|s| config.instruments.iter().position(|(x, _)| x == s).map(|p| p as u16))
                    .collect();
                translator.allow(i as u16 + 1, allowed);
            }
        }
        let streams = (0..config.accounts.len()).map(|_| MessageLog::default()).collect();
        let mut server = Server {
            config,
            poll,
            listener,
            conns: HashMap::new(),
            more_to_read: Vec::new(),
            reading_on: Vec::new(),
            turn_tokens: Vec::new(),
            next_token: 1,
            engine,
            translator,
            outputs: Vec::with_capacity(256),
            scratch: Vec::with_capacity(128),
            streams,
            journal: None,
            closed: false,
            market_data: None,
            matching: None,
            restoring: false,
            journal_failed: false,
            entry: Vec::with_capacity(128),
            started: Instant::now(),
            clock: Clock { session_ns: 0, time_of_day: time_of_day() },
            stats: ServeStats::default(),
        };
        if let Some(dest) = server.config.market_data {
            server.market_data =
                Some(MarketDataOut::bind(dest, &server.config).map_err(|e| StartError::Listen(dest, e))?);
        }
        match server.config.journal.clone() {
            None => server.fresh_day(time_of_day()).expect("without a journal, nothing can fail"),
            Some(dir) => server.open_journal(&dir).map_err(|e| StartError::Journal(dir, e))?,
        }
        Ok(server)
    }

    /// Applies one engine command, publishes its market data and sends each output to its
    /// account.
    fn apply(&mut self, r: Record, mut me: Option<&mut Current<'_>>) {
        self.outputs.clear();
        let leaves = match self.matching.as_mut() {
            Some(stage) => stage.call(&r, &mut self.outputs),
            None => {
                self.engine.apply(&r, &mut self.outputs);
                leaves_after(&self.engine, &r)
            }
        };
        if let Some(md) = self.market_data.as_mut() {
            let (conv, encoder, publisher, restoring) = (&mut md.conv, &md.encoder, &mut md.publisher, self.restoring);
            conv.on_outputs(&self.outputs, |m| {
                if let Err(e) = encoder.encode(m, |b| send_md(publisher, restoring, b)) {
                    eprintln!("serve: market data: {e}");
                }
            });
        }
        for i in 0..self.outputs.len() {
            let o = self.outputs[i];
            self.scratch.clear();
            if let Some(acct) = self.translator.outbound(&o, &mut self.scratch) {
                self.publish(usize::from(acct - 1), me.as_deref_mut());
            }
        }
        self.scratch.clear();
        if let Some(acct) = self.translator.finish_command(|_| Some(leaves), &mut self.scratch) {
            self.publish(usize::from(acct - 1), me);
        }
    }

    /// Where the retransmission server for market data listens, if market data is published.
    pub fn market_data_rerequest_addr(&self) -> Option<SocketAddr> {
        self.market_data.as_ref().and_then(|m| m.publisher.rerequest_addr().ok())
    }

    /// The address listened on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Reads both clocks: once per turn of the event loop and once per read from a socket.
    fn read_clock(&mut self) -> Clock {
        self.clock = Clock { session_ns: self.started.elapsed().as_nanos() as u64, time_of_day: time_of_day() };
        self.clock
    }

    /// Runs until `stop` is set.
    pub fn run(&mut self, stop: &AtomicBool) -> io::Result<()> {
        if let (Some(placement), None) = (self.config.matching, self.matching.as_ref()) {
            let engine = std::mem::replace(
                &mut self.engine,
                Engine::new(EngineConfig { max_orders: 0, max_levels: 0, dense_ids: 0, ..EngineConfig::default() }),
            );
            self.matching = Some(MatchingStage::start(engine, placement)?);
        }
        let result = self.event_loop(stop);
        if let Some(stage) = self.matching.take() {
            self.engine = stage.stop();
        }
        result
    }

    fn event_loop(&mut self, stop: &AtomicBool) -> io::Result<()> {
        let mut events = Events::with_capacity(256);
        let mut buf = vec![0u8; 64 * 1024];
        while !stop.load(Ordering::Relaxed) {
            let queued = self.conns.values().any(|c| c.throttle.as_ref().is_some_and(|t| t.queued() > 0));
            let timeout = if !self.more_to_read.is_empty() {
                Duration::ZERO // bytes are waiting: look for new events, but do not wait
            } else {
                Duration::from_millis(if queued { 1 } else { 50 })
            };
            match self.poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                // A signal (Ctrl-C sets `stop` from its handler): look at `stop` again.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            self.read_clock();
            // Sessions left with bytes to read last turn go first, then this turn's events.
            std::mem::swap(&mut self.more_to_read, &mut self.reading_on);
            for i in 0..self.reading_on.len() {
                let token = self.reading_on[i];
                self.read(token, &mut buf);
            }
            self.reading_on.clear();
            for ev in &events {
                if ev.token() == LISTENER {
                    self.accept()?;
                    continue;
                }
                let token = ev.token();
                if ev.is_read_closed() || ev.is_error() {
                    if let Some(conn) = self.conns.get_mut(&token) {
                        conn.read_closed = true;
                    }
                }
                if ev.is_readable() {
                    self.read(token, &mut buf);
                }
                if ev.is_writable() {
                    self.flush(token);
                }
            }
            if !self.closed && self.config.end_of_day.is_some_and(|t| self.clock.time_of_day >= t) {
                self.end_of_day();
            }
            let now = self.clock.session_ns;
            for c in self.conns.values_mut() {
                if c.paused {
                    c.session.not_silent(now); // the venue is not reading it (see `read`)
                }
                c.session.tick(now);
            }
            let mut tokens = std::mem::take(&mut self.turn_tokens);
            tokens.clear();
            tokens.extend(self.conns.keys().copied());
            for &t in &tokens {
                self.drain(t, &mut buf);
            }
            for &t in &tokens {
                self.flush(t);
            }
            self.turn_tokens = tokens;
            if let Some(md) = self.market_data.as_mut() {
                md.publisher.tick(); // what this round published, heartbeats, re-requests
            }
        }
        self.shutdown();
        Ok(())
    }

    /// What `run` does when it stops: sends what market data is buffered, and MoldUDP64's end
    /// of session if the day has ended (not otherwise: a restart continues the session).
    pub fn shutdown(&mut self) {
        if let Some(md) = self.market_data.as_mut() {
            if self.closed {
                md.publisher.end_session();
            } else {
                md.publisher.tick();
            }
        }
    }

    /// The sequence number the next market-data message will have (1 if none is published).
    pub fn market_data_next_seq(&self) -> u64 {
        self.market_data.as_ref().map_or(1, |m| m.publisher.publisher().next_seq())
    }

    /// The venue's book: the top `n` levels of one side of an instrument.
    pub fn depth(&self, instrument: u16, side: tickforge_wire::Side, n: usize) -> Vec<crate::book::LevelView> {
        self.engine.depth(instrument, side, n)
    }

    fn accept(&mut self) -> io::Result<()> {
        loop {
            match self.listener.accept() {
                Ok((mut stream, peer)) => {
                    let token = Token(self.next_token);
                    self.next_token += 1;
                    let _ = stream.set_nodelay(true);
                    self.poll.registry().register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)?;
                    let session = ServerSession::new(self.config.soup, self.clock.session_ns);
                    self.conns.insert(
                        token,
                        Conn {
                            stream,
                            peer,
                            session,
                            account: None,
                            pending: Vec::new(),
                            ignored: 0,
                            throttle: None,
                            paused: false,
                            read_closed: false,
                        },
                    );
                    self.stats.connections += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    fn read(&mut self, token: Token, buf: &mut [u8]) {
        let mut read = 0;
        loop {
            if read >= READ_BUDGET {
                if !self.more_to_read.contains(&token) {
                    self.more_to_read.push(token);
                }
                return;
            }
            let Some(conn) = self.conns.get_mut(&token) else { return };
            if conn.throttle.as_ref().is_some_and(|t| t.queued_bytes() > PAUSE_READING_AT) {
                conn.paused = true; // read again once the queue drains (see `drain`)
                return;
            }
            let drained_by_short_read = !conn.read_closed;
            let n = match conn.stream.read(buf) {
                Ok(0) => {
                    self.close(token, "connection closed by the peer");
                    return;
                }
                Ok(n) => {
                    read += n;
                    n
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.close(token, &format!("read error: {e}"));
                    return;
                }
            };
            self.on_bytes(token, &buf[..n]);
            // A read shorter than the buffer emptied the socket's receive queue (epoll(7):
            // for stream sockets a short read means the readable data is exhausted), and any
            // bytes arriving later raise a new readiness event; so stop here instead of paying
            // one more system call for the `WouldBlock`. An end of stream that was already
            // queued raises no new event, which is why a socket whose event said the peer shut
            // down (`read_closed`) is read on until `read` returns 0 or would block.
            if n < buf.len() && drained_by_short_read {
                return;
            }
        }
    }

    /// Feeds bytes to a session and acts on each login and message as it is parsed (borrowed
    /// from the session's buffer: nothing is copied or allocated per message, unless the
    /// session's throttle queues it).
    fn on_bytes(&mut self, token: Token, bytes: &[u8]) {
        let now = self.read_clock().session_ns;
        let Some(mut conn) = self.conns.remove(&token) else { return };
        let (peer, account, ignored, throttle) = (conn.peer, &mut conn.account, &mut conn.ignored, &mut conn.throttle);
        conn.session.on_bytes(bytes, now, |session, ev| {
            let mut me = Current { session, account, peer, ignored: &mut *ignored };
            match ev {
                Inbound::Login { username, password, sequence, .. } => {
                    self.login(&mut me, username, password, sequence);
                    if let Some((a, _)) = *me.account {
                        *throttle = self.config.accounts[a].max_messages_per_second.map(|r| Throttle::new(r, now));
                    }
                }
                Inbound::Message { bytes, offset } => {
                    let admitted = throttle.as_mut().is_none_or(|t| t.admit(now));
                    match throttle {
                        Some(t) if !admitted => {
                            self.stats.throttled += 1;
                            t.queue(offset, bytes);
                        }
                        _ => self.command(&mut me, bytes, offset),
                    }
                }
            }
        });
        self.conns.insert(token, conn);
    }

    /// Applies what a session's throttle releases now; resumes reading a paused socket once its
    /// queue is short again.
    fn drain(&mut self, token: Token, buf: &mut [u8]) {
        let now = self.clock.session_ns;
        let Some(mut conn) = self.conns.remove(&token) else { return };
        let resume = match conn.throttle.as_mut() {
            Some(t) if t.queued() > 0 => {
                let mut me = Current {
                    session: &mut conn.session,
                    account: &mut conn.account,
                    peer: conn.peer,
                    ignored: &mut conn.ignored,
                };
                while let Some((offset, msg)) = t.release(now) {
                    self.command(&mut me, &msg, offset);
                }
                conn.paused && t.queued_bytes() <= PAUSE_READING_AT / 2
            }
            _ => false,
        };
        if resume {
            conn.paused = false;
        }
        self.conns.insert(token, conn);
        if resume {
            self.read(token, buf);
        }
    }

    fn login(&mut self, me: &mut Current<'_>, username: &str, password: &str, sequence: u64) {
        let now = self.clock.session_ns;
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
        if self.journal_failed {
            me.session.end_of_session(self.clock.session_ns);
            return;
        }
        let ts = self.clock.time_of_day;
        match self.translator.inbound(account as u16 + 1, bytes, ts) {
            Ok(Command::Engine(r)) => {
                if !self.journaled(me, account, ts, bytes, Some(&r)) {
                    return;
                }
                self.stats.commands += 1;
                self.apply(r, Some(me));
            }
            Ok(Command::Reply(msg)) => {
                if !self.journaled(me, account, ts, bytes, None) {
                    return;
                }
                self.scratch.clear();
                self.scratch.extend_from_slice(&msg);
                self.publish(account, Some(me));
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
                me.session.end_of_session(self.clock.session_ns);
            }
        }
    }

    /// Journals a message; if the journal fails, nothing more is accepted (what cannot be
    /// journaled is never acknowledged) and the session is ended.
    fn journaled(&mut self, me: &mut Current<'_>, account: usize, ts: u64, bytes: &[u8], r: Option<&Record>) -> bool {
        match self.journal_inbound(account, ts, bytes, r) {
            Ok(()) => true,
            Err(e) => {
                self.journal_failed = true;
                eprintln!("serve: journal write failed ({e}); taking no more commands");
                me.session.end_of_session(self.clock.session_ns);
                false
            }
        }
    }

    /// Appends the message in `scratch` to an account's stream (kept for the day: re-logins
    /// replay from it) and sends it to each of the account's sessions, `me` included when given
    /// (it is out of the map while its bytes are handled).
    fn publish(&mut self, account: usize, me: Option<&mut Current<'_>>) {
        let now = self.clock.session_ns;
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
        if let Some(me) = me {
            deliver(me.session, me.account);
        }
    }

    fn flush(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else { return };
        if conn.session.has_output() {
            conn.session.move_output_into(&mut conn.pending);
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
            let mut ignored = if c.ignored > IGNORED_LOGGED {
                format!(" ({} commands ignored in all)", c.ignored)
            } else {
                String::new()
            };
            if let Some(n) = c.throttle.as_ref().map(Throttle::queued).filter(|&n| n > 0) {
                ignored.push_str(&format!("; {n} throttled messages were still queued, never applied"));
            }
            eprintln!("serve: {} ({who}): session ended: {why}{ignored}", c.peer);
            if let Some((a, _)) = c.account {
                self.cancel_on_disconnect(a);
            }
        }
    }

    /// The engine's state hash (for tests and restarts; while `run` is running with a matching
    /// stage, the engine is on that thread and this is not its hash).
    pub fn state_hash(&self) -> u64 {
        self.engine.state_hash()
    }

    /// Orders resting.
    pub fn resting_orders(&self) -> usize {
        self.engine.order_count()
    }

    /// Every message of an account's stream so far, in sequence (for tests and tools).
    pub fn stream(&self, account: usize) -> Vec<Vec<u8>> {
        let Some(log) = self.streams.get(account) else { return Vec::new() };
        (1..=log.len()).filter_map(|seq| log.get(seq).map(<[u8]>::to_vec)).collect()
    }

    /// Messages in an account's stream so far.
    pub fn stream_len(&self, account: usize) -> u64 {
        self.streams.get(account).map_or(0, MessageLog::len)
    }

    /// Flushes the journal (a clean shutdown; appends are already in the page cache).
    pub fn flush_journal(&mut self) -> Result<(), String> {
        self.journal.as_mut().map_or(Ok(()), |j| j.flush().map_err(|e| e.to_string()))
    }
}

/// The connection whose bytes are being handled (out of the map meanwhile).
struct Current<'a> {
    session: &'a mut ServerSession,
    account: &'a mut Option<(usize, u64)>,
    peer: SocketAddr,
    ignored: &'a mut u64,
}

/// The venue's two clocks as last read, once per turn of the event loop and once per read
/// from a socket: the messages of one read share a time, and no message pays for a clock
/// read of its own (before, every order read the clocks two to four times: `perf` put 5 % of
/// the event-loop thread's time in `clock_gettime`; BENCHMARKS.md, issue 7).
#[derive(Debug, Clone, Copy)]
struct Clock {
    /// Nanoseconds since the server started: the sessions' heartbeats and timeouts, throttles.
    session_ns: u64,
    /// Nanoseconds since midnight (UTC): the time of the messages handled (OUCH's timestamps,
    /// the engine's `ts_event`, the journal).
    time_of_day: u64,
}

/// Ignored commands logged one by one per session (then only counted).
const IGNORED_LOGGED: u64 = 10;
