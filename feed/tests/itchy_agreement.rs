//! Agreement with an ITCH 5.0 decoder we did not write: the `itchy` crate decodes the shared
//! captures and every message must agree with ours, header and body, field by field.

use std::path::Path;
use tickforge_feed::shared;
use tickforge_wire::itch::{self, Message as M};
use tickforge_wire::{binaryfile, Alpha};

fn stock(ours: &[u8; 8], theirs: &itchy::ArrayString8) {
    assert_eq!(theirs.as_str().as_bytes(), ours, "stock");
}

fn side(ours: u8, theirs: itchy::Side) {
    let t = match theirs {
        itchy::Side::Buy => b'B',
        itchy::Side::Sell => b'S',
    };
    assert_eq!(ours, t, "side");
}

fn compare(ours: M<'_>, theirs: &itchy::Message) {
    use itchy::Body as B;
    assert_eq!(ours.message_type(), theirs.tag, "type");
    assert_eq!(ours.stock_locate(), theirs.stock_locate, "stock_locate");
    assert_eq!(ours.header().tracking_number.get(), theirs.tracking_number, "tracking_number");
    assert_eq!(ours.timestamp(), theirs.timestamp, "timestamp");
    match (ours, &theirs.body) {
        (M::AddOrder(o), B::AddOrder(t)) => {
            assert_eq!(o.order_reference_number.get(), t.reference);
            side(o.buy_sell_indicator, t.side);
            assert_eq!(o.shares.get(), t.shares);
            stock(&o.stock, &t.stock);
            assert_eq!(o.price.get(), t.price.raw());
            assert_eq!(t.mpid, None);
        }
        (M::AddOrderMpid(o), B::AddOrder(t)) => {
            assert_eq!(o.order_reference_number.get(), t.reference);
            side(o.buy_sell_indicator, t.side);
            assert_eq!(o.shares.get(), t.shares);
            stock(&o.stock, &t.stock);
            assert_eq!(o.price.get(), t.price.raw());
            assert_eq!(t.mpid.as_ref().map(|m| m.as_str().as_bytes().to_vec()), Some(o.attribution.to_vec()));
        }
        (M::OrderExecuted(o), B::OrderExecuted { reference, executed, match_number }) => {
            assert_eq!(
                (o.order_reference_number.get(), o.executed_shares.get(), o.match_number.get()),
                (*reference, *executed, *match_number)
            );
        }
        (
            M::OrderExecutedWithPrice(o),
            B::OrderExecutedWithPrice { reference, executed, match_number, printable, price },
        ) => {
            assert_eq!(
                (o.order_reference_number.get(), o.executed_shares.get(), o.match_number.get()),
                (*reference, *executed, *match_number)
            );
            assert_eq!(o.printable == b'Y', *printable);
            assert_eq!(o.execution_price.get(), price.raw());
        }
        (M::OrderCancel(o), B::OrderCancelled { reference, cancelled }) => {
            assert_eq!((o.order_reference_number.get(), o.canceled_shares.get()), (*reference, *cancelled));
        }
        (M::OrderDelete(o), B::DeleteOrder { reference }) => assert_eq!(o.order_reference_number.get(), *reference),
        (M::OrderReplace(o), B::ReplaceOrder(t)) => {
            assert_eq!(o.original_order_reference_number.get(), t.old_reference);
            assert_eq!(o.new_order_reference_number.get(), t.new_reference);
            assert_eq!((o.shares.get(), o.price.get()), (t.shares, t.price.raw()));
        }
        (M::NonCrossTrade(o), B::NonCrossTrade(t)) => {
            assert_eq!(o.order_reference_number.get(), t.reference);
            side(o.buy_sell_indicator, t.side);
            assert_eq!(
                (o.shares.get(), o.price.get(), o.match_number.get()),
                (t.shares, t.price.raw(), t.match_number)
            );
            stock(&o.stock, &t.stock);
        }
        (M::CrossTrade(o), B::CrossTrade(t)) => {
            assert_eq!(
                (o.cross_shares.get(), o.cross_price.get(), o.match_number.get()),
                (t.shares, t.cross_price.raw(), t.match_number)
            );
            stock(&o.stock, &t.stock);
        }
        (M::BrokenTrade(o), B::BrokenTrade { match_number }) => assert_eq!(o.match_number.get(), *match_number),
        (M::SystemEvent(o), B::SystemEvent { event }) => {
            use itchy::EventCode::*;
            let code = match event {
                StartOfMessages => b'O',
                StartOfSystemHours => b'S',
                StartOfMarketHours => b'Q',
                EndOfMarketHours => b'M',
                EndOfSystemHours => b'E',
                EndOfMessages => b'C',
            };
            assert_eq!(o.event_code, code);
        }
        (M::StockDirectory(o), B::StockDirectory(t)) => {
            stock(&o.stock, &t.stock);
            assert_eq!(o.round_lot_size.get(), t.round_lot_size);
            assert_eq!(o.round_lots_only == b'Y', t.round_lots_only);
            assert_eq!(o.etp_leverage_factor.get(), t.etp_leverage_factor);
            assert_eq!(o.inverse_indicator == b'Y', t.inverse_indicator);
            assert_eq!(o.authenticity == b'P', t.authenticity);
        }
        (M::StockTradingAction(o), B::TradingAction { stock: s, trading_state, reason }) => {
            stock(&o.stock, s);
            use itchy::TradingState::*;
            let st = match trading_state {
                Halted => b'H',
                Paused => b'P',
                QuotationOnly => b'Q',
                Trading => b'T',
            };
            assert_eq!(o.trading_state, st);
            assert_eq!(Alpha::trim(&o.reason_code), reason.as_str().trim_end());
        }
        (M::RegShoRestriction(o), B::RegShoRestriction { stock: s, .. }) => stock(&o.stock, s),
        (M::MarketParticipantPosition(o), B::ParticipantPosition(t)) => {
            stock(&o.stock, &t.stock);
            assert_eq!(t.mpid.as_str().as_bytes(), &o.mpid);
            assert_eq!(o.primary_market_maker == b'Y', t.primary_market_maker);
        }
        (
            M::LuldAuctionCollar(o),
            B::LULDAuctionCollar { stock: s, ref_price, upper_price, lower_price, extension },
        ) => {
            stock(&o.stock, s);
            assert_eq!(o.auction_collar_reference_price.get(), ref_price.raw());
            assert_eq!(o.upper_auction_collar_price.get(), upper_price.raw());
            assert_eq!(o.lower_auction_collar_price.get(), lower_price.raw());
            assert_eq!(o.auction_collar_extension.get(), *extension);
        }
        (M::Noii(o), B::Imbalance(t)) => {
            stock(&o.stock, &t.stock);
            assert_eq!((o.paired_shares.get(), o.imbalance_shares.get()), (t.paired_shares, t.imbalance_shares));
            assert_eq!(
                (o.far_price.get(), o.near_price.get(), o.current_reference_price.get()),
                (t.far_price.raw(), t.near_price.raw(), t.current_ref_price.raw())
            );
            assert_eq!(char::from(o.price_variation_indicator), t.price_variation_indicator);
        }
        (ours, theirs) => panic!("type mismatch: ours {ours:?}, itchy {theirs:?}"),
    }
}

