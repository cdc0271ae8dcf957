//! A SoupBinTCP 3.0 server session (sans-I/O).
//!
//! The session takes whatever bytes its socket gave ([`ServerSession::on_bytes`]), parses whole
//! packets out of them, and hands the caller what they mean ([`Inbound`]): a login request to
//! decide on, an unsequenced message, a logout. What it must send (login accepted or rejected,
//! sequenced data, heartbeats, end of session) it appends to its output buffer, which the I/O
//! layer drains ([`ServerSession::move_output_into`]). Time is an argument.
//!
//! Rules (SoupBinTCP 3.0):
//! - the first packet must be a login request, within the timeout; anything else ends the
//!   session;
//! - a server heartbeat goes out after `heartbeat_ns` without sending; a peer silent for
//!   `timeout_ns` (no packet, not even a heartbeat) is disconnected;
//! - packets a server sends (`A`, `J`, `S`, `H`, `Z`), a second login, an oversized or
//!   zero-length packet, or an unknown type end the session with a reason naming the stream
//!   offset of the packet;
//! - a logout request ends it cleanly.

use tickforge_wire::soupbin::{self, Packet};

/// Settings shared by the sessions of a listener.
#[derive(Debug, Clone, Copy)]
pub struct SoupConfig {
    /// Send a heartbeat after this long without sending anything.
    pub heartbeat_ns: u64,
    /// Disconnect a peer silent for this long.
    pub timeout_ns: u64,
    /// Largest packet accepted (length field), bytes.
    pub max_packet: usize,
}

impl Default for SoupConfig {
    fn default() -> Self {
        SoupConfig { heartbeat_ns: 1_000_000_000, timeout_ns: 15_000_000_000, max_packet: 1_024 }
    }
}

/// What the peer asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inbound<'a> {
    /// A login: answer with [`ServerSession::accept`] or [`ServerSession::reject`].
    Login {
        /// Username, trimmed.
        username: &'a str,
        /// Password, trimmed.
        password: &'a str,
        /// Requested session, trimmed (empty: the current one).
        session: &'a str,
        /// Next sequence number wanted (0: the most recent).
        sequence: u64,
    },
    /// One unsequenced message (an OUCH command).
    Message {
        /// The message.
        bytes: &'a [u8],
        /// Its offset in the stream this session received.
        offset: u64,
    },
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The peer logged out.
    Logout,
    /// The peer was silent for the timeout.
    Timeout,
    /// The login was rejected.
    Rejected(u8),
    /// The peer broke the protocol: what, and where in its byte stream.
    Protocol {
        /// Stream offset of the offending packet.
        offset: u64,
        /// What was wrong.
        what: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitingLogin,
    Active,
    Closed,
}

/// One SoupBinTCP server session.
#[derive(Debug)]
pub struct ServerSession {
    config: SoupConfig,
    state: State,
    input: Vec<u8>,
    /// Stream offset of `input[0]`.
    input_offset: u64,
    output: Vec<u8>,
    last_rx: u64,
    last_tx: u64,
    ended: Option<Ended>,
}

fn text(field: &[u8]) -> &str {
    std::str::from_utf8(field).unwrap_or("").trim()
}

impl ServerSession {
    /// A session whose connection was accepted at `now`.
    pub fn new(config: SoupConfig, now: u64) -> ServerSession {
        ServerSession {
            config,
            state: State::AwaitingLogin,
            input: Vec::new(),
            input_offset: 0,
            output: Vec::new(),
            last_rx: now,
            last_tx: now,
            ended: None,
        }
    }

    /// Why the session ended, once it has (the I/O layer then flushes and closes).
    pub fn ended(&self) -> Option<&Ended> {
        self.ended.as_ref()
    }

    /// Whether a login was accepted and the session has not ended.
    pub fn is_active(&self) -> bool {
        self.state == State::Active
    }

    /// Bytes to send; the buffer is handed over and a new one started.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    /// Moves the bytes to send to the end of `dst`, keeping both buffers' capacity (the two
    /// are swapped when `dst` is empty), so a session that sends every turn does not allocate
    /// a new buffer each turn and grow it again.
    pub fn move_output_into(&mut self, dst: &mut Vec<u8>) {
        if dst.is_empty() {
            std::mem::swap(dst, &mut self.output);
        } else {
            dst.extend_from_slice(&self.output);
        }
        self.output.clear();
    }

    /// Whether there is anything to send.
    pub fn has_output(&self) -> bool {
        !self.output.is_empty()
    }

    fn end(&mut self, why: Ended) {
        if self.ended.is_none() {
            self.ended = Some(why);
        }
        self.state = State::Closed;
    }

