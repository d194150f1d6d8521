//! Price server scenarios. PublishPrice is decoded field by field from the se10.md §3.4 table.

use super::*;
use zse::cluster::price::{
    ClientCommand, CommandOptions, GetCurrentPrice, GetScheduledPrices, ServerCommand,
};

pub fn price(id: u32, start: u32, minutes: u16, price: u32) -> PriceCommand<'static> {
    PriceCommand {
        provider_id: 0x0000_1234,
        rate_label: "Peak",
        issuer_event_id: id,
        unit_of_measure: 0x00,
        currency: 840,
        price_trailing_digit: 2,
        price_tier: 1,
        number_of_price_tiers: 3,
        register_tier: 1,
        start_time: UtcTime(start),
        duration_in_minutes: minutes,
        price,
        price_ratio: 0xFF,
        generation_price: 0xFFFF_FFFF,
        generation_price_ratio: 0xFF,
    }
}

/// (tsn, issuer event id, current time, start, duration, price) of a PublishPrice frame.
fn publish_price(f: &ApsFrame) -> (u8, u32, u32, u32, u16, u32) {
    assert_eq!(f.cluster, ClusterId::PRICE);
    let Payload::Cluster(ClusterCommand::PriceServer(ServerCommand::PublishPrice(typed))) =
        decode(f).payload
    else {
        panic!("not a PublishPrice")
    };
    let (h, body) = Header::parse(&f.payload).unwrap();
    assert_eq!(
        (h.frame_type, h.direction, h.command_id),
        (FrameType::ClusterSpecific, Direction::ServerToClient, 0x00)
    );
    // Fields 1–14 with the 4-byte label "Peak": 34 + 4 bytes.
    assert_eq!(body.len(), 38);
    let mut r = zse::wire::Reader::new(body);
    assert_eq!(r.u32("provider").unwrap(), 0x1234);
    assert_eq!(r.short_string("label").unwrap().as_str(), Some("Peak"));
    let id = r.u32("id").unwrap();
    let now = r.u32("current_time").unwrap();
    assert_eq!(r.u8("uom").unwrap(), 0);
    assert_eq!(r.u16("currency").unwrap(), 840);
    assert_eq!(r.u8("digit_tier").unwrap(), 0x21);
    assert_eq!(r.u8("tiers_register").unwrap(), 0x31);
    let start = r.u32("start").unwrap();
    let duration = r.u16("duration").unwrap();
    let p = r.u32("price").unwrap();
    assert_eq!(r.u8("ratio").unwrap(), 0xFF);
    assert_eq!(r.u32("gen price").unwrap(), 0xFFFF_FFFF);
    assert_eq!(r.u8("gen ratio").unwrap(), 0xFF);
    assert!(r.is_empty());
    assert_eq!((typed.issuer_event_id, typed.start_time.0, typed.price), (id, start, p));
    (h.tsn, id, now, start, duration, p)
}

fn get_current_price(h: &mut Harness, eui: Eui64, rx_on: bool) -> (u8, Vec<Action>) {
    let tsn = h.tsn();
    let options = CommandOptions(u8::from(rx_on));
    let cmd = ClientCommand::GetCurrentPrice(GetCurrentPrice { command_options: options });
    let zcl = request(ClusterCommand::PriceClient(cmd), tsn, false);
    // se10.md §3.2: one byte, bit 0 = Requestor Rx On When Idle.
    assert_eq!(zcl, raw_request(0x00, tsn, false, &[u8::from(rx_on)]));
    let out = h.rx(eui, ClusterId::PRICE, &zcl);
    (tsn, out)
}

#[test]
fn get_current_price_answers_or_not_found() {
    let mut h = Harness::new();
    h.pair(IHD);
    let (tsn, out) = get_current_price(&mut h, IHD, false);
    assert_eq!(default_response(only_frame(&out)), (tsn, 0x00, Status::NOT_FOUND));
    let out = h.command(Command::PublishPrice(price(10, 0, 60, 1234)));
    // Nobody registered for pushes yet.
    assert_eq!(result_of(&out), Some(Ok(CommandOk::Accepted { deliveries: 0, superseded: 0 })));
    h.advance(5_000);
    let (tsn, out) = get_current_price(&mut h, IHD, false);
    assert_eq!(publish_price(only_frame(&out)), (tsn, 10, T0 + 5, T0, 60, 1234));
}

#[test]
fn rx_on_when_idle_clients_get_pushes() {
    let mut h = Harness::new();
    h.pair(IHD);
    h.pair(PCT);
    get_current_price(&mut h, IHD, true);
    get_current_price(&mut h, PCT, false);
    let (id, out) = h.command_id(Command::PublishPrice(price(11, T0 + 600, 60, 999)));
    assert_eq!(result_of(&out), Some(Ok(CommandOk::Accepted { deliveries: 1, superseded: 0 })));
    let f = only_frame(&out);
    assert_eq!(f.dst_eui64, IHD);
    let (_, eid, now, start, duration, p) = publish_price(f);
    assert_eq!((eid, now, start, duration, p), (11, T0, T0 + 600, 60, 999));
    let out = h.confirm_all(&out, ApsStatus::SUCCESS);
    assert!(out.is_empty());
    let out = h.advance(1_000);
    assert_eq!(
        outcomes(&out),
        std::vec![&Outcome::DeliveryResult {
            request_id: id,
            eui64: IHD,
            outcome: DeliveryOutcome::ApsAcked
        }]
    );
}

