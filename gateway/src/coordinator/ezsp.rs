//! The `ezsp` coordinator kind: a Silicon Labs network co-processor (an EFR32 stick with stock
//! EmberZNet NCP firmware) on the serial port, and the `firmware` crate's coordinator (ESI core
//! + host-link endpoint) running here in the gateway with the NCP as its radio.
//!
//! [`open`] opens the port and starts a bridge task; it returns one end of an in-memory pipe
//! that speaks the host-link protocol, so the supervisor treats it exactly like a serial port
//! to a firmware coordinator. The bridge:
//!
//! * brings the NCP up (ASH reset, EZSP version negotiation, `networkInit`, or
//!   `setInitialSecurityState` + `formNetwork` when it holds no network, then `addEndpoint` for
//!   the SE endpoint), and only then starts the coordinator;
//! * runs the coordinator's radio actions as EZSP commands: `SendAps` → `sendUnicast` (APS
//!   acknowledgement and encryption as asked), `InstallKey` → transient key + `permitJoining`
//!   (refreshed while a provisioned device has not joined), `Leave` → `removeDevice`,
//!   `EraseKey` → forgotten here (the NCP's transient key expires on its own);
//! * feeds NCP callbacks back: `incomingMessageHandler` → APS indication, `messageSentHandler` →
//!   APS confirm, `trustCenterJoinHandler` → device joined / left.
//!
//! When the NCP resets or fails, or the port fails, the bridge ends and closes the pipe with the
//! reason logged: the supervisor sees the port lost, reports `COORDINATOR_OFFLINE`, requeues the
//! deliveries in flight and reopens (a new bridge, a new coordinator session, a resync).

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use ezsp::ash::LinkConfig as AshConfig;
use ezsp::ezsp::types::{aps_option, security_bitmask, INCOMING_BROADCAST, OUTGOING_DIRECT};
use ezsp::ezsp::{
    ApsFrame as EzApsFrame, Callback, Command, DeviceUpdate, EmberStatus, Eui64 as EzEui64,
    InitialSecurityState, JoinDecision, Key, NetworkParameters, Response, SendUnicast, SlStatus,
};
use ezsp::host::{Host, HostEvent};
use firmware::coordinator::{Coordinator, CoordinatorConfig as FwConfig, RadioAction};
use firmware::esi::{ApsHandle, ApsIndication, ApsSecurity, ApsStatus, Instant as FwInstant};
use firmware::host_link::MAX_WIRE_LEN;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::time::Instant;
use tokio_serial::SerialPortBuilderExt;
use tracing::{debug, info, warn};
use zse::zcl::{ClusterId, Eui64};

use crate::config::{CoordinatorConfig, EzspSettings};

/// The SE endpoint the coordinator answers on (`EsiConfig::default().endpoint`).
const SE_ENDPOINT: u8 = 1;
/// SE device id of an ESI (SE 1.0 §5.1).
const ESI_DEVICE_ID: u16 = 0x0500;
/// Server clusters of the ESI endpoint: Basic, Identify, Time, Price, DRLC, Metering, Messaging.
const ESI_CLUSTERS: [u16; 7] = [0x0000, 0x0003, 0x000A, 0x0700, 0x0701, 0x0702, 0x0703];
/// Longest `permitJoining` (255 is "forever", refused by R21+ stacks).
const PERMIT_S: u8 = 254;
/// Re-open joining and re-import transient keys this often while devices are awaited (the
/// NCP's transient keys expire after 300 s by default).
const REFRESH: Duration = Duration::from_secs(240);

