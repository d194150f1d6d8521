//! The ZigBee stack under each station, as far as the simulation needs one: for an ESI, the
//! trust-centre key table the core fills with `InstallKey` / `EraseKey`, the joined devices and
//! their short addresses, sequence numbers and APS acknowledgement/retry/duplicate state; for a
//! device, its sequence numbers and APS state.
//!
//! The join check ([`Radio::authenticate`]) is where a wrong install code shows: the device's
//! credential (key-transport key of its own link key, se10.md §8.3) must equal the one derived
//! from the key the ESI installed for that EUI-64.

use crate::medium::{AirBody, AirFrame, ApsDedupe, ApsRetry, Station};
use crate::rng::SimRng;
use firmware::esi::{ApsFrame, ApsHandle, ApsSecurity, LinkKey};
use std::collections::BTreeMap;
use zse::security::{key_transport_key, Key128};
use zse::zcl::Eui64;

/// One ESI's radio.
#[derive(Debug)]
pub struct Radio {
    pub esi: usize,
    pub pan_id: u16,
    pub eui64: Eui64,
    pub network_key: [u8; 16],
    /// Trust-centre link keys by EUI-64.
    key_table: BTreeMap<Eui64, LinkKey>,
    /// Joined devices: EUI-64 → (short address, device index).
    members: BTreeMap<Eui64, (u16, usize)>,
    pub retry: ApsRetry<ApsHandle>,
    pub dedupe: ApsDedupe,
    mac_seq: u8,
    nwk_seq: u8,
    aps_counter: u8,
}

/// Why the stack turned a device away before asking the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    NoKey,
    KeyMismatch,
}

impl Radio {
    pub fn new(esi: usize, pan_id: u16, eui64: Eui64, network_key: [u8; 16]) -> Self {
        Self {
            esi,
            pan_id,
            eui64,
            network_key,
            key_table: BTreeMap::new(),
            members: BTreeMap::new(),
            retry: ApsRetry::new(),
            dedupe: ApsDedupe::default(),
            mac_seq: 0,
            nwk_seq: 0,
            aps_counter: 0,
        }
    }

    pub fn install_key(&mut self, eui64: Eui64, key: LinkKey) {
        self.key_table.insert(eui64, key);
    }

    pub fn erase_key(&mut self, eui64: Eui64) {
        self.key_table.remove(&eui64);
    }

    pub fn has_key(&self, eui64: Eui64) -> bool {
        self.key_table.contains_key(&eui64)
    }

    /// Checks a joining device's credential against the key table.
    pub fn authenticate(&self, eui64: Eui64, credential: Option<&Key128>) -> Result<(), AuthError> {
        let key = self.key_table.get(&eui64).ok_or(AuthError::NoKey)?;
        let expected = key_transport_key(&Key128::new(*key.expose()));
        match credential {
            Some(c) if *c == expected => Ok(()),
            _ => Err(AuthError::KeyMismatch),
        }
    }

    /// A fresh short address (stochastic addressing), unique in the PAN.
    pub fn allocate_short(&self, rng: &mut SimRng) -> u16 {
        loop {
            let s = (rng.range(0x0001, 0xFFF7)) as u16;
            if !self.members.values().any(|m| m.0 == s) {
                return s;
            }
        }
    }

    pub fn add_member(&mut self, eui64: Eui64, short: u16, device: usize) {
        self.members.insert(eui64, (short, device));
    }

    pub fn remove_member(&mut self, eui64: Eui64) -> Option<(u16, usize)> {
        self.members.remove(&eui64)
    }

    pub fn member(&self, eui64: Eui64) -> Option<(u16, usize)> {
        self.members.get(&eui64).copied()
    }

    pub fn member_by_device(&self, device: usize) -> Option<Eui64> {
        self.members.iter().find(|(_, m)| m.1 == device).map(|(e, _)| *e)
    }

    fn seqs(&mut self) -> (u8, u8) {
        self.mac_seq = self.mac_seq.wrapping_add(1);
        self.nwk_seq = self.nwk_seq.wrapping_add(1);
        (self.mac_seq, self.nwk_seq)
    }

    /// The air frame for an APS data request of the core.
    pub fn data_frame(&mut self, f: &ApsFrame) -> AirFrame {
        let (mac_seq, nwk_seq) = self.seqs();
        self.aps_counter = self.aps_counter.wrapping_add(1);
        let to = match self.members.get(&f.dst_eui64) {
            Some(&(_, d)) => Station::Device(d),
            None => Station::Device(usize::MAX),
        };
        AirFrame {
            pan_id: self.pan_id,
            from: Station::Esi(self.esi),
            to,
            src_short: 0x0000,
            dst_short: f.dst_short,
            src_eui64: self.eui64,
            dst_eui64: Some(f.dst_eui64),
            mac_seq,
            nwk_seq,
            body: AirBody::Data {
                src_endpoint: f.src_endpoint,
                dst_endpoint: f.dst_endpoint,
                cluster: f.cluster,
                profile: f.profile,
                aps_counter: self.aps_counter,
                ack_requested: f.ack_requested,
                security: if f.aps_encryption {
                    ApsSecurity::LinkKey
                } else {
                    ApsSecurity::NetworkOnly
                },
                zcl: f.payload.to_vec(),
            },
        }
    }

    /// The APS ack for a data frame received from a device.
    pub fn ack_for(&mut self, received: &AirFrame) -> Option<AirFrame> {
        let (mac_seq, nwk_seq) = self.seqs();
        ack(received, self.eui64, 0x0000, mac_seq, nwk_seq)
    }
}

/// The APS acknowledgement of `received`, sent back by its receiver.
pub fn ack(
    received: &AirFrame,
    own_eui64: Eui64,
    own_short: u16,
    mac_seq: u8,
    nwk_seq: u8,
) -> Option<AirFrame> {
    let AirBody::Data {
        src_endpoint,
        dst_endpoint,
        cluster,
        profile,
        aps_counter,
        ack_requested: true,
        ..
    } = received.body
    else {
        return None;
    };
    Some(AirFrame {
        pan_id: received.pan_id,
        from: received.to,
        to: received.from,
        src_short: own_short,
        dst_short: received.src_short,
        src_eui64: own_eui64,
        dst_eui64: Some(received.src_eui64),
        mac_seq,
        nwk_seq,
        body: AirBody::Ack {
            src_endpoint: dst_endpoint,
            dst_endpoint: src_endpoint,
            cluster,
            profile,
            aps_counter,
        },
    })
}

/// One device's radio state.
#[derive(Debug, Default)]
pub struct DeviceRadio {
    pub retry: ApsRetry<()>,
    pub dedupe: ApsDedupe,
    mac_seq: u8,
    nwk_seq: u8,
    aps_counter: u8,
    /// Frames that got no APS ack after all retries.
    pub failed: u64,
}

impl DeviceRadio {
    pub fn seqs(&mut self) -> (u8, u8) {
        self.mac_seq = self.mac_seq.wrapping_add(1);
        self.nwk_seq = self.nwk_seq.wrapping_add(1);
        (self.mac_seq, self.nwk_seq)
    }

    pub fn next_aps_counter(&mut self) -> u8 {
        self.aps_counter = self.aps_counter.wrapping_add(1);
        self.aps_counter
    }

    pub fn reset(&mut self) {
        self.retry.clear();
        self.dedupe.clear();
    }
}
