//! Received APS frames: admission (profile, endpoint, known device, security), provisioning
//! progress, ZCL decoding and dispatch to the cluster servers, and the ZCL error rules:
//! * header does not decode → dropped (no TSN to answer with), counted as malformed;
//! * payload does not decode → Default Response MALFORMED_COMMAND (0x80);
//! * cluster the ESI does not serve → UNSUPPORTED_CLUSTER (0xC3);
//! * unknown cluster command → UNSUP_CLUSTER_COMMAND (0x81); unknown or unsupported foundation
//!   command → UNSUP_GENERAL_COMMAND (0x82); manufacturer-specific → UNSUP_MANUF_* (0x83/0x84);
//! * no Default Response to a Default Response or to a broadcast (ZCL §2.4.12);
//! * frames from devices not in the slot table are dropped unanswered and counted.
//!
//! Security policy (se10.md §10 "Security"): Price, DRLC, Metering and Messaging need APS
//! link-key security; Basic, Time and Key Establishment accept NWK security; nothing is
//! accepted without any security.

use super::action::{ApsIndication, ApsSecurity};
use super::attributes::is_served;
use super::clock::Instant;
use super::counters::bump;
use super::metering::Metrology;
use super::{Esi, ReplyTo};
use zse::cluster::ClusterCommand;
use zse::zcl::foundation::Command as Foundation;
use zse::zcl::{ClusterId, Direction, Frame, FrameType, Header, Payload, Status, SE_PROFILE_ID};

/// Clusters whose traffic must be APS-encrypted with the device's link key.
fn needs_link_key(cluster: ClusterId) -> bool {
    matches!(
        cluster,
        ClusterId::PRICE
            | ClusterId::DEMAND_RESPONSE_LOAD_CONTROL
            | ClusterId::METERING
            | ClusterId::MESSAGING
    )
}

/// Foundation command ids that are themselves responses (never answered).
fn is_foundation_response(id: u8) -> bool {
    matches!(id, 0x01 | 0x04 | 0x07 | 0x09 | 0x0A | 0x0B | 0x0D | 0x10 | 0x12 | 0x14 | 0x16)
}

impl<const SLOTS: usize, const EVENTS: usize, const PRICES: usize, M: Metrology>
    Esi<SLOTS, EVENTS, PRICES, M>
{
    /// An APS data indication from the radio.
    pub fn handle_aps_indication(&mut self, now: Instant, ind: ApsIndication<'_>) {
        self.now = now;
        self.expire(now);
        bump(&mut self.counters.rx_frames);
        let ours = ind.dst_endpoint == self.config.endpoint || ind.dst_endpoint == 0xFF;
        if ind.profile != SE_PROFILE_ID || !ours {
            return bump(&mut self.counters.rx_wrong_profile_or_endpoint);
        }
        let found = match ind.src_eui64 {
            Some(eui) => self.slots.find(eui),
            None => self.slots.find_short(ind.src_short),
        };
        let Some(index) = found else {
            return bump(&mut self.counters.rx_unknown_device);
        };
        if ind.security == ApsSecurity::None {
            return bump(&mut self.counters.rx_insecure);
        }
        let Some(slot) = self.slots.get_mut(index) else { return };
        if ind.src_eui64.is_some() {
            slot.short = Some(ind.src_short);
        }
        slot.endpoint = ind.src_endpoint;
        slot.last_seen = Some(now);
        slot.lqi = ind.lqi.or(slot.lqi);
        let eui64 = slot.eui64;
        self.note_frame(index, ind.cluster, ind.security);
        if needs_link_key(ind.cluster) && ind.security != ApsSecurity::LinkKey {
            return bump(&mut self.counters.rx_insecure);
        }
        let to = ReplyTo {
            short: ind.src_short,
            eui64,
            endpoint: ind.src_endpoint,
            our_endpoint: self.config.endpoint,
            cluster: ind.cluster,
            secure: ind.security == ApsSecurity::LinkKey,
            broadcast: ind.broadcast,
        };
        let Ok((header, _)) = Header::parse(ind.payload) else {
            return bump(&mut self.counters.rx_malformed);
        };
        self.dispatch(&to, &header, ind.payload);
    }

    fn dispatch(&mut self, to: &ReplyTo, header: &Header, frame: &[u8]) {
        if !is_served(to.cluster) {
            if !(header.frame_type == FrameType::Global
                && is_foundation_response(header.command_id))
            {
                bump(&mut self.counters.rx_unsupported);
                self.error_response(to, header, Status::UNSUPPORTED_CLUSTER);
            }
            return;
        }
        if header.manufacturer_code.is_some() {
            bump(&mut self.counters.rx_unsupported);
            let status = match header.frame_type {
                FrameType::Global => Status::UNSUP_MANUF_GENERAL_COMMAND,
                FrameType::ClusterSpecific => Status::UNSUP_MANUF_CLUSTER_COMMAND,
            };
            return self.error_response(to, header, status);
        }
        if header.frame_type == FrameType::ClusterSpecific {
            return self.cluster_specific(to, header, frame);
        }
        let Ok(parsed) = Frame::parse(to.cluster, frame) else {
            bump(&mut self.counters.rx_malformed);
            return self.error_response(to, header, Status::MALFORMED_COMMAND);
        };
        match parsed.payload {
            Payload::Foundation(Foundation::ReadAttributes(ra)) => {
                self.read_attributes(to, header, &ra);
            }
            Payload::Foundation(Foundation::DefaultResponse(dr)) => {
                // Answers one of our pushes (or nothing we track); never answered itself.
                self.deliveries.on_default_response(
                    to.eui64,
                    to.cluster,
                    header.tsn,
                    dr.command_id,
                    dr.status,
                );
            }
            _ if is_foundation_response(header.command_id) => {}
            _ => {
                bump(&mut self.counters.rx_unsupported);
                self.error_response(to, header, Status::UNSUP_GENERAL_COMMAND);
            }
        }
    }

    fn cluster_specific(&mut self, to: &ReplyTo, header: &Header, frame: &[u8]) {
        let unsupported = |esi: &mut Self| {
            bump(&mut esi.counters.rx_unsupported);
            esi.error_response(to, header, Status::UNSUP_CLUSTER_COMMAND);
        };
        // The ESI is the server of every cluster it serves, so it accepts only client commands,
        // and only on Price, DRLC and Messaging: Basic, Time and Metering commands (the latter
        // are for mirrors and profiles, which this ESI does not offer) and Key Establishment
        // (CBKE is the stack's job) are unsupported whatever their payload.
        let implemented = matches!(
            to.cluster,
            ClusterId::PRICE | ClusterId::DEMAND_RESPONSE_LOAD_CONTROL | ClusterId::MESSAGING
        );
        if header.direction != Direction::ClientToServer || !implemented {
            return unsupported(self);
        }
        let command = match Frame::parse(to.cluster, frame) {
            Ok(Frame { payload: Payload::Cluster(c), .. }) => c,
            Ok(_) => return unsupported(self),
            Err(_) => {
                bump(&mut self.counters.rx_malformed);
                return self.error_response(to, header, Status::MALFORMED_COMMAND);
            }
        };
        match command {
            ClusterCommand::PriceClient(c) => self.on_price_client(to, header, &c),
            ClusterCommand::DrlcClient(c) => self.on_drlc_client(to, header, &c),
            ClusterCommand::MessagingClient(c) => self.on_messaging_client(to, header, &c),
            _ => unsupported(self),
        }
    }
}
