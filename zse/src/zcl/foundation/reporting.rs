//! Attribute reporting configuration (ZCL §2.4.7–2.4.10; se10.md §1.4): how an ESI asks a
//! meter to push readings, and how either side reads the configuration back.

use crate::error::{Error, ErrorKind, Result};
use crate::field::newtype;
use crate::wire::{Reader, Writer};
use crate::zcl::{AttributeId, DataType, Record, Status, Value};

newtype! {
    /// Direction field of the reporting records (ZCL §2.4.7.1.1; se10.md §1.4). Kept open so a
    /// failure record with an unknown direction survives a round trip.
    pub struct ReportingDirection(u8);
}

impl ReportingDirection {
    /// 0x00: the receiver of the command is the one that sends reports of the attribute.
    pub const SEND_REPORTS: Self = Self(0x00);
    /// 0x01: the receiver of the command should expect reports of the attribute (from the
    /// sender), and only the timeout period follows.
    pub const RECEIVE_REPORTS: Self = Self(0x01);
}

/// The direction-dependent tail of a reporting configuration record (ZCL §2.4.7.1;
/// se10.md §1.4). The variant *is* the direction byte, so a record cannot contradict itself.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ReportingConfiguration<'a> {
    /// Direction 0x00: the receiver reports the attribute.
    SendReports {
        /// The attribute's data type. Any id is accepted: it only decides whether a reportable
        /// change follows.
        attribute_data_type: DataType,
        /// Seconds.
        minimum_reporting_interval: u16,
        /// Seconds; 0x0000 = no periodic reports (change-based reporting only); 0xFFFF = do
        /// not report this attribute at all (ZCL rev. 6 wording).
        maximum_reporting_interval: u16,
        /// Minimum change that triggers a report, of `attribute_data_type` itself. Present on the
        /// air only for analog types ([`DataType::is_analog`]), so `Some` exactly for those.
        #[cfg_attr(
            feature = "serde",
            serde(borrow, default, skip_serializing_if = "Option::is_none")
        )]
        reportable_change: Option<Value<'a>>,
    },
    /// Direction 0x01: the receiver will receive reports from the sender.
    ReceiveReports {
        /// Seconds after which a missing report is an error; 0 = no timeout.
        timeout_period: u16,
    },
}

impl<'a> ReportingConfiguration<'a> {
    /// The direction byte this tail belongs to.
    pub const fn direction(&self) -> ReportingDirection {
        match self {
            Self::SendReports { .. } => ReportingDirection::SEND_REPORTS,
            Self::ReceiveReports { .. } => ReportingDirection::RECEIVE_REPORTS,
        }
    }

    /// Reads the tail that follows `direction`; `at` is where the direction byte was, for the
    /// error when the direction is neither 0x00 nor 0x01 (the layout would be unknown).
    fn read(direction: ReportingDirection, at: usize, r: &mut Reader<'a>) -> Result<Self> {
        match direction {
            ReportingDirection::SEND_REPORTS => {
                let attribute_data_type = DataType(r.u8("attribute_data_type")?);
                let minimum_reporting_interval = r.u16("minimum_reporting_interval")?;
                let maximum_reporting_interval = r.u16("maximum_reporting_interval")?;
                let reportable_change = if attribute_data_type.is_analog() {
                    // Analog types all have a fixed size; check it here so a short payload is
                    // reported against this field rather than a generic "value".
                    let len = attribute_data_type.fixed_len().unwrap_or(0);
                    if r.remaining() < len {
                        return Err(r.truncated(len, "reportable_change"));
                    }
                    Some(Value::read(attribute_data_type, r)?)
                } else {
                    None
                };
                Ok(Self::SendReports {
                    attribute_data_type,
                    minimum_reporting_interval,
                    maximum_reporting_interval,
                    reportable_change,
                })
            }
            ReportingDirection::RECEIVE_REPORTS => {
                Ok(Self::ReceiveReports { timeout_period: r.u16("timeout_period")? })
            }
            _ => Err(Error::new(ErrorKind::InvalidValue, at, "direction")),
        }
    }

    fn buffer_len(&self) -> usize {
        match self {
            Self::SendReports { reportable_change, .. } => {
                5 + reportable_change.as_ref().map_or(0, Value::value_len)
            }
            Self::ReceiveReports { .. } => 2,
        }
    }