/// Opens the NCP's port and starts the bridge; returns the host-link end of the pipe.
pub(super) fn open(cfg: &CoordinatorConfig, ezsp: EzspSettings) -> io::Result<DuplexStream> {
    let port = tokio_serial::new(cfg.port.to_string_lossy(), cfg.baud)
        .open_native_async()
        .map_err(io::Error::other)?;
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let mut keys = [[0u8; 16]; 2];
    random(&mut keys)?;
    let bridge = Bridge::new(ezsp, keys);
    tokio::spawn(async move {
        match Box::pin(bridge.run(port, theirs)).await {
            Ok(()) => debug!("ezsp bridge stopped"),
            Err(why) => warn!(error = %why, "ezsp coordinator stopped"),
        }
    });
    Ok(ours)
}

fn random(keys: &mut [[u8; 16]; 2]) -> io::Result<()> {
    use std::io::Read;
    let mut f = std::fs::File::open("/dev/urandom")?;
    for k in keys {
        f.read_exact(k)?;
    }
    Ok(())
}

/// What a command the bridge sent was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Setup,
    Send(ApsHandle),
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Starting,
    /// `networkInit` or `formNetwork` sent; waiting for NETWORK_UP.
    WaitingUp,
    Running,
}

struct Bridge {
    settings: EzspSettings,
    keys: [[u8; 16]; 2],
    start: Instant,
    host: Host,
    coord: Option<Coordinator>,
    phase: Phase,
    eui64: Eui64,
    purposes: BTreeMap<u8, Purpose>,
    /// Joined devices (short → EUI-64), from trust-centre callbacks.
    children: BTreeMap<u16, Eui64>,
    /// Keys installed for devices that have not joined yet (re-imported while awaited).
    awaited: BTreeMap<Eui64, [u8; 16]>,
    next_refresh: Option<Instant>,
    to_pipe: Vec<u8>,
}