    fn send(&mut self, packet_type: u8, payload: &[u8], now: u64) {
        // Payloads we send are short: the length always fits.
        let _ = soupbin::write(&mut self.output, packet_type, payload);
        self.last_tx = now;
    }

    /// Takes bytes from the socket; `on` sees each login and message in order (messages are
    /// borrowed from the session's input buffer: no copy, no allocation per message).
    pub fn on_bytes(&mut self, bytes: &[u8], now: u64, mut on: impl FnMut(&mut ServerSession, Inbound<'_>)) {
        if self.state == State::Closed {
            return;
        }
        self.last_rx = now;
        // The buffer is moved out while packets are handed to `on`, which may send.
        let mut input = std::mem::take(&mut self.input);
        input.extend_from_slice(bytes);
        let mut pos = 0;
        while self.state != State::Closed {
            let at = self.input_offset + pos as u64;
            let (packet, used) = match soupbin::parse(&input[pos..], self.config.max_packet) {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => {
                    self.end(Ended::Protocol { offset: at, what: e.to_string() });
                    break;
                }
            };
            pos += used;
            match (self.state, packet) {
                (_, Packet::Debug(_)) | (State::Active, Packet::ClientHeartbeat) => {}
                (_, p) if p.from_server() => {
                    let t = p.packet_type() as char;
                    self.end(Ended::Protocol { offset: at, what: format!("packet type {t:?} is sent by servers") });
                }
                (State::AwaitingLogin, Packet::LoginRequest(l)) => match l.sequence_number() {
                    Ok(sequence) => on(
                        self,
                        Inbound::Login {
                            username: text(&l.username),
                            password: text(&l.password),
                            session: text(&l.requested_session),
                            sequence,
                        },
                    ),
                    Err(e) => self.end(Ended::Protocol { offset: at, what: format!("login: {e}") }),
                },
                (State::AwaitingLogin, p) => {
                    let t = p.packet_type() as char;
                    self.end(Ended::Protocol { offset: at, what: format!("packet type {t:?} before login") });
                }
                (State::Active, Packet::LoginRequest(_)) => {
                    self.end(Ended::Protocol { offset: at, what: "a second login request".into() });
                }
                (State::Active, Packet::LogoutRequest) => self.end(Ended::Logout),
                (State::Active, Packet::UnsequencedData(m)) => on(self, Inbound::Message { bytes: m, offset: at + 3 }),
                (State::Active, _) | (State::Closed, _) => {}
            }
        }
        input.drain(..pos);
        self.input_offset += pos as u64;
        if self.state != State::Closed {
            self.input = input;
        }
    }

    /// Accepts the pending login into `session`, the next sequenced message being `next_seq`.
    pub fn accept(&mut self, session: &str, next_seq: u64, now: u64) {
        if self.state != State::AwaitingLogin {
            return;
        }
        let mut payload = [0u8; 30];
        payload[..10].copy_from_slice(&tickforge_wire::Alpha::pad::<10>(session));
        payload[10..].copy_from_slice(&soupbin::numeric::<20>(next_seq));
        self.send(b'A', &payload, now);
        self.state = State::Active;
    }

    /// Rejects the pending login: `A` not authorised, `S` session unavailable.
    pub fn reject(&mut self, reason: u8, now: u64) {
        if self.state != State::AwaitingLogin {
            return;
        }
        self.send(b'J', &[reason], now);
        self.end(Ended::Rejected(reason));
    }

    /// Sends one sequenced message.
    pub fn send_sequenced(&mut self, message: &[u8], now: u64) {
        if self.state == State::Active {
            self.send(b'S', message, now);
        }
    }

    /// Sends end of session and ends it.
    pub fn end_of_session(&mut self, now: u64) {
        if self.state == State::Active {
            self.send(b'Z', &[], now);
        }
        self.end(Ended::Logout);
    }

    /// Restarts the silence timer without input: for a session whose socket the I/O layer has
    /// chosen not to read (a throttled session with a long queue), where whatever the peer
    /// sent, heartbeats included, waits unread. Silence is the peer's, never the server's.
    pub fn not_silent(&mut self, now: u64) {
        self.last_rx = self.last_rx.max(now);
    }

    /// Heartbeats and timeouts at `now`.
    pub fn tick(&mut self, now: u64) {
        if self.state == State::Closed {
            return;
        }
        if now.saturating_sub(self.last_rx) >= self.config.timeout_ns {
            self.end(Ended::Timeout);
            return;
        }
        if self.state == State::Active && now.saturating_sub(self.last_tx) >= self.config.heartbeat_ns {
            self.send(b'H', &[], now);
        }
    }
}