    /// Writes the tail. Refuses a reportable change that is missing for an analog type, present
    /// for a discrete one, or of another type than `attribute_data_type`.
    fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        match self {
            Self::SendReports {
                attribute_data_type: ty,
                minimum_reporting_interval,
                maximum_reporting_interval,
                reportable_change,
            } => {
                let consistent = match reportable_change {
                    Some(v) => ty.is_analog() && v.data_type() == *ty,
                    None => !ty.is_analog(),
                };
                if !consistent {
                    return Err(Error::new(ErrorKind::InvalidValue, w.pos(), "reportable_change"));
                }
                w.u8(ty.0, "attribute_data_type")?;
                w.u16(*minimum_reporting_interval, "minimum_reporting_interval")?;
                w.u16(*maximum_reporting_interval, "maximum_reporting_interval")?;
                match reportable_change {
                    Some(v) => v.write(w),
                    None => Ok(()),
                }
            }
            Self::ReceiveReports { timeout_period } => w.u16(*timeout_period, "timeout_period"),
        }
    }
}

/// Attribute Reporting Configuration Record of Configure Reporting (ZCL §2.4.7.1;
/// se10.md §1.4): direction, attribute id, then the direction's tail.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AttributeReportingConfigurationRecord<'a> {
    pub attribute_id: AttributeId,
    /// Carries the direction byte as its variant.
    #[cfg_attr(feature = "serde", serde(borrow))]
    pub configuration: ReportingConfiguration<'a>,
}

impl<'a> Record<'a> for AttributeReportingConfigurationRecord<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self> {
        let at = r.pos();
        let direction = ReportingDirection(r.u8("direction")?);
        let attribute_id = AttributeId(r.u16("attribute_id")?);
        let configuration = ReportingConfiguration::read(direction, at, r)?;
        Ok(Self { attribute_id, configuration })
    }

    fn buffer_len(&self) -> usize {
        3 + self.configuration.buffer_len()
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u8(self.configuration.direction().0, "direction")?;
        w.u16(self.attribute_id.0, "attribute_id")?;
        self.configuration.write(w)
    }
}

record_list! {
    /// Configure Reporting (0x06; ZCL §2.4.7; se10.md §1.4).
    pub struct ConfigureReporting<'a> { records: AttributeReportingConfigurationRecord<'a> }
}

fixed_record! {
    /// Attribute Status Record of Configure Reporting Response (ZCL §2.4.8.1; se10.md §1.4).
    pub struct AttributeStatusRecord {
        status: Status,
        direction: ReportingDirection,
        attribute_id: AttributeId,
    }
}

status_response! {
    /// Configure Reporting Response (0x07; ZCL §2.4.8; se10.md §1.4): a single SUCCESS byte when
    /// every record was accepted, otherwise one [`AttributeStatusRecord`] per rejected record
    /// (e.g. UNREPORTABLE_ATTRIBUTE 0x8C).
    pub enum ConfigureReportingResponse<'a> { AttributeStatusRecord }
}

fixed_record! {
    /// Attribute Record of Read Reporting Configuration (ZCL §2.4.9.1; se10.md §1.4).
    pub struct AttributeRecord {
        direction: ReportingDirection,
        attribute_id: AttributeId,
    }
}

record_list! {
    /// Read Reporting Configuration (0x08; ZCL §2.4.9; se10.md §1.4).
    pub struct ReadReportingConfiguration<'a> { records: AttributeRecord }
}

/// Attribute Reporting Configuration Record of Read Reporting Configuration Response
/// (ZCL §2.4.10.1; se10.md §1.4): status, direction, attribute id, and on SUCCESS the same tail
/// as in Configure Reporting.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ReportingConfigurationStatusRecord<'a> {
    pub status: Status,
    pub direction: ReportingDirection,
    pub attribute_id: AttributeId,
    /// `Some` exactly when `status` is SUCCESS, and then of `direction`'s variant (emit refuses
    /// anything else).
    #[cfg_attr(feature = "serde", serde(borrow, default, skip_serializing_if = "Option::is_none"))]
    pub configuration: Option<ReportingConfiguration<'a>>,
}

impl<'a> ReportingConfigurationStatusRecord<'a> {
    /// A SUCCESS record with the attribute's configuration.
    pub const fn success(
        attribute_id: AttributeId,
        configuration: ReportingConfiguration<'a>,
    ) -> Self {
        Self {
            status: Status::SUCCESS,
            direction: configuration.direction(),
            attribute_id,
            configuration: Some(configuration),
        }
    }

