//! Market data out of the venue: the conversion of engine outputs, ITCH encoding, and the
//! MoldUDP64 publisher with its retransmission server.

use super::ServeConfig;
use crate::gateway::market_data::MarketData;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tickforge_feed::itch_out::Encoder;
use tickforge_feed::mold::udp::UdpPublisher;

/// Market data out: conversion, ITCH encoding, MoldUDP64 publishing.
pub(super) struct MarketDataOut {
    pub(super) conv: MarketData,
    pub(super) encoder: Encoder,
    pub(super) publisher: UdpPublisher,
}

impl MarketDataOut {
    pub(super) fn bind(dest: SocketAddr, config: &ServeConfig) -> io::Result<MarketDataOut> {
        let ip = if dest.ip().is_loopback() { dest.ip() } else { std::net::Ipv4Addr::UNSPECIFIED.into() };
        let rerequest = config.market_data_rerequest.unwrap_or(SocketAddr::new(ip, dest.port().wrapping_add(1)));
        let session = tickforge_feed::mold::session(&config.session_name);
        Ok(MarketDataOut {
            conv: MarketData::default(),
            encoder: Encoder::new(&config.symbols()),
            publisher: UdpPublisher::bind(dest, rerequest, session, 1400, Duration::from_secs(1))?,
        })
    }
}

pub(super) fn send_md(publisher: &mut UdpPublisher, restoring: bool, msg: &[u8]) {
    if restoring {
        publisher.publish_unsent(msg);
    } else {
        publisher.publish(msg);
    }
}
