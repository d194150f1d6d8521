//! Metering commands (SE 1.0 §D.3.2.3–4, SE 1.1 fast poll; se10.md §6.8).

use crate::error::{Error, ErrorKind, Result};
use crate::field::{command_set, fixed_struct, newtype, Field, Repr, Uint24};
use crate::wire::{Reader, Writer};
use crate::zcl::{Record, Records, UtcTime};

newtype! {
    /// Interval Channel of GetProfile, enum8 (SE 1.0 §D.3.3.3.1; se10.md §6.8).
    pub struct IntervalChannel(u8);
}

impl IntervalChannel {
    pub const CONSUMPTION_DELIVERED: Self = Self(0x00);
    pub const CONSUMPTION_RECEIVED: Self = Self(0x01);
}

newtype! {
    /// ProfileIntervalPeriod, enum8: the length of one profile interval (SE 1.0 §D.3.2.3.1.1;
    /// se10.md §6.8). Also attribute 0x000F in SE 1.1.
    pub struct ProfileIntervalPeriod(u8);
}

impl ProfileIntervalPeriod {
    pub const DAILY: Self = Self(0);
    pub const MINUTES_60: Self = Self(1);
    pub const MINUTES_30: Self = Self(2);
    pub const MINUTES_15: Self = Self(3);
    pub const MINUTES_10: Self = Self(4);
    pub const MINUTES_7_5: Self = Self(5);
    pub const MINUTES_5: Self = Self(6);
    pub const MINUTES_2_5: Self = Self(7);

    /// Length of one interval in seconds; `None` for values not defined.
    pub const fn seconds(self) -> Option<u32> {
        Some(match self.0 {
            0 => 86_400,
            1 => 3_600,
            2 => 1_800,
            3 => 900,
            4 => 600,
            5 => 450,
            6 => 300,
            7 => 150,
            _ => return None,
        })
    }
}

newtype! {
    /// Status of GetProfileResponse, enum8 (SE 1.0 §D.3.2.3.1.1; se10.md §6.8).
    pub struct GetProfileStatus(u8);
}

impl GetProfileStatus {
    pub const SUCCESS: Self = Self(0x00);
    pub const UNDEFINED_INTERVAL_CHANNEL_REQUESTED: Self = Self(0x01);
    pub const INTERVAL_CHANNEL_NOT_SUPPORTED: Self = Self(0x02);
    pub const INVALID_END_TIME: Self = Self(0x03);
    pub const MORE_PERIODS_REQUESTED_THAN_CAN_BE_RETURNED: Self = Self(0x04);
    pub const NO_INTERVALS_AVAILABLE_FOR_THE_REQUESTED_TIME: Self = Self(0x05);

    /// The specification's name, if the value is defined.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x00 => "Success",
            0x01 => "Undefined Interval Channel requested",
            0x02 => "Interval Channel not supported",
            0x03 => "Invalid End Time",
            0x04 => "More periods requested than can be returned",
            0x05 => "No intervals available for the requested time",
            _ => return None,
        })
    }
}

/// One profile interval of GetProfileResponse: a uint24 consumption delta over one
/// ProfileIntervalPeriod (SE 1.0 §D.3.2.3.1.1; se10.md §6.8). [`Interval::INVALID`] marks an
/// interval the meter has no data for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(transparent))]
pub struct Interval(pub u32);

impl Interval {
    /// 0xFFFFFF: no valid data for this interval.
    pub const INVALID: Self = Self(0xFF_FFFF);

    /// The value, or `None` for [`Interval::INVALID`].
    pub const fn value(self) -> Option<u32> {
        if self.0 == Self::INVALID.0 {
            None
        } else {
            Some(self.0)
        }
    }
}

impl Field for Interval {
    const LEN: usize = 3;
    const ZERO: Self = Self(0);
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self> {
        Uint24::read(r, field).map(|v| Self(v.0))
    }
    fn write(self, w: &mut Writer<'_>, field: &'static str) -> Result<()> {
        Uint24(self.0).write(w, field)
    }
}

impl<'a> Record<'a> for Interval {
    fn read(r: &mut Reader<'a>) -> Result<Self> {
        Field::read(r, "intervals")
    }
    fn buffer_len(&self) -> usize {
        Self::LEN
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        Field::write(*self, w, "intervals")
    }
}

fixed_struct! {
    /// GetProfile (c→s 0x00; SE 1.0 §D.3.3.3.1; se10.md §6.8): asks for load-profile intervals.
    pub struct GetProfile / GetProfileView {
        interval_channel: IntervalChannel,
        /// [`UtcTime::NOW`] (0) = the most recent intervals.
        end_time: UtcTime,
        number_of_periods: u8,
    }
}