    /// A failure record (e.g. UNSUPPORTED_ATTRIBUTE, UNREPORTABLE_ATTRIBUTE, NOT_FOUND).
    pub const fn failure(
        status: Status,
        direction: ReportingDirection,
        attribute_id: AttributeId,
    ) -> Self {
        Self { status, direction, attribute_id, configuration: None }
    }
}

impl<'a> Record<'a> for ReportingConfigurationStatusRecord<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self> {
        let status = Status(r.u8("status")?);
        let at = r.pos();
        let direction = ReportingDirection(r.u8("direction")?);
        let attribute_id = AttributeId(r.u16("attribute_id")?);
        let configuration = if status == Status::SUCCESS {
            Some(ReportingConfiguration::read(direction, at, r)?)
        } else {
            None
        };
        Ok(Self { status, direction, attribute_id, configuration })
    }

    fn buffer_len(&self) -> usize {
        4 + self.configuration.as_ref().map_or(0, ReportingConfiguration::buffer_len)
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        let consistent = match &self.configuration {
            Some(c) => self.status == Status::SUCCESS && c.direction() == self.direction,
            None => self.status != Status::SUCCESS,
        };
        if !consistent {
            return Err(Error::new(ErrorKind::InvalidValue, w.pos(), "configuration"));
        }
        w.u8(self.status.0, "status")?;
        w.u8(self.direction.0, "direction")?;
        w.u16(self.attribute_id.0, "attribute_id")?;
        match &self.configuration {
            Some(c) => c.write(w),
            None => Ok(()),
        }
    }
}

