//! The radio side of a step: frames arriving at ESIs and devices, APS acknowledgements and
//! retries, joins, and the ESI cores' radio actions.

use super::Sim;
use crate::device::{JoinFailure, Outgoing};
use crate::medium::{AirBody, AirFrame, Delivery, RetryStep, Station};
use crate::node::RadioAction;
use crate::radio::{self, AuthError};
use firmware::esi::{ApsIndication, ApsSecurity, ApsStatus, JoinDecision};
use zse::zcl::SE_PROFILE_ID;

/// The SE endpoint every simulated device uses.
pub const DEVICE_ENDPOINT: u8 = 1;
/// The ESI's SE endpoint (`EsiConfig::default().endpoint`).
pub const ESI_ENDPOINT: u8 = 1;

impl Sim {
    /// A frame arrived.
    pub(super) fn deliver(&mut self, now: u64, d: Delivery) {
        let Delivery { frame, lqi } = d;
        match frame.to {
            Station::Esi(e) => self.deliver_to_esi(now, e, &frame, lqi),
            Station::Device(i) => self.deliver_to_device(now, i, &frame),
        }
    }

    fn deliver_to_esi(&mut self, now: u64, e: usize, frame: &AirFrame, lqi: u8) {
        let Some(rt) = self.esis.get_mut(e) else { return };
        match &frame.body {
            AirBody::Ack { aps_counter, .. } => {
                if let Some(handle) = rt.radio.retry.acked(frame.from, *aps_counter) {
                    rt.node.handle_aps_confirm(now, handle, ApsStatus::SUCCESS);
                }
            }
            AirBody::Data {
                src_endpoint,
                dst_endpoint,
                cluster,
                profile,
                aps_counter,
                security,
                zcl,
                ..
            } => {
                // Only members hold the network key: anything else is dropped by NWK security.
                if rt.radio.member(frame.src_eui64).is_none() {
                    return;
                }
                let fresh = rt.radio.dedupe.is_new(now, frame.from, *aps_counter);
                if let Some(ack) = rt.radio.ack_for(frame) {
                    self.medium.transmit(now, ack);
                }
                if !fresh {
                    return;
                }
                let ind = ApsIndication {
                    src_short: frame.src_short,
                    src_eui64: Some(frame.src_eui64),
                    src_endpoint: *src_endpoint,
                    dst_endpoint: *dst_endpoint,
                    cluster: *cluster,
                    profile: *profile,
                    security: *security,
                    broadcast: false,
                    lqi: Some(lqi),
                    payload: zcl,
                };
                rt.node.handle_aps_indication(now, ind);
            }
        }
    }

    fn deliver_to_device(&mut self, now: u64, i: usize, frame: &AirFrame) {
        let (Some(dev), Some(r)) = (self.devices.get_mut(i), self.dev_radios.get_mut(i)) else {
            return;
        };
        let Some(short) = dev.short() else { return };
        match &frame.body {
            AirBody::Ack { aps_counter, .. } => {
                r.retry.acked(frame.from, *aps_counter);
            }
            AirBody::Data { cluster, aps_counter, zcl, .. } => {
                let fresh = r.dedupe.is_new(now, frame.from, *aps_counter);
                let (mac, nwk) = r.seqs();
                if let Some(ack) = radio::ack(frame, dev.spec.eui64, short, mac, nwk) {
                    self.medium.transmit(now, ack);
                }
                if fresh {
                    dev.handle_frame(now, *cluster, zcl);
                }
            }
        }
    }

    /// APS retransmissions and give-ups due at `now`.
    pub(super) fn run_retries(&mut self, now: u64) {
        for e in 0..self.esis.len() {
            let steps = self
                .esis
                .get_mut(e)
                .map(|rt| rt.radio.retry.handle_timeout(now))
                .unwrap_or_default();
            for s in steps {
                match s {
                    RetryStep::Resend(f) => self.medium.transmit(now, f),
                    RetryStep::Failed(handle) => {
                        if let Some(rt) = self.esis.get_mut(e) {
                            rt.node.handle_aps_confirm(now, handle, ApsStatus::NO_ACK);
                        }
                    }
                }
            }
        }
        for i in 0..self.dev_radios.len() {
            let steps =
                self.dev_radios.get_mut(i).map(|r| r.retry.handle_timeout(now)).unwrap_or_default();
            for s in steps {
                match s {
                    RetryStep::Resend(f) => self.medium.transmit(now, f),
                    RetryStep::Failed(()) => {
                        if let Some(r) = self.dev_radios.get_mut(i) {
                            r.failed += 1;
                        }
                    }
                }
            }
        }
    }

