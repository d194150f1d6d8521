//! Read Attributes (ZCL §2.4.1–2.4.2) for the clusters the ESI serves: Basic (ZCL §3.2), Time
//! (ZCL §3.12; se10.md §2.2) and Metering (via the metrology, see `metering`). Price, DRLC and
//! Messaging have no server attributes in SE 1.0 an ESI must implement, so every id there reads
//! as UNSUPPORTED_ATTRIBUTE.

use super::metering::Metrology;
use super::tx;
use super::APS_PAYLOAD_MAX;
use super::{Esi, ReplyTo};
use zse::cluster::{basic, time};
use zse::wire::Writer;
use zse::zcl::foundation::ReadAttributes;
use zse::zcl::{
    ClusterId, Direction, FrameType, Header, Status, TypedValue, UtcTime, Value, ZclStr,
};

/// Values of the Basic cluster's attributes (ZCL §3.2.2.2). ZCLVersion and PowerSource are the
/// mandatory ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BasicInfo {
    /// 0x01 for the ZCL revision SE 1.0 builds on.
    pub zcl_version: u8,
    pub application_version: u8,
    pub stack_version: u8,
    pub hw_version: u8,
    pub manufacturer_name: &'static str,
    pub model_identifier: &'static str,
    pub date_code: &'static str,
    /// 0x01 = mains, single phase.
    pub power_source: u8,
    pub sw_build_id: &'static str,
}

impl Default for BasicInfo {
    fn default() -> Self {
        Self {
            zcl_version: 0x01,
            application_version: 0x01,
            stack_version: 0x02,
            hw_version: 0x01,
            manufacturer_name: "open-se-han",
            model_identifier: "esi-core",
            date_code: "",
            power_source: 0x01,
            sw_build_id: env!("CARGO_PKG_VERSION"),
        }
    }
}

impl BasicInfo {
    pub(crate) fn value(&self, id: u16) -> Option<Value<'static>> {
        use basic::attr;
        let s = |s: &'static str| Some(Value::CharacterString(ZclStr::from_str(s)));
        match id {
            attr::ZCL_VERSION => Some(Value::Uint8(self.zcl_version)),
            attr::APPLICATION_VERSION => Some(Value::Uint8(self.application_version)),
            attr::STACK_VERSION => Some(Value::Uint8(self.stack_version)),
            attr::HW_VERSION => Some(Value::Uint8(self.hw_version)),
            attr::MANUFACTURER_NAME => s(self.manufacturer_name),
            attr::MODEL_IDENTIFIER => s(self.model_identifier),
            attr::DATE_CODE => s(self.date_code),
            attr::POWER_SOURCE => Some(Value::Enum8(self.power_source)),
            attr::SW_BUILD_ID => s(self.sw_build_id),
            _ => None,
        }
    }
}

/// Clusters with a server on the ESI endpoint.
pub(crate) fn is_served(cluster: ClusterId) -> bool {
    matches!(
        cluster,
        ClusterId::BASIC
            | ClusterId::TIME
            | ClusterId::PRICE
            | ClusterId::DEMAND_RESPONSE_LOAD_CONTROL
            | ClusterId::METERING
            | ClusterId::MESSAGING
            | ClusterId::KEY_ESTABLISHMENT
    )
}

impl<const SLOTS: usize, const EVENTS: usize, const PRICES: usize, M: Metrology>
    Esi<SLOTS, EVENTS, PRICES, M>
{
    /// The Time cluster attributes. Before the host sets the time, Time reads as invalid and
    /// TimeStatus as 0 (not master).
    fn time_value(&self, id: u16) -> Option<Value<'static>> {
        use time::attr;
        let now = self.now;
        let utc = |t: Option<u32>| UtcTime(t.unwrap_or(UtcTime::INVALID.0));
        let dst = self.clock.dst();
        Some(match id {
            attr::TIME => Value::UtcTime(utc(self.clock.utc(now))),
            attr::TIME_STATUS => Value::Bitmap8(self.clock.time_status().0),
            attr::TIME_ZONE => Value::Int32(self.clock.time_zone()),
            attr::DST_START => Value::Uint32(dst.map_or(0, |d| d.start.0)),
            attr::DST_END => Value::Uint32(dst.map_or(0, |d| d.end.0)),
            attr::DST_SHIFT => Value::Int32(dst.map_or(0, |d| d.shift)),
            attr::STANDARD_TIME => Value::Uint32(utc(self.clock.standard_time(now)).0),
            attr::LOCAL_TIME => Value::Uint32(utc(self.clock.local_time(now)).0),
            attr::LAST_SET_TIME => Value::UtcTime(utc(self.clock.last_set())),
            _ => return None,
        })
    }

    fn attribute_value(&mut self, cluster: ClusterId, id: u16) -> Option<Value<'static>> {
        match cluster {
            ClusterId::BASIC => self.config.basic.value(id),
            ClusterId::TIME => self.time_value(id),
            ClusterId::METERING => self.meter_attribute(id),
            _ => None,
        }
    }

    /// Answers Read Attributes with one record per requested id, as many as fit one frame.
    pub(crate) fn read_attributes(
        &mut self,
        to: &ReplyTo,
        header: &Header,
        request: &ReadAttributes<'_>,
    ) {
        let header_out = tx::reply_header(header, FrameType::Global, 0x01);
        let mut buf = [0u8; APS_PAYLOAD_MAX];
        let Ok(hn) = header_out.emit(&mut buf) else { return };
        let Some(body) = buf.get_mut(hn..) else { return };
        let mut w = Writer::new(body);
        for id in &request.attribute_ids {
            // Client-side attributes (direction bit set): the ESI has none.
            let value = match header.direction {
                Direction::ClientToServer => self.attribute_value(to.cluster, id.0),
                Direction::ServerToClient => None,
            };
            let mut rec = [0u8; APS_PAYLOAD_MAX];
            let mut rw = Writer::new(&mut rec);
            let ok = rw.u16(id.0, "attribute_id").is_ok()
                && match value {
                    Some(v) => {
                        rw.u8(Status::SUCCESS.0, "status").is_ok()
                            && TypedValue::write(&v, &mut rw).is_ok()
                    }
                    None => rw.u8(Status::UNSUPPORTED_ATTRIBUTE.0, "status").is_ok(),
                };
            let n = rw.pos();
            // A record that does not fit ends the response (ZCL §2.4.2.1).
            if !ok || rec.get(..n).is_none_or(|r| w.bytes(r, "record").is_err()) {
                break;
            }
        }
        let n = hn + w.pos();
        self.reply(to, buf.get(..n).and_then(|b| tx::ApsPayload::from_slice(b).ok()));
    }
}