#[test]
fn replacement_by_higher_issuer_event_id() {
    let mut h = Harness::new();
    h.command(Command::PublishPrice(price(20, T0 + 3600, 60, 1)));
    // Overlapping with a lower or equal id: refused.
    let out = h.command(Command::PublishPrice(price(19, T0 + 3000, 120, 2)));
    assert_eq!(result_of(&out), Some(Err(CommandError::StaleIssuerEventId { stored: 20 })));
    let out = h.command(Command::PublishPrice(price(20, T0 + 9000, 10, 2)));
    assert_eq!(result_of(&out), Some(Err(CommandError::DuplicateEvent)));
    // The same price again (a host retry after a crash): accepted, nothing replaced.
    let out = h.command(Command::PublishPrice(price(20, T0 + 3600, 60, 1)));
    assert_eq!(result_of(&out), Some(Ok(CommandOk::Accepted { deliveries: 0, superseded: 0 })));
    // Higher id covering the stored start: replaces it.
    let out = h.command(Command::PublishPrice(price(21, T0 + 3000, 120, 3)));
    assert_eq!(result_of(&out), Some(Ok(CommandOk::Accepted { deliveries: 0, superseded: 1 })));
    assert_eq!(h.esi.prices().iter().map(|p| p.issuer_event_id).collect::<Vec<_>>(), std::vec![21]);
    // Until-changed price now, then a later one takes over when it starts.
    let out = h.command(Command::PublishPrice(price(15, 0, 0xFFFF, 5)));
    assert_eq!(result_of(&out), Some(Err(CommandError::StaleIssuerEventId { stored: 21 })));
    let out = h.command(Command::PublishPrice(price(31, 0, 0xFFFF, 5)));
    assert_eq!(result_of(&out), Some(Ok(CommandOk::Accepted { deliveries: 0, superseded: 1 })));
    let out = h.command(Command::PublishPrice(price(32, T0 + 600, 30, 6)));
    assert!(matches!(result_of(&out), Some(Ok(_))));
    h.pair(IHD);
    let (_, out) = get_current_price(&mut h, IHD, false);
    assert_eq!(publish_price(only_frame(&out)).1, 31);
    h.advance(600_000);
    assert_eq!(h.esi.prices().len(), 1);
    let (_, out) = get_current_price(&mut h, IHD, false);
    assert_eq!(publish_price(only_frame(&out)).1, 32);
    // After it ends nothing is in force.
    h.advance(1_800_000);
    assert!(h.esi.prices().is_empty());
    let (_, out) = get_current_price(&mut h, IHD, false);
    assert_eq!(default_response(only_frame(&out)).2, Status::NOT_FOUND);
}

#[test]
fn get_scheduled_prices_sends_one_frame_per_event_in_start_order() {
    let mut h = Harness::new();
    h.pair(IHD);
    for (id, offset) in [(3, 7200), (1, 0), (2, 3600)] {
        let out = h.command(Command::PublishPrice(price(id, T0 + offset, 60, id)));
        assert!(matches!(result_of(&out), Some(Ok(_))), "{out:?}");
    }
    let tsn = h.tsn();
    let all = GetScheduledPrices { start_time: UtcTime::NOW, number_of_events: 0 };
    let zcl =
        request(ClusterCommand::PriceClient(ClientCommand::GetScheduledPrices(all)), tsn, false);
    let out = h.rx(IHD, ClusterId::PRICE, &zcl);
    let ids: Vec<u32> = sent(&out)
        .iter()
        .map(|f| publish_price(f))
        .map(|p| {
            assert_eq!(p.0, tsn);
            p.1
        })
        .collect();
    assert_eq!(ids, std::vec![1, 2, 3]);
    // Limited count and a start-time filter (minimum end time).
    let min_end = (T0 + 3600 + 1).to_le_bytes();
    let out = h.rx(
        IHD,
        ClusterId::PRICE,
        &raw_request(0x01, 5, false, &[min_end[0], min_end[1], min_end[2], min_end[3], 1]),
    );
    let ids: Vec<u32> = sent(&out).iter().map(|f| publish_price(f).1).collect();
    assert_eq!(ids, std::vec![2]);
    let late = (T0 + 100_000).to_le_bytes();
    let out = h.rx(
        IHD,
        ClusterId::PRICE,
        &raw_request(0x01, 6, false, &[late[0], late[1], late[2], late[3], 0]),
    );
    assert_eq!(default_response(only_frame(&out)), (6, 0x01, Status::NOT_FOUND));
    // Truncated request.
    let out = h.rx(IHD, ClusterId::PRICE, &raw_request(0x01, 7, false, &[0, 0]));
    assert_eq!(default_response(only_frame(&out)), (7, 0x01, Status::MALFORMED_COMMAND));
}

#[test]
fn table_full_and_validation() {
    let mut h = Harness::new();
    for i in 0..5 {
        let out = h.command(Command::PublishPrice(price(i + 1, T0 + 3600 * i, 60, 1)));
        assert!(matches!(result_of(&out), Some(Ok(_))));
    }
    let out = h.command(Command::PublishPrice(price(9, T0 + 3600 * 9, 60, 1)));
    assert_eq!(result_of(&out), Some(Err(CommandError::TableFull { capacity: 5 })));
    let mut p = price(50, 0, 60, 1);
    p.rate_label = "a very long rate label";
    assert_eq!(
        result_of(&h.command(Command::PublishPrice(p))),
        Some(Err(CommandError::TextTooLong { max: 12 }))
    );
    let mut p = price(50, 0, 60, 1);
    p.price_tier = 16;
    assert_eq!(
        result_of(&h.command(Command::PublishPrice(p))),
        Some(Err(CommandError::InvalidField("price_tier")))
    );
}
