//! On-demand meter reads and power / switch status (design.md §6, BR-006, BR-001).

use firmware::host_link::{Command, ReadMeter, Report, ResultCode};
use tracing::{info_span, Instrument};

use super::time::format_rfc3339;
use super::types::{MeterRead, MeterStatus};
use super::Gateway;
use crate::coordinator::LinkStatus;
use crate::error::{ApiError, ErrorCode};
use crate::model::Timestamp;
use crate::ops::events::{Event, MeterEvent};
use crate::polling::{is_stale, kwh, parse_reading, READ_ATTRIBUTES};

impl Gateway {
    /// `meter/read`: CurrentSummationDelivered in kWh with three decimals, scaled with the
    /// meter's Multiplier and Divisor, with its timestamp. When the coordinator is offline the
    /// last reading is returned marked `stale` (never a guess); without one, `COORDINATOR_OFFLINE`.
    pub async fn meter_read(&self, esi_id: &str) -> Result<MeterRead, ApiError> {
        let (esi, handle) = self.esi(esi_id, "esi_id")?;
        let span = info_span!("meter/read", esi = %esi);
        async move {
            let mut attribute_ids = heapless::Vec::new();
            for a in READ_ATTRIBUTES {
                let _ = attribute_ids.push(a);
            }
            // The coordinator holds one reading at a time and answers BUSY meanwhile.
            let mut answer = handle
                .query(Command::ReadMeter(ReadMeter { attribute_ids: attribute_ids.clone() }))
                .await;
            for _ in 0..5 {
                if !matches!(&answer, Ok(a) if a.result.code == ResultCode::BUSY) {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                let cmd = Command::ReadMeter(ReadMeter { attribute_ids: attribute_ids.clone() });
                answer = handle.query(cmd).await;
            }
            let snap = match answer {
                Ok(a) if a.result.code == ResultCode::SUCCESS => match a.data {
                    Some(Report::MeterReading(m)) => parse_reading(&m, Timestamp::now()),
                    _ => return Err(ApiError::internal()),
                },
                Ok(a) => {
                    let name = a.result.code.name().unwrap_or("?");
                    return Err(ApiError::new(
                        ErrorCode::CoordinatorOffline,
                        format!("the ESI could not read the meter ({name})"),
                    ));
                }
                Err(e) if e.code == ErrorCode::CoordinatorOffline => {
                    let cached = self.health().get(&esi).and_then(|h| h.reading);
                    let Some(r) = cached else { return Err(e) };
                    return Ok(MeterRead {
                        esi_id: esi.0.clone(),
                        summation_delivered_kwh: r.milli_kwh.map(kwh),
                        missing_reason: r.missing_reason,
                        read_at: format_rfc3339(r.read_at),
                        stale: true,
                    });
                }
                Err(e) => return Err(e),
            };
            self.health().update(&esi, |h| h.reading = Some(snap.clone()));
            let status = self.health().get(&esi).map(|h| h.status).unwrap_or_default();
            self.events().publish(Event::Meter(MeterEvent {
                esi_id: esi.0.clone(),
                power: status.power_text(),
                switch: status.switch_text(),
                summation_delivered_kwh: snap.milli_kwh.map(kwh),
                stale: false,
                at: format_rfc3339(snap.read_at),
            }));
            Ok(MeterRead {
                esi_id: esi.0.clone(),
                summation_delivered_kwh: snap.milli_kwh.map(kwh),
                missing_reason: snap.missing_reason,
                read_at: format_rfc3339(snap.read_at),
                stale: false,
            })
        }
        .instrument(span)
        .await
    }

    /// `meter/status`: power and service-switch status. `refresh` asks the ESI now; otherwise the
    /// last polled value is returned, `stale` when it is older than `polling.stale_after` or the
    /// link is down.
    pub async fn meter_status(&self, esi_id: &str, refresh: bool) -> Result<MeterStatus, ApiError> {
        let (esi, handle) = self.esi(esi_id, "esi_id")?;
        if refresh {
            handle.query(Command::GetStatus).await?;
        }
        let h = self.health().get(&esi).ok_or_else(ApiError::internal)?;
        let stale =
            is_stale(h.status.read_at, h.link, self.config().polling.stale_after, Timestamp::now());
        Ok(MeterStatus {
            esi_id: esi.0.clone(),
            power: h.status.power_text(),
            switch: h.status.switch_text(),
            read_at: h.status.read_at.map(format_rfc3339),
            stale,
            link: if h.link == LinkStatus::Online { "online" } else { h.link.as_str() }.to_owned(),
        })
    }
}