fixed_struct! {
    /// RequestMirrorResponse (c→s 0x01; SE 1.0 §D.3.3.3.2; se10.md §6.8): the ESI's answer to a
    /// sleepy meter's RequestMirror.
    pub struct RequestMirrorResponse / RequestMirrorResponseView {
        /// Endpoint of the mirror in the low byte (0x0001–0x00F0), or
        /// [`RequestMirrorResponse::MIRROR_NOT_POSSIBLE`].
        endpoint_id: u16,
    }
}

impl RequestMirrorResponse {
    /// The ESI cannot mirror the meter.
    pub const MIRROR_NOT_POSSIBLE: u16 = 0xFFFF;

    /// The mirror endpoint, or `None` when no mirror was created (0xFFFF or a reserved value).
    pub const fn endpoint(&self) -> Option<u8> {
        match self.endpoint_id {
            0x0001..=0x00F0 => Some(self.endpoint_id as u8),
            _ => None,
        }
    }
}

fixed_struct! {
    /// MirrorRemoved (c→s 0x02; SE 1.0 §D.3.3.3.3; se10.md §6.8): answer to RemoveMirror.
    pub struct MirrorRemoved / MirrorRemovedView {
        /// The endpoint that held the mirror, or [`MirrorRemoved::FAILURE`].
        removed_endpoint_id: u16,
    }
}

impl MirrorRemoved {
    /// The mirror could not be removed.
    pub const FAILURE: u16 = 0xFFFF;
}

fixed_struct! {
    /// RequestFastPollMode (c→s 0x03, SE 1.1 §D.3.3.3.4; se10.md §6.8).
    pub struct RequestFastPollMode / RequestFastPollModeView {
        /// Seconds; not less than the server's FastPollUpdatePeriod attribute.
        fast_poll_update_period: u8,
        /// Minutes; at most 15.
        duration: u8,
    }
}

/// GetProfileResponse (s→c 0x00; SE 1.0 §D.3.2.3.1; se10.md §6.8): load-profile intervals, most
/// recent first.
///
/// The interval bytes must be exactly `number_of_periods_delivered` × 3: unlike other commands, a
/// longer payload is not tolerated, because extra bytes here could only be uncounted intervals.
/// A mismatch is [`ErrorKind::BadLength`] at offset 6 (the count), on parse and on emit.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GetProfileResponse<'a> {
    /// End of the most recent interval returned.
    pub end_time: UtcTime,
    pub status: GetProfileStatus,
    pub profile_interval_period: ProfileIntervalPeriod,
    pub number_of_periods_delivered: u8,
    #[cfg_attr(feature = "serde", serde(borrow))]
    pub intervals: Records<'a, Interval>,
}

impl<'a> GetProfileResponse<'a> {
    /// Bytes before the intervals.
    pub const HEADER_LEN: usize = 7;
    /// Offset of `number_of_periods_delivered`.
    const COUNT_OFFSET: usize = 6;

    /// A response carrying `intervals` (most recent first), with the count filled in; `None` if
    /// there are more than 255.
    pub fn new(
        end_time: UtcTime,
        status: GetProfileStatus,
        profile_interval_period: ProfileIntervalPeriod,
        intervals: &'a [Interval],
    ) -> Option<Self> {
        Some(Self {
            end_time,
            status,
            profile_interval_period,
            number_of_periods_delivered: u8::try_from(intervals.len()).ok()?,
            intervals: Records::Slice(intervals),
        })
    }

    fn count_mismatch() -> Error {
        Error::new(ErrorKind::BadLength, Self::COUNT_OFFSET, "number_of_periods_delivered")
    }
}

