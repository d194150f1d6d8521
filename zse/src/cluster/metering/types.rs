//! Meter Status bitmap and the Formatting-set enumerations (SE 1.0 §D.3.2.2.3–4; se10.md §6.3,
//! §6.6, §6.7). All are open newtypes: values this crate does not name survive a round trip.

use crate::field::newtype;

newtype! {
    /// Status attribute 0x0200, bitmap8 (SE 1.0 §D.3.2.2.3; se10.md §6.3). The bit meanings are
    /// the SE 1.0 generic/electric layout; SE 1.1+ gas, water and heat meters reuse bits 3–7 for
    /// other flags, so check [`MeteringDeviceType`] before interpreting them.
    pub struct MeterStatus(u8);
}

impl MeterStatus {
    /// Bit 0: a non-fatal problem; the meter should be checked.
    pub const CHECK_METER: u8 = 0x01;
    /// Bit 1.
    pub const LOW_BATTERY: u8 = 0x02;
    /// Bit 2.
    pub const TAMPER_DETECT: u8 = 0x04;
    /// Bit 3 (electric meters).
    pub const POWER_FAILURE: u8 = 0x08;
    /// Bit 4 (electric meters).
    pub const POWER_QUALITY: u8 = 0x10;
    /// Bit 5.
    pub const LEAK_DETECT: u8 = 0x20;
    /// Bit 6: the service (supply) disconnect switch is open.
    pub const SERVICE_DISCONNECT_OPEN: u8 = 0x40;
    /// Bit 7 is reserved in SE 1.0.
    pub const RESERVED_MASK: u8 = 0x80;

    /// Whether every bit of `mask` is set.
    pub const fn contains(self, mask: u8) -> bool {
        self.0 & mask == mask
    }
    pub const fn check_meter(self) -> bool {
        self.contains(Self::CHECK_METER)
    }
    pub const fn low_battery(self) -> bool {
        self.contains(Self::LOW_BATTERY)
    }
    pub const fn tamper_detect(self) -> bool {
        self.contains(Self::TAMPER_DETECT)
    }
    pub const fn power_failure(self) -> bool {
        self.contains(Self::POWER_FAILURE)
    }
    pub const fn power_quality(self) -> bool {
        self.contains(Self::POWER_QUALITY)
    }
    pub const fn leak_detect(self) -> bool {
        self.contains(Self::LEAK_DETECT)
    }
    pub const fn service_disconnect_open(self) -> bool {
        self.contains(Self::SERVICE_DISCONNECT_OPEN)
    }
}

newtype! {
    /// UnitOfMeasure attribute 0x0300, enum8 (SE 1.0 §D.3.2.2.4.1; se10.md §6.6); the Price
    /// cluster's PublishPrice uses the same values. Bit 7 set means the metered values are BCD
    /// instead of pure binary. SE 1.0 defines 0x00–0x07 and 0x80–0x87; 0x08–0x0C (and their BCD
    /// forms) are SE 1.1, 0x0D is SE 1.2.
    pub struct UnitOfMeasure(u8);
}

impl UnitOfMeasure {
    /// kWh (summation) / kW (demand), electric.
    pub const KWH: Self = Self(0x00);
    /// m³ / m³/h.
    pub const CUBIC_METER: Self = Self(0x01);
    /// ft³ / ft³/h.
    pub const CUBIC_FEET: Self = Self(0x02);
    /// ccf (100 ft³) / ccf/h.
    pub const CCF: Self = Self(0x03);
    /// US gallons / US gal/h.
    pub const US_GALLONS: Self = Self(0x04);
    /// Imperial gallons / IMP gal/h.
    pub const IMPERIAL_GALLONS: Self = Self(0x05);
    /// BTU / BTU/h.
    pub const BTU: Self = Self(0x06);
    /// Litres / l/h.
    pub const LITERS: Self = Self(0x07);
    /// kPa gauge (SE 1.1).
    pub const KPA_GAUGE: Self = Self(0x08);
    /// kPa absolute (SE 1.1).
    pub const KPA_ABSOLUTE: Self = Self(0x09);
    /// mcf (1000 ft³) (SE 1.1).
    pub const MCF: Self = Self(0x0A);
    /// Unitless (SE 1.1).
    pub const UNITLESS: Self = Self(0x0B);
    /// MJ / MJ/s (SE 1.1).
    pub const MEGA_JOULE: Self = Self(0x0C);
    /// kVarh / kVar (SE 1.2).
    pub const KVAR: Self = Self(0x0D);
    /// The BCD flag (bit 7).
    pub const BCD: u8 = 0x80;
    pub const KWH_BCD: Self = Self(0x80);
    pub const CUBIC_METER_BCD: Self = Self(0x81);
    pub const CUBIC_FEET_BCD: Self = Self(0x82);
    pub const CCF_BCD: Self = Self(0x83);
    pub const US_GALLONS_BCD: Self = Self(0x84);
    pub const IMPERIAL_GALLONS_BCD: Self = Self(0x85);
    pub const BTU_BCD: Self = Self(0x86);
    pub const LITERS_BCD: Self = Self(0x87);

    /// Whether the metered values are BCD-encoded (bit 7). [`super::Scaling`] works on binary
    /// values only; BCD values must be decoded first.
    pub const fn is_bcd(self) -> bool {
        self.0 & Self::BCD != 0
    }