impl Bridge {
    fn new(settings: EzspSettings, keys: [[u8; 16]; 2]) -> Self {
        Self {
            settings,
            keys,
            start: Instant::now(),
            host: Host::new(AshConfig::default(), ezsp::ezsp::MAX_VERSION),
            coord: None,
            phase: Phase::Starting,
            eui64: Eui64(0),
            purposes: BTreeMap::new(),
            children: BTreeMap::new(),
            awaited: BTreeMap::new(),
            next_refresh: None,
            to_pipe: Vec::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn at(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }

    async fn run(
        mut self,
        port: tokio_serial::SerialStream,
        pipe: DuplexStream,
    ) -> Result<(), String> {
        let (mut nrd, mut nwr) = tokio::io::split(port);
        let (mut prd, mut pwr) = tokio::io::split(pipe);
        let mut nbuf = vec![0u8; 1024];
        let mut pbuf = vec![0u8; 1024];
        self.host.start(self.now_ms());
        loop {
            self.step()?;
            while let Some(b) = self.host.poll_transmit() {
                nwr.write_all(&b).await.map_err(|e| format!("NCP port write failed: {e}"))?;
            }
            if !self.to_pipe.is_empty() {
                let bytes = std::mem::take(&mut self.to_pipe);
                if pwr.write_all(&bytes).await.is_err() {
                    return Ok(()); // the supervisor closed its end
                }
            }
            let wake = [
                self.host.poll_timeout().map(|t| self.at(t)),
                self.coord
                    .as_ref()
                    .and_then(Coordinator::poll_timeout)
                    .map(|t| self.at(t.as_millis())),
                self.next_refresh,
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
            tokio::select! {
                r = nrd.read(&mut nbuf) => match r {
                    Ok(0) => return Err("NCP port closed".into()),
                    Err(e) => return Err(format!("NCP port read failed: {e}")),
                    Ok(n) => { let now = self.now_ms(); self.host.handle_bytes(now, nbuf.get(..n).unwrap_or_default()); }
                },
                r = prd.read(&mut pbuf), if self.coord.is_some() => match r {
                    Ok(0) | Err(_) => return Ok(()),
                    Ok(n) => {
                        let now = self.now_ms();
                        if let Some(c) = self.coord.as_mut() { c.handle_serial_bytes(FwInstant(now), pbuf.get(..n).unwrap_or_default()); }
                    }
                },
                () = tokio::time::sleep_until(wake) => {
                    let now = self.now_ms();
                    self.host.handle_timeout(now);
                    if let Some(c) = self.coord.as_mut() { c.handle_timeout(FwInstant(now)); }
                    if self.next_refresh.is_some_and(|t| t <= Instant::now()) { self.refresh_joining(); }
                },
            }
        }
    }

    fn command(&mut self, cmd: Command, purpose: Purpose) -> Result<(), String> {
        let now = self.now_ms();
        let seq =
            self.host.command(now, cmd).map_err(|e| format!("EZSP command refused: {e:?}"))?;
        self.purposes.insert(seq, purpose);
        Ok(())
    }

    /// Handles every event and radio action until nothing moves.
    fn step(&mut self) -> Result<(), String> {
        loop {
            let mut moved = false;
            while let Some(ev) = self.host.poll_event() {
                moved = true;
                self.on_host_event(ev)?;
            }
            let actions: Vec<RadioAction> = match self.coord.as_mut() {
                Some(c) => std::iter::from_fn(|| c.poll_radio()).collect(),
                None => Vec::new(),
            };
            for a in actions {
                moved = true;
                self.on_radio_action(a)?;
            }
            if let Some(c) = self.coord.as_mut() {
                let mut buf = [0u8; MAX_WIRE_LEN];
                while let Some(n) = c.poll_serial_transmit(&mut buf) {
                    moved = true;
                    self.to_pipe.extend_from_slice(buf.get(..n).unwrap_or_default());
                }
            }
            if !moved {
                return Ok(());
            }
        }
    }

    fn on_host_event(&mut self, ev: HostEvent) -> Result<(), String> {
        match ev {
            HostEvent::Ready { version, stack_version } => {
                info!(version, stack_version = format!("{stack_version:04x}"), "EZSP NCP ready");
                self.command(Command::GetEui64, Purpose::Setup)?;
                self.command(Command::NetworkInit { bitmask: 0 }, Purpose::Setup)
            }
            HostEvent::NcpReset(code) => Err(format!("the NCP reset (reason {:#04x})", code.0)),
            HostEvent::Failed(f) => Err(format!("EZSP link failed: {f:?}")),
            HostEvent::Response { sequence, response } => {
                let purpose = self.purposes.remove(&sequence).unwrap_or(Purpose::Other);
                self.on_response(purpose, response)
            }
            HostEvent::Callback(c) => self.on_callback(c),
        }
    }

    fn on_response(&mut self, purpose: Purpose, r: Response) -> Result<(), String> {
        match (purpose, r) {
            (Purpose::Setup, Response::GetEui64 { eui64 }) => {
                self.eui64 = Eui64(eui64.to_u64());
                Ok(())
            }
            (Purpose::Setup, Response::NetworkInit { status })
                if status == EmberStatus::SUCCESS =>
            {
                self.phase = Phase::WaitingUp;
                Ok(())
            }
            (Purpose::Setup, Response::NetworkInit { status })
                if status == EmberStatus::NOT_JOINED =>
            {
                info!(channel = self.settings.channel, "the NCP holds no network: forming one");
                let state = InitialSecurityState {
                    bitmask: security_bitmask::HAVE_PRECONFIGURED_KEY
                        | security_bitmask::HAVE_NETWORK_KEY
                        | security_bitmask::REQUIRE_ENCRYPTED_KEY,
                    preconfigured_key: Key(self.keys[0]),
                    network_key: Key(self.keys[1]),
                    network_key_sequence_number: 0,
                    preconfigured_trust_center_eui64: EzEui64::default(),
                };
                self.command(Command::SetInitialSecurityState(state), Purpose::Setup)?;
                let pan_id = self
                    .settings
                    .pan_id
                    .unwrap_or(u16::from_le_bytes([self.keys[0][0], self.keys[0][1] & 0x3F]) | 1);
                let p = NetworkParameters {
                    extended_pan_id: EzEui64::from_u64(self.eui64.0).0,
                    pan_id,
                    radio_tx_power: self.settings.tx_power,
                    radio_channel: self.settings.channel,
                    channels: 1 << self.settings.channel,
                    ..NetworkParameters::default()
                };
                self.phase = Phase::WaitingUp;
                self.command(Command::FormNetwork(p), Purpose::Setup)
            }
            (
                Purpose::Setup,
                Response::NetworkInit { status }
                | Response::FormNetwork { status }
                | Response::SetInitialSecurityState { status },
            ) if status != EmberStatus::SUCCESS => {
                Err(format!("the NCP could not start the network: {status:?}"))
            }
            (Purpose::Setup, Response::AddEndpoint { status }) => {
                if status.0 != 0 {
                    // Already registered since the NCP's last reset: harmless.
                    debug!(?status, "addEndpoint");
                }
                self.phase = Phase::Running;
                let seed = (self.now_ms() as u32)
                    ^ u32::from_le_bytes([
                        self.keys[1][0],
                        self.keys[1][1],
                        self.keys[1][2],
                        self.keys[1][3],
                    ]);
                self.coord = Some(Coordinator::new(
                    FwConfig::new(self.eui64, seed),
                    firmware::esi::NoMetrology,
                ));
                info!(eui64 = %self.eui64, "ESI core running on the NCP");
                Ok(())
            }
            (Purpose::Send(handle), Response::SendUnicast { status, .. }) => {
                if status != EmberStatus::SUCCESS {
                    let now = self.now_ms();
                    if let Some(c) = self.coord.as_mut() {
                        c.handle_aps_confirm(FwInstant(now), handle, ApsStatus(status.0));
                    }
                }
                Ok(())
            }
            (_, Response::InvalidCommand { status }) => {
                warn!(?status, "the NCP refused a command");
                Ok(())
            }
            (_, Response::ImportTransientKey { status }) if status != SlStatus::OK => {
                warn!(?status, "importTransientKey failed");
                Ok(())
            }
            (_, r) => {
                debug!(?r, "EZSP response");
                Ok(())
            }
        }
    }

    fn on_callback(&mut self, c: Callback) -> Result<(), String> {
        let now = self.now_ms();
        match c {
            Callback::StackStatus { status }
                if status == EmberStatus::NETWORK_UP && self.phase == Phase::WaitingUp =>
            {
                let e = ezsp::ezsp::types::Endpoint {
                    endpoint: SE_ENDPOINT,
                    profile_id: zse::zcl::SE_PROFILE_ID,
                    device_id: ESI_DEVICE_ID,
                    device_version: 0,
                    input_clusters: ESI_CLUSTERS.to_vec(),
                    output_clusters: ESI_CLUSTERS.to_vec(),
                };
                self.command(Command::AddEndpoint(e), Purpose::Setup)
            }
            Callback::StackStatus { status }
                if status == EmberStatus::NETWORK_DOWN && self.phase == Phase::Running =>
            {
                Err("the NCP's network went down".into())
            }
            Callback::StackStatus { status } => {
                debug!(?status, "stack status");
                Ok(())
            }
            Callback::TrustCenterJoin { node_id, eui64, status, decision, .. } => {
                let eui = Eui64(eui64.to_u64());
                let Some(coord) = self.coord.as_mut() else { return Ok(()) };
                if status == DeviceUpdate::DEVICE_LEFT {
                    self.children.remove(&node_id);
                    coord.handle_device_left(FwInstant(now), eui);
                } else if decision != JoinDecision::DENY_JOIN {
                    self.children.insert(node_id, eui);
                    self.awaited.remove(&eui);
                    coord.handle_device_joined(FwInstant(now), eui, node_id);
                }
                Ok(())
            }
            Callback::ChildJoin { .. } => Ok(()),
            Callback::MessageSent(m) => {
                if let Some(c) = self.coord.as_mut() {
                    let status = if m.status == EmberStatus::SUCCESS {
                        ApsStatus::SUCCESS
                    } else {
                        ApsStatus::NO_ACK
                    };
                    c.handle_aps_confirm(FwInstant(now), ApsHandle(m.tag), status);
                }
                Ok(())
            }
            Callback::IncomingMessage(m) => {
                let src_eui64 = self.children.get(&m.sender).copied();
                if let Some(c) = self.coord.as_mut() {
                    let security = if m.aps.options & aps_option::ENCRYPTION != 0 {
                        ApsSecurity::LinkKey
                    } else {
                        ApsSecurity::NetworkOnly
                    };
                    c.handle_aps_indication(
                        FwInstant(now),
                        ApsIndication {
                            src_short: m.sender,
                            src_eui64,
                            src_endpoint: m.aps.source_endpoint,
                            dst_endpoint: m.aps.destination_endpoint,
                            cluster: ClusterId(m.aps.cluster_id),
                            profile: m.aps.profile_id,
                            security,
                            broadcast: m.kind == INCOMING_BROADCAST,
                            lqi: Some(m.last_hop_lqi),
                            payload: &m.message,
                        },
                    );
                }
                Ok(())
            }
        }
    }

    fn transient_key(&self, eui: Eui64, key: [u8; 16]) -> Command {
        let partner = EzEui64::from_u64(eui.0);
        if self.host.version() >= 12 {
            Command::ImportTransientKey { partner, key: Key(key), flags: 0 }
        } else {
            Command::AddTransientLinkKey { partner, key: Key(key) }
        }
    }

    fn refresh_joining(&mut self) {
        self.next_refresh = None;
        if self.awaited.is_empty() {
            return;
        }
        let keys: Vec<_> = self.awaited.iter().map(|(e, k)| (*e, *k)).collect();
        for (eui, key) in keys {
            let cmd = self.transient_key(eui, key);
            let _ = self.command(cmd, Purpose::Other);
        }
        let _ = self.command(Command::PermitJoining { duration: PERMIT_S }, Purpose::Other);
        self.next_refresh = Some(Instant::now() + REFRESH);
    }

    fn on_radio_action(&mut self, a: RadioAction) -> Result<(), String> {
        match a {
            RadioAction::SendAps(f) => {
                let mut options = aps_option::ENABLE_ROUTE_DISCOVERY;
                if f.ack_requested {
                    options |= aps_option::RETRY;
                }
                if f.aps_encryption {
                    options |= aps_option::ENCRYPTION;
                }
                let aps = EzApsFrame {
                    profile_id: f.profile,
                    cluster_id: f.cluster.0,
                    source_endpoint: f.src_endpoint,
                    destination_endpoint: f.dst_endpoint,
                    options,
                    group_id: 0,
                    sequence: 0,
                };
                let s = SendUnicast {
                    kind: OUTGOING_DIRECT,
                    destination: f.dst_short,
                    aps,
                    tag: f.handle.0,
                    message: f.payload.to_vec(),
                };
                self.command(Command::SendUnicast(s), Purpose::Send(f.handle))
            }
            RadioAction::InstallKey { eui64, key } => {
                self.awaited.insert(eui64, *key.expose());
                self.refresh_joining();
                Ok(())
            }
            RadioAction::EraseKey { eui64 } => {
                self.awaited.remove(&eui64);
                Ok(())
            }
            RadioAction::Leave { eui64, short } => {
                let short = short
                    .or_else(|| self.children.iter().find(|(_, e)| **e == eui64).map(|(s, _)| *s));
                let Some(short) = short else { return Ok(()) };
                let target = EzEui64::from_u64(eui64.0);
                self.command(
                    Command::RemoveDevice {
                        dest_short: short,
                        dest_long: target,
                        target_long: target,
                    },
                    Purpose::Other,
                )
            }
        }
    }
}