impl<'a> Repr<'a> for GetProfileResponse<'a> {
    fn parse(payload: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(payload);
        let end_time = UtcTime::read(&mut r, "end_time")?;
        let status = GetProfileStatus::read(&mut r, "status")?;
        let profile_interval_period =
            ProfileIntervalPeriod::read(&mut r, "profile_interval_period")?;
        let number_of_periods_delivered = r.u8("number_of_periods_delivered")?;
        let len = usize::from(number_of_periods_delivered) * Interval::LEN;
        if r.remaining() != len {
            return Err(Self::count_mismatch());
        }
        let start = r.pos();
        let bytes = r.bytes(len, "intervals")?;
        let intervals =
            Records::read_to_end(&mut Reader::new(bytes)).map_err(|e| e.shifted(start))?;
        Ok(Self {
            end_time,
            status,
            profile_interval_period,
            number_of_periods_delivered,
            intervals,
        })
    }

    fn buffer_len(&self) -> usize {
        Self::HEADER_LEN + self.intervals.buffer_len()
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        if self.intervals.len() != usize::from(self.number_of_periods_delivered) {
            return Err(Self::count_mismatch());
        }
        let mut w = Writer::new(buf);
        self.end_time.write(&mut w, "end_time")?;
        self.status.write(&mut w, "status")?;
        self.profile_interval_period.write(&mut w, "profile_interval_period")?;
        w.u8(self.number_of_periods_delivered, "number_of_periods_delivered")?;
        self.intervals.write(&mut w)?;
        Ok(w.pos())
    }
}

fixed_struct! {
    /// RequestMirror (s→c 0x01; SE 1.0 §D.3.2.3.2; se10.md §6.8): a sleepy meter asks the ESI to
    /// host a mirror. No payload.
    pub struct RequestMirror / RequestMirrorView {}
}

fixed_struct! {
    /// RemoveMirror (s→c 0x02; SE 1.0 §D.3.2.3.3; se10.md §6.8): the meter asks the ESI to drop
    /// its mirror. No payload.
    pub struct RemoveMirror / RemoveMirrorView {}
}

fixed_struct! {
    /// RequestFastPollModeResponse (s→c 0x03, SE 1.1 §D.3.2.3.4; se10.md §6.8).
    pub struct RequestFastPollModeResponse / RequestFastPollModeResponseView {
        /// Seconds between updates the server will actually use.
        applied_update_period: u8,
        /// When the server returns to DefaultUpdatePeriod.
        fast_poll_mode_endtime: UtcTime,
    }
}

command_set! {
    /// Commands generated by the Metering client (ESI / display → meter, or ESI → sleepy meter
    /// for the mirror answers).
    pub enum ClientCommand {
        0x00 => GetProfile(GetProfile),
        0x01 => RequestMirrorResponse(RequestMirrorResponse),
        0x02 => MirrorRemoved(MirrorRemoved),
        0x03 => RequestFastPollMode(RequestFastPollMode),
    }
}