record_list! {
    /// Read Reporting Configuration Response (0x09; ZCL §2.4.10; se10.md §1.4).
    pub struct ReadReportingConfigurationResponse<'a> {
        records: ReportingConfigurationStatusRecord<'a>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::{Int24, Repr};
    use crate::zcl::Records;

    /// InstantaneousDemand (0x0400, int24): min 5 s, max 60 s, change 100; MeteringStatus
    /// (0x0200, bitmap8, discrete: no change field): min 1 s, max 3600 s; and "expect reports of
    /// CurrentSummationDelivered (0x0000) at least every 180 s".
    const CONFIGURE: [u8; 25] = [
        0x00, 0x00, 0x04, 0x2A, 0x05, 0x00, 0x3C, 0x00, 0x64, 0x00, 0x00, //
        0x00, 0x00, 0x02, 0x18, 0x01, 0x00, 0x10, 0x0E, //
        0x01, 0x00, 0x00, 0xB4, 0x00, 0xFF, // not part of the payload below
    ];

    fn configure_records() -> [AttributeReportingConfigurationRecord<'static>; 3] {
        [
            AttributeReportingConfigurationRecord {
                attribute_id: AttributeId(0x0400),
                configuration: ReportingConfiguration::SendReports {
                    attribute_data_type: DataType::INT24,
                    minimum_reporting_interval: 5,
                    maximum_reporting_interval: 60,
                    reportable_change: Some(Value::Int24(Int24(100))),
                },
            },
            AttributeReportingConfigurationRecord {
                attribute_id: AttributeId(0x0200),
                configuration: ReportingConfiguration::SendReports {
                    attribute_data_type: DataType::BITMAP8,
                    minimum_reporting_interval: 1,
                    maximum_reporting_interval: 3600,
                    reportable_change: None,
                },
            },
            AttributeReportingConfigurationRecord {
                attribute_id: AttributeId(0x0000),
                configuration: ReportingConfiguration::ReceiveReports { timeout_period: 180 },
            },
        ]
    }

    #[test]
    fn configure_reporting_layout() {
        let payload = &CONFIGURE[..24];
        let recs = configure_records();
        let c = ConfigureReporting::parse(payload).unwrap();
        assert_eq!(c.records, Records::Slice(&recs));
        let mut out = [0u8; 64];
        let n = ConfigureReporting::new(&recs).emit(&mut out).unwrap();
        assert_eq!(&out[..n], payload);
        assert_eq!(ConfigureReporting::new(&recs).buffer_len(), 24);
    }

    #[test]
    fn configure_reporting_truncation() {
        for (cut, offset, needed, field) in [
            (1, 1, 2, "attribute_id"),
            (3, 3, 1, "attribute_data_type"),
            (4, 4, 2, "minimum_reporting_interval"),
            (7, 6, 1, "maximum_reporting_interval"),
            (8, 8, 3, "reportable_change"),
            (10, 8, 1, "reportable_change"),
            (18, 17, 1, "maximum_reporting_interval"),
            (23, 22, 1, "timeout_period"),
        ] {
            let e = ConfigureReporting::parse(&CONFIGURE[..cut]).unwrap_err();
            assert_eq!(
                (e.kind, e.offset, e.field),
                (ErrorKind::Truncated { needed }, offset, field),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn unknown_direction_and_types() {
        let mut bytes = CONFIGURE;
        bytes[11] = 0x02;
        let e = ConfigureReporting::parse(&bytes[..24]).unwrap_err();
        assert_eq!((e.kind, e.offset, e.field), (ErrorKind::InvalidValue, 11, "direction"));
        // A discrete slot needs no size, so an unknown data type there survives.
        let odd = [0x00, 0x34, 0x12, 0x77, 0x00, 0x00, 0xFF, 0xFF];
        let c = ConfigureReporting::parse(&odd).unwrap();
        let mut out = [0u8; 16];
        assert_eq!(c.emit(&mut out).unwrap(), odd.len());
        assert_eq!(out[..odd.len()], odd);
    }

    #[test]
    fn inconsistent_change_is_not_emitted() {
        let mut out = [0u8; 64];
        for (ty, change) in [
            (DataType::INT24, None),
            (DataType::BITMAP8, Some(Value::Bitmap8(1))),
            (DataType::UINT16, Some(Value::Uint8(1))),
        ] {
            let rec = [AttributeReportingConfigurationRecord {
                attribute_id: AttributeId(0),
                configuration: ReportingConfiguration::SendReports {
                    attribute_data_type: ty,
                    minimum_reporting_interval: 0,
                    maximum_reporting_interval: 0,
                    reportable_change: change,
                },
            }];
            let e = ConfigureReporting::new(&rec).emit(&mut out).unwrap_err();
            assert_eq!((e.kind, e.field), (ErrorKind::InvalidValue, "reportable_change"));
        }
    }

    #[test]
    fn configure_reporting_response_forms() {
        let c = ConfigureReportingResponse::parse(&[0x00]).unwrap();
        assert_eq!(c, ConfigureReportingResponse::AllSuccess);
        let bytes = [0x8C, 0x00, 0x00, 0x04];
        let recs = [AttributeStatusRecord {
            status: Status::UNREPORTABLE_ATTRIBUTE,
            direction: ReportingDirection::SEND_REPORTS,
            attribute_id: AttributeId(0x0400),
        }];
        let c = ConfigureReportingResponse::parse(&bytes).unwrap();
        assert_eq!(c, ConfigureReportingResponse::new(&recs));
        let mut out = [0u8; 8];
        assert_eq!(c.emit(&mut out).unwrap(), 4);
        assert_eq!(out[..4], bytes);
        let e = ConfigureReportingResponse::parse(&bytes[..3]).unwrap_err();
        assert_eq!(
            (e.kind, e.offset, e.field),
            (ErrorKind::Truncated { needed: 1 }, 2, "attribute_id")
        );
    }

    #[test]
    fn read_reporting_configuration_layout() {
        let bytes = [0x00, 0x00, 0x04, 0x01, 0x00, 0x00];
        let recs = [
            AttributeRecord {
                direction: ReportingDirection::SEND_REPORTS,
                attribute_id: AttributeId(0x0400),
            },
            AttributeRecord {
                direction: ReportingDirection::RECEIVE_REPORTS,
                attribute_id: AttributeId(0),
            },
        ];
        assert_eq!(
            ReadReportingConfiguration::parse(&bytes).unwrap().records,
            Records::Slice(&recs)
        );
        let e = ReadReportingConfiguration::parse(&bytes[..4]).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Truncated { needed: 2 }, 4));
    }

    #[test]
    fn read_reporting_configuration_response_layout() {
        let bytes = [
            0x00, 0x00, 0x00, 0x04, 0x2A, 0x05, 0x00, 0x3C, 0x00, 0x64, 0x00, 0x00, //
            0x86, 0x00, 0x99, 0x00, //
            0x00, 0x01, 0x00, 0x00, 0xB4, 0x00,
        ];
        let [demand, _, summation] = configure_records();
        let recs = [
            ReportingConfigurationStatusRecord::success(AttributeId(0x0400), demand.configuration),
            ReportingConfigurationStatusRecord::failure(
                Status::UNSUPPORTED_ATTRIBUTE,
                ReportingDirection::SEND_REPORTS,
                AttributeId(0x0099),
            ),
            ReportingConfigurationStatusRecord::success(AttributeId(0), summation.configuration),
        ];
        let c = ReadReportingConfigurationResponse::parse(&bytes).unwrap();
        assert_eq!(c.records, Records::Slice(&recs));
        let mut out = [0u8; 64];
        let n = ReadReportingConfigurationResponse::new(&recs).emit(&mut out).unwrap();
        assert_eq!(&out[..n], &bytes);

        // Unknown direction on a SUCCESS record: the tail cannot be sized.
        let mut bad = bytes;
        bad[17] = 0x05;
        let e = ReadReportingConfigurationResponse::parse(&bad).unwrap_err();
        assert_eq!((e.kind, e.offset, e.field), (ErrorKind::InvalidValue, 17, "direction"));
        // On a failure record any direction is fine.
        let c = ReadReportingConfigurationResponse::parse(&[0x86, 0x07, 0x00, 0x00]).unwrap();
        assert_eq!(c.records.iter().next().map(|r| r.direction), Some(ReportingDirection(7)));

        let e = ReadReportingConfigurationResponse::parse(&bytes[..11]).unwrap_err();
        assert_eq!(
            (e.kind, e.offset, e.field),
            (ErrorKind::Truncated { needed: 1 }, 9, "reportable_change")
        );

        let bad = [ReportingConfigurationStatusRecord {
            direction: ReportingDirection::RECEIVE_REPORTS,
            ..ReportingConfigurationStatusRecord::success(AttributeId(0), demand.configuration)
        }];
        let e = ReadReportingConfigurationResponse::new(&bad).emit(&mut out).unwrap_err();
        assert_eq!((e.kind, e.field), (ErrorKind::InvalidValue, "configuration"));
    }
}

#[cfg(test)]
mod proptests {
    use super::super::strategy::{analog_value, records, Vec};
    use super::*;
    use crate::testutil::check_roundtrip;
    use proptest::prelude::*;

    /// The direction byte, then the attribute id, then a valid tail.
    fn configuration_record() -> impl Strategy<Value = Vec<u8>> {
        let send = (any::<u16>(), any::<[u8; 4]>(), analog_value(), any::<u8>(), any::<bool>())
            .prop_map(|(id, intervals, change, discrete_type, analog)| {
                let mut out = Vec::from([0x00]);
                out.extend(id.to_le_bytes());
                if analog || DataType(discrete_type).is_analog() {
                    out.extend(change.get(..1).unwrap_or_default());
                    out.extend(intervals);
                    out.extend(change.get(1..).unwrap_or_default());
                } else {
                    out.push(discrete_type);
                    out.extend(intervals);
                }
                out
            });
        let receive = (any::<u16>(), any::<u16>()).prop_map(|(id, timeout)| {
            let mut out = Vec::from([0x01]);
            out.extend(id.to_le_bytes());
            out.extend(timeout.to_le_bytes());
            out
        });
        prop_oneof![send, receive]
    }

    fn status_record() -> impl Strategy<Value = Vec<u8>> {
        (prop_oneof![Just(0u8), any::<u8>()], configuration_record()).prop_map(|(status, rec)| {
            let mut out = Vec::from([status]);
            if status == 0 {
                out.extend(rec);
            } else {
                out.extend(rec.get(..3).unwrap_or_default());
            }
            out
        })
    }

    proptest! {
        #[test]
        fn roundtrip_random(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            check_roundtrip::<ConfigureReporting<'_>>(&bytes);
            check_roundtrip::<ConfigureReportingResponse<'_>>(&bytes);
            check_roundtrip::<ReadReportingConfiguration<'_>>(&bytes);
            check_roundtrip::<ReadReportingConfigurationResponse<'_>>(&bytes);
        }

        #[test]
        fn roundtrip_valid_configure(bytes in records(configuration_record())) {
            prop_assert!(check_roundtrip::<ConfigureReporting<'_>>(&bytes).is_some());
        }

        #[test]
        fn roundtrip_valid_read_response(bytes in records(status_record())) {
            prop_assert!(check_roundtrip::<ReadReportingConfigurationResponse<'_>>(&bytes).is_some());
        }
    }
}