    /// Device `i` tries to join its ESI's network.
    pub(super) fn join(&mut self, now: u64, i: usize) {
        let Some(dev) = self.devices.get(i) else { return };
        let (e, eui64, credential) = (dev.spec.esi, dev.spec.eui64, dev.credential());
        let name = dev.name();
        let Some(rt) = self.esis.get_mut(e) else { return };
        let short =
            rt.radio.member(eui64).map_or_else(|| rt.radio.allocate_short(&mut self.rng), |m| m.0);
        let result = match rt.radio.authenticate(eui64, credential.as_ref()) {
            Err(AuthError::KeyMismatch) => Err(JoinFailure::KeyMismatch),
            Err(AuthError::NoKey) => {
                // The stack asks the core anyway: it refuses and tells the host who knocked.
                match rt.node.handle_join_request(now, eui64, short) {
                    JoinDecision::Refuse | JoinDecision::Accept { .. } => {
                        Err(JoinFailure::NotProvisioned)
                    }
                }
            }
            Ok(()) => match rt.node.handle_join_request(now, eui64, short) {
                JoinDecision::Accept { link_key } if rt.radio.has_key(eui64) => {
                    let _ = link_key; // the network key travels under it; the device holds the same key
                    rt.radio.add_member(eui64, short, i);
                    Ok(short)
                }
                _ => Err(JoinFailure::Refused),
            },
        };
        let line = match result {
            Ok(s) => format!("{name} joined ESI {e} as 0x{s:04X}"),
            Err(f) => format!("{name} failed to join ESI {e}: {f}"),
        };
        if let Some(r) = self.dev_radios.get_mut(i) {
            r.reset();
        }
        if let Some(dev) = self.devices.get_mut(i) {
            dev.join_result(now, result);
        }
        self.note(line);
    }

    /// Device `i` left (fault, or told to): the stack forgets it and tells the core.
    pub(super) fn device_left(&mut self, now: u64, i: usize, rejoin_at: Option<u64>) {
        let Some(dev) = self.devices.get_mut(i) else { return };
        let (e, eui64) = (dev.spec.esi, dev.spec.eui64);
        let was_joined = dev.short().is_some();
        dev.leave(rejoin_at);
        if let Some(r) = self.dev_radios.get_mut(i) {
            r.reset();
        }
        self.medium.purge(Station::Device(i));
        if let Some(rt) = self.esis.get_mut(e) {
            rt.radio.remove_member(eui64);
            if was_joined {
                rt.node.handle_device_left(now, eui64);
            }
        }
    }

    /// A radio action of ESI `e`'s core.
    pub(super) fn radio_action(&mut self, now: u64, e: usize, action: RadioAction) {
        match action {
            RadioAction::SendAps(f) => {
                let Some(rt) = self.esis.get_mut(e) else { return };
                let frame = rt.radio.data_frame(&f);
                if f.ack_requested {
                    rt.radio.retry.sent(now, f.handle, frame.clone());
                }
                self.medium.transmit(now, frame);
                if !f.ack_requested {
                    if let Some(rt) = self.esis.get_mut(e) {
                        rt.node.handle_aps_confirm(now, f.handle, ApsStatus::SUCCESS);
                    }
                }
            }
            RadioAction::Leave { eui64, .. } => {
                let member = self.esis.get(e).and_then(|rt| rt.radio.member(eui64));
                if let Some((_, i)) = member {
                    // A removed device searches again later (and is refused without a key).
                    self.device_left(now, i, Some(now + 60_000));
                    let name =
                        self.devices.get(i).map(crate::device::Device::name).unwrap_or_default();
                    self.note(format!("{name} told to leave ESI {e}"));
                }
            }
            RadioAction::InstallKey { eui64, key } => {
                if let Some(rt) = self.esis.get_mut(e) {
                    rt.radio.install_key(eui64, key);
                }
            }
            RadioAction::EraseKey { eui64 } => {
                if let Some(rt) = self.esis.get_mut(e) {
                    rt.radio.erase_key(eui64);
                }
            }
        }
    }

    /// A ZCL frame from device `i` to its ESI.
    pub(super) fn device_send(&mut self, now: u64, i: usize, o: Outgoing) {
        let (Some(dev), Some(r)) = (self.devices.get(i), self.dev_radios.get_mut(i)) else {
            return;
        };
        let Some(short) = dev.short() else { return };
        let Some(rt) = self.esis.get(dev.spec.esi) else { return };
        let (mac_seq, nwk_seq) = r.seqs();
        let frame = AirFrame {
            pan_id: rt.radio.pan_id,
            from: Station::Device(i),
            to: Station::Esi(dev.spec.esi),
            src_short: short,
            dst_short: 0x0000,
            src_eui64: dev.spec.eui64,
            dst_eui64: Some(rt.radio.eui64),
            mac_seq,
            nwk_seq,
            body: AirBody::Data {
                src_endpoint: DEVICE_ENDPOINT,
                dst_endpoint: ESI_ENDPOINT,
                cluster: o.cluster,
                profile: SE_PROFILE_ID,
                aps_counter: r.next_aps_counter(),
                ack_requested: true,
                security: ApsSecurity::LinkKey,
                zcl: o.zcl,
            },
        };
        r.retry.sent(now, (), frame.clone());
        self.medium.transmit(now, frame);
    }
}