command_set! {
    /// Commands generated by the Metering server (the meter).
    pub enum ServerCommand<'a> {
        #[cfg_attr(feature = "serde", serde(borrow))]
        0x00 => GetProfileResponse(GetProfileResponse<'a>),
        0x01 => RequestMirror(RequestMirror),
        0x02 => RemoveMirror(RemoveMirror),
        0x03 => RequestFastPollModeResponse(RequestFastPollModeResponse),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn emit_eq<'a, T: Repr<'a>>(v: &T, bytes: &[u8]) {
        let mut out = [0u8; 64];
        let n = v.emit(&mut out).unwrap();
        assert_eq!(n, v.buffer_len());
        assert_eq!(&out[..n], bytes);
    }

    fn truncated_at<'a, T: Repr<'a> + core::fmt::Debug>(
        bytes: &'a [u8],
        len: usize,
        offset: usize,
        field: &str,
    ) {
        let e = T::parse(&bytes[..len]).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Truncated { .. }), "{e:?}");
        assert_eq!((e.offset, e.field), (offset, field));
    }

    #[test]
    fn get_profile() {
        // channel delivered, end time 0x12345678, 24 periods
        let bytes = [0x00, 0x78, 0x56, 0x34, 0x12, 0x18];
        let c = GetProfile::parse(&bytes).unwrap();
        assert_eq!(c.interval_channel, IntervalChannel::CONSUMPTION_DELIVERED);
        assert_eq!(c.end_time, UtcTime(0x1234_5678));
        assert_eq!(c.number_of_periods, 24);
        emit_eq(&c, &bytes);
        let v = GetProfileView::new_checked(&bytes[..]).unwrap();
        assert_eq!(v.end_time(), UtcTime(0x1234_5678));
        truncated_at::<GetProfile>(&bytes, 0, 0, "interval_channel");
        truncated_at::<GetProfile>(&bytes, 3, 1, "end_time");
        truncated_at::<GetProfile>(&bytes, 5, 5, "number_of_periods");
    }

    #[test]
    fn mirror_commands() {
        let ok = RequestMirrorResponse::parse(&[0x05, 0x00]).unwrap();
        assert_eq!((ok.endpoint_id, ok.endpoint()), (5, Some(5)));
        let no = RequestMirrorResponse::parse(&[0xFF, 0xFF]).unwrap();
        assert_eq!(no.endpoint_id, RequestMirrorResponse::MIRROR_NOT_POSSIBLE);
        assert_eq!(no.endpoint(), None);
        emit_eq(&no, &[0xFF, 0xFF]);
        truncated_at::<RequestMirrorResponse>(&[0x05, 0x00], 1, 0, "endpoint_id");

        let removed = MirrorRemoved::parse(&[0x07, 0x00]).unwrap();
        assert_eq!(removed.removed_endpoint_id, 7);
        emit_eq(&removed, &[0x07, 0x00]);
        truncated_at::<MirrorRemoved>(&[0x07, 0x00], 0, 0, "removed_endpoint_id");

        assert_eq!(RequestMirror::parse(&[]).unwrap().buffer_len(), 0);
        assert_eq!(RemoveMirror::parse(&[0xAA]).unwrap().buffer_len(), 0);
        assert_eq!(
            ServerCommand::parse(0x01, &[]).unwrap(),
            Some(ServerCommand::RequestMirror(RequestMirror {}))
        );
        assert_eq!(
            ServerCommand::parse(0x02, &[]).unwrap().map(|c| c.name()),
            Some("RemoveMirror")
        );
    }

    #[test]
    fn fast_poll() {
        let req = RequestFastPollMode::parse(&[0x02, 0x0F]).unwrap();
        assert_eq!((req.fast_poll_update_period, req.duration), (2, 15));
        emit_eq(&req, &[0x02, 0x0F]);
        truncated_at::<RequestFastPollMode>(&[0x02, 0x0F], 1, 1, "duration");

        let bytes = [0x03, 0x10, 0x20, 0x30, 0x40];
        let resp = RequestFastPollModeResponse::parse(&bytes).unwrap();
        assert_eq!(resp.applied_update_period, 3);
        assert_eq!(resp.fast_poll_mode_endtime, UtcTime(0x4030_2010));
        emit_eq(&resp, &bytes);
        truncated_at::<RequestFastPollModeResponse>(&bytes, 0, 0, "applied_update_period");
        truncated_at::<RequestFastPollModeResponse>(&bytes, 4, 1, "fast_poll_mode_endtime");
    }

    #[rustfmt::skip]
    const PROFILE: [u8; 16] = [
        0x00, 0x00, 0x00, 0x20, // end time 0x20000000
        0x00,                   // status success
        0x03,                   // 15-minute intervals
        0x03,                   // three periods
        0x10, 0x00, 0x00,       // 16
        0xFF, 0xFF, 0xFF,       // invalid
        0x56, 0x34, 0x12,       // 0x123456
    ];

    #[test]
    fn get_profile_response() {
        let p = GetProfileResponse::parse(&PROFILE).unwrap();
        assert_eq!(p.end_time, UtcTime(0x2000_0000));
        assert_eq!(p.status, GetProfileStatus::SUCCESS);
        assert_eq!(p.profile_interval_period.seconds(), Some(900));
        assert_eq!(p.number_of_periods_delivered, 3);
        let values: [Option<u32>; 3] = {
            let mut it = p.intervals.iter().map(Interval::value);
            [it.next().unwrap(), it.next().unwrap(), it.next().unwrap()]
        };
        assert_eq!(values, [Some(16), None, Some(0x12_3456)]);
        emit_eq(&p, &PROFILE);

        let slice = [Interval(16), Interval::INVALID, Interval(0x12_3456)];
        let built = GetProfileResponse::new(
            UtcTime(0x2000_0000),
            GetProfileStatus::SUCCESS,
            ProfileIntervalPeriod::MINUTES_15,
            &slice,
        )
        .unwrap();
        assert_eq!(built, p);
        emit_eq(&built, &PROFILE);

        // A failure status carries no intervals.
        let empty = [0, 0, 0, 0, 0x05, 0x00, 0x00];
        let e = GetProfileResponse::parse(&empty).unwrap();
        assert_eq!(e.status.name(), Some("No intervals available for the requested time"));
        assert!(e.intervals.is_empty());
        emit_eq(&e, &empty);
    }

    #[test]
    fn get_profile_response_count_mismatch() {
        // Count 3 but only two intervals, count 3 with a partial fourth, count 2 with three.
        for (bytes, count) in [(&PROFILE[..13], 3), (&PROFILE[..15], 3), (&PROFILE[..], 2)] {
            let mut b = [0u8; 16];
            b[..bytes.len()].copy_from_slice(bytes);
            b[6] = count;
            let e = GetProfileResponse::parse(&b[..bytes.len()]).unwrap_err();
            assert_eq!(e.kind, ErrorKind::BadLength);
            assert_eq!((e.offset, e.field), (6, "number_of_periods_delivered"));
        }
        // Emitting a value whose count disagrees with its list is refused too.
        let slice = [Interval(1)];
        let mut bad = GetProfileResponse::new(
            UtcTime(0),
            GetProfileStatus::SUCCESS,
            ProfileIntervalPeriod::DAILY,
            &slice,
        )
        .unwrap();
        bad.number_of_periods_delivered = 2;
        let mut out = [0u8; 16];
        assert_eq!(bad.emit(&mut out).unwrap_err().kind, ErrorKind::BadLength);
        // An interval beyond uint24 cannot be emitted.
        let wide = [Interval(0x0100_0000)];
        let w = GetProfileResponse::new(
            UtcTime(0),
            GetProfileStatus::SUCCESS,
            ProfileIntervalPeriod::DAILY,
            &wide,
        )
        .unwrap();
        let e = w.emit(&mut out).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::InvalidValue, 7));
    }

    #[test]
    fn get_profile_response_truncation() {
        truncated_at::<GetProfileResponse<'_>>(&PROFILE, 0, 0, "end_time");
        truncated_at::<GetProfileResponse<'_>>(&PROFILE, 4, 4, "status");
        truncated_at::<GetProfileResponse<'_>>(&PROFILE, 5, 5, "profile_interval_period");
        truncated_at::<GetProfileResponse<'_>>(&PROFILE, 6, 6, "number_of_periods_delivered");
    }

    #[test]
    fn command_sets_dispatch() {
        assert_eq!(ClientCommand::COMMANDS.len(), 4);
        assert_eq!(ServerCommand::COMMANDS.len(), 4);
        let c = ClientCommand::parse(0x03, &[1, 2]).unwrap().unwrap();
        assert_eq!((c.command_id(), c.name()), (0x03, "RequestFastPollMode"));
        assert_eq!(ClientCommand::parse(0x04, &[]).unwrap(), None);
        let s = ServerCommand::parse(0x00, &PROFILE).unwrap().unwrap();
        assert_eq!(s.name(), "GetProfileResponse");
        assert_eq!(s.buffer_len(), PROFILE.len());
    }

    #[cfg(feature = "serde")]
    #[test]
    fn json_form() {
        let s = ServerCommand::parse(0x00, &PROFILE).unwrap().unwrap();
        let j = serde_json::to_value(&s).unwrap();
        assert_eq!(j["command"], "GetProfileResponse");
        assert_eq!(j["fields"]["intervals"], serde_json::json!([16, 0xFF_FFFF, 0x12_3456]));
        assert_eq!(j["fields"]["number_of_periods_delivered"], 3);
        #[cfg(feature = "alloc")]
        {
            let text = serde_json::to_string(&s).unwrap();
            let back: ServerCommand<'_> = serde_json::from_str(&text).unwrap();
            assert_eq!(back, s);
            let mut out = [0u8; 32];
            let n = back.emit(&mut out).unwrap();
            assert_eq!(&out[..n], &PROFILE);
        }
    }
}