    /// The same unit in pure binary form (bit 7 cleared).
    #[must_use]
    pub const fn binary(self) -> Self {
        Self(self.0 & !Self::BCD)
    }

    /// Unit of summation (energy / volume) values, e.g. "kWh"; `None` for values not in
    /// se10.md §6.6. BCD and binary forms have the same unit.
    pub const fn unit_name(self) -> Option<&'static str> {
        Some(match self.binary().0 {
            0x00 => "kWh",
            0x01 => "m³",
            0x02 => "ft³",
            0x03 => "ccf",
            0x04 => "US gal",
            0x05 => "IMP gal",
            0x06 => "BTU",
            0x07 => "l",
            0x08 | 0x09 => "kPa",
            0x0A => "mcf",
            0x0B => "",
            0x0C => "MJ",
            0x0D => "kVarh",
            _ => return None,
        })
    }

    /// Unit of demand (rate) values such as InstantaneousDemand, e.g. "kW".
    pub const fn demand_unit_name(self) -> Option<&'static str> {
        Some(match self.binary().0 {
            0x00 => "kW",
            0x01 => "m³/h",
            0x02 => "ft³/h",
            0x03 => "ccf/h",
            0x04 => "US gal/h",
            0x05 => "IMP gal/h",
            0x06 => "BTU/h",
            0x07 => "l/h",
            0x08 | 0x09 => "kPa",
            0x0A => "mcf/h",
            0x0B => "",
            0x0C => "MJ/s",
            0x0D => "kVar",
            _ => return None,
        })
    }
}

newtype! {
    /// MeteringDeviceType attribute 0x0306, bitmap8 used as an enumeration (SE 1.0
    /// §D.3.2.2.4.7; se10.md §6.7).
    pub struct MeteringDeviceType(u8);
}

impl MeteringDeviceType {
    pub const ELECTRIC_METERING: Self = Self(0);
    pub const GAS_METERING: Self = Self(1);
    pub const WATER_METERING: Self = Self(2);
    /// Deprecated by later revisions.
    pub const THERMAL_METERING: Self = Self(3);
    pub const PRESSURE_METERING: Self = Self(4);
    /// SE 1.1.
    pub const HEAT_METERING: Self = Self(5);
    /// SE 1.1.
    pub const COOLING_METERING: Self = Self(6);
    pub const MIRRORED_GAS_METERING: Self = Self(0x80);
    pub const MIRRORED_WATER_METERING: Self = Self(0x81);
    pub const MIRRORED_THERMAL_METERING: Self = Self(0x82);
    pub const MIRRORED_PRESSURE_METERING: Self = Self(0x83);
    pub const MIRRORED_HEAT_METERING: Self = Self(0x84);
    pub const MIRRORED_COOLING_METERING: Self = Self(0x85);

    /// Whether this is one of the mirrored types 0x80–0x85 (a sleepy meter's data hosted by an
    /// ESI mirror endpoint).
    pub const fn is_mirrored(self) -> bool {
        matches!(self.0, 0x80..=0x85)
    }

    /// The specification's name, if the value is one of se10.md §6.7.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "Electric Metering",
            1 => "Gas Metering",
            2 => "Water Metering",
            3 => "Thermal Metering",
            4 => "Pressure Metering",
            5 => "Heat Metering",
            6 => "Cooling Metering",
            0x80 => "Mirrored Gas Metering",
            0x81 => "Mirrored Water Metering",
            0x82 => "Mirrored Thermal Metering",
            0x83 => "Mirrored Pressure Metering",
            0x84 => "Mirrored Heat Metering",
            0x85 => "Mirrored Cooling Metering",
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_status_bits() {
        let s = MeterStatus(0x48);
        assert!(s.power_failure());
        assert!(s.service_disconnect_open());
        assert!(!s.check_meter() && !s.low_battery() && !s.tamper_detect());
        assert!(!s.power_quality() && !s.leak_detect());
        let all = MeterStatus(0x7F);
        assert!(all.check_meter() && all.low_battery() && all.tamper_detect() && all.leak_detect());
        assert!(all.power_quality());
        assert!(!MeterStatus(0x80).contains(MeterStatus::CHECK_METER));
    }

    #[test]
    fn unit_of_measure() {
        assert_eq!(UnitOfMeasure::KWH.unit_name(), Some("kWh"));
        assert_eq!(UnitOfMeasure::KWH.demand_unit_name(), Some("kW"));
        assert!(!UnitOfMeasure::KWH.is_bcd());
        assert!(UnitOfMeasure::KWH_BCD.is_bcd());
        assert_eq!(UnitOfMeasure::KWH_BCD.unit_name(), Some("kWh"));
        assert_eq!(UnitOfMeasure::LITERS_BCD.binary(), UnitOfMeasure::LITERS);
        assert_eq!(UnitOfMeasure(0x01).unit_name(), Some("m³"));
        assert_eq!(UnitOfMeasure(0x0E).unit_name(), None);
        assert_eq!(UnitOfMeasure(0xFF).demand_unit_name(), None);
    }

    #[test]
    fn device_type() {
        assert!(MeteringDeviceType(0x80).is_mirrored());
        assert!(MeteringDeviceType::MIRRORED_COOLING_METERING.is_mirrored());
        assert!(!MeteringDeviceType::ELECTRIC_METERING.is_mirrored());
        assert_eq!(MeteringDeviceType(1).name(), Some("Gas Metering"));
        assert_eq!(MeteringDeviceType(0x86).name(), None);
    }
}