fn agree_on_binaryfile(path: &Path) -> usize {
    let bytes = std::fs::read(path).unwrap();
    let theirs: Vec<itchy::Message> = itchy::MessageStream::from_file(path).unwrap().map(|m| m.unwrap()).collect();
    let ours: Vec<_> = binaryfile::Reader::new(&bytes).map(|f| itch::decode(f.unwrap().bytes).unwrap()).collect();
    assert_eq!(ours.len(), theirs.len(), "{}", path.display());
    for (i, (o, t)) in ours.into_iter().zip(&theirs).enumerate() {
        let r = std::panic::catch_unwind(|| compare(o, t));
        assert!(r.is_ok(), "{} message {i}: ours {o:?} itchy {t:?}", path.display());
    }
    theirs.len()
}

#[test]
fn itchy_agrees_on_the_ritch_test_file() {
    let Some(p) = shared::require("captures/itch/ex20101224.TEST_ITCH_50", "itchy agreement") else { return };
    assert_eq!(agree_on_binaryfile(&p), 12_012);
}

#[test]
fn itchy_agrees_on_the_real_nasdaq_messages() {
    // The MoldUDP64 payloads of the shared pcaps, re-framed as BinaryFILE.
    let Some(p) = shared::require("captures/itch/omi_nasdaq_totalview_itch50_messages.binaryfile", "itchy agreement")
    else {
        return;
    };
    assert_eq!(agree_on_binaryfile(&p), 117);
}

#[test]
fn itchy_decodes_our_generated_capture_without_errors() {
    use tickforge_feed::generate::{generate, GenerateConfig};
    let bytes = generate(&GenerateConfig { messages: 50_000, symbols: 6, seed: 42 });
    let theirs: Vec<itchy::Message> =
        itchy::MessageStream::from_reader(&bytes[..]).map(|m| m.expect("itchy decodes every message")).collect();
    let ours: Vec<_> = binaryfile::Reader::new(&bytes).map(|f| itch::decode(f.unwrap().bytes).unwrap()).collect();
    assert_eq!(ours.len(), theirs.len());
    for (o, t) in ours.into_iter().zip(&theirs) {
        compare(o, t);
    }
}