#[cfg(test)]
mod proptests {
    extern crate std;
    use super::*;
    use crate::testutil::check_roundtrip;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn roundtrip(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            check_roundtrip::<GetProfile>(&bytes);
            check_roundtrip::<RequestMirrorResponse>(&bytes);
            check_roundtrip::<MirrorRemoved>(&bytes);
            check_roundtrip::<RequestFastPollMode>(&bytes);
            check_roundtrip::<GetProfileResponse<'_>>(&bytes);
            check_roundtrip::<RequestMirror>(&bytes);
            check_roundtrip::<RemoveMirror>(&bytes);
            check_roundtrip::<RequestFastPollModeResponse>(&bytes);
        }

        /// Random bytes almost never have a matching count, so build well-formed responses too.
        #[test]
        fn profile_roundtrip(
            head in proptest::array::uniform6(any::<u8>()),
            intervals in proptest::collection::vec(0u32..=0xFF_FFFF, 0..30),
        ) {
            let mut bytes: std::vec::Vec<u8> = head.to_vec();
            bytes.push(intervals.len() as u8);
            for i in &intervals {
                bytes.extend_from_slice(&i.to_le_bytes()[..3]);
            }
            let p = check_roundtrip::<GetProfileResponse<'_>>(&bytes).unwrap();
            prop_assert!(p.intervals.iter().map(|i| i.0).eq(intervals.iter().copied()));
        }
    }
}
