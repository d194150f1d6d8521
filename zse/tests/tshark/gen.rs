//! Seeded random SE traffic: ZCL commands of every covered cluster, foundation commands, and
//! the MAC/NWK/APS headers around them.

use super::fields::{Scope, CLUSTERS};
use serde_json::Value;
use zse::cluster::{basic, identify, messaging, ClusterCommand};
use zse::zcl::{
    foundation, AttributeId, Direction, Frame, FrameType, Header, Payload, Records, Status,
    UtcTime, ZclStr,
};

/// SplitMix64: small, seedable, good enough for test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn u8(&mut self) -> u8 {
        self.next_u64() as u8
    }
    pub fn u16(&mut self) -> u16 {
        self.next_u64() as u16
    }
    pub fn u32(&mut self) -> u32 {
        self.next_u64() as u32
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// Printable ASCII of 0..=max bytes, leaked so commands can borrow it for the whole test.
    pub fn text(&mut self, max: u64) -> &'static str {
        let len = self.below(max + 1);
        let s: String = (0..len).map(|_| char::from(0x20 + self.below(0x5F) as u8)).collect();
        Box::leak(s.into_boxed_str())
    }

    /// A value that is often one of the special ones SE uses (0, all-ones, "now"/"until changed").
    pub fn u32_edgy(&mut self) -> u32 {
        match self.below(6) {
            0 => 0,
            1 => u32::MAX,
            _ => self.u32(),
        }
    }
    pub fn u16_edgy(&mut self) -> u16 {
        match self.below(6) {
            0 => 0,
            1 => u16::MAX,
            _ => self.u16(),
        }
    }
}

/// One ZCL frame with what we expect tshark to find in it.
#[derive(Debug, Clone)]
pub struct ZclSample {
    pub cluster: u16,
    pub scope: Scope,
    /// The command name (`DisplayMessage`, `DefaultResponse`).
    pub command: &'static str,
    pub header: Header,
    /// The command's fields as our serde form (`{"message_id": 1, ...}`).
    pub fields: Value,
    pub bytes: Vec<u8>,
}

type Generator = fn(&mut Rng) -> Vec<ClusterCommand<'static>>;

/// Random commands of each covered cluster (every command at least once per call).
pub const GENERATORS: &[(u16, Generator)] = &[
    (basic::CLUSTER_ID, gen_basic),
    (identify::CLUSTER_ID, gen_identify),
    (messaging::CLUSTER_ID, gen_messaging),
];

fn gen_basic(_: &mut Rng) -> Vec<ClusterCommand<'static>> {
    vec![ClusterCommand::BasicClient(basic::ClientCommand::ResetToFactoryDefaults(
        basic::ResetToFactoryDefaults {},
    ))]
}

fn gen_identify(rng: &mut Rng) -> Vec<ClusterCommand<'static>> {
    vec![
        ClusterCommand::IdentifyClient(identify::ClientCommand::Identify(identify::Identify {
            identify_time: rng.u16_edgy(),
        })),
        ClusterCommand::IdentifyClient(identify::ClientCommand::IdentifyQuery(
            identify::IdentifyQuery {},
        )),
        ClusterCommand::IdentifyServer(identify::ServerCommand::IdentifyQueryResponse(
            identify::IdentifyQueryResponse { timeout: rng.u16_edgy() },
        )),
    ]
}

fn gen_messaging(rng: &mut Rng) -> Vec<ClusterCommand<'static>> {
    use messaging::{ClientCommand as C, ServerCommand as S};
    let message_control = messaging::MessageControl(rng.u8());
    let display = messaging::DisplayMessage {
        message_id: rng.u32_edgy(),
        message_control,
        start_time: UtcTime(rng.u32_edgy()),
        duration_in_minutes: rng.u16_edgy(),
        message: ZclStr::from_str(rng.text(40)),
        extended_message_control: rng.chance(30).then(|| rng.u8()),
    };
    let control = rng.chance(40).then(|| rng.u8());
    let confirmation = messaging::MessageConfirmation {
        message_id: rng.u32_edgy(),
        confirmation_time: UtcTime(rng.u32_edgy()),
        message_confirmation_control: control,
        message_response: control
            .filter(|_| rng.chance(50))
            .map(|_| ZclStr::from_str(rng.text(20))),
    };
    vec![
        ClusterCommand::MessagingServer(S::DisplayMessage(display)),
        ClusterCommand::MessagingServer(S::CancelMessage(messaging::CancelMessage {
            message_id: rng.u32_edgy(),
            message_control: messaging::MessageControl(if rng.chance(60) { 0 } else { rng.u8() }),
        })),
        ClusterCommand::MessagingClient(C::GetLastMessage(messaging::GetLastMessage {})),
        ClusterCommand::MessagingClient(C::MessageConfirmation(confirmation)),
    ]
}

/// Splits serde's `{"command": Name, "fields": {...}}` form.
fn command_json(v: &Value) -> (&'static str, Value) {
    let name = v["command"].as_str().expect("command name").to_owned();
    (Box::leak(name.into_boxed_str()), v["fields"].clone())
}

fn emit(frame: &Frame<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; frame.buffer_len()];
    let n = frame.emit(&mut buf).expect("emit ZCL frame");
    assert_eq!(n, buf.len());
    buf
}

/// A ZCL frame for a cluster command, with a random TSN and disable-default-response bit.
pub fn cluster_sample(rng: &mut Rng, command: &ClusterCommand<'static>) -> ZclSample {
    let frame = Frame::cluster(command.clone(), rng.u8(), rng.chance(50));
    let (name, fields) = command_json(&serde_json::to_value(command).expect("serialize"));
    ZclSample {
        cluster: command.cluster_id().0,
        scope: Scope::Cluster(command.cluster_id().0),
        command: name,
        header: frame.header,
        fields,
        bytes: emit(&frame),
    }
}

/// Random foundation commands (every one at least once), each on a random covered cluster.
pub fn foundation_samples(rng: &mut Rng) -> Vec<ZclSample> {
    let ids: Vec<AttributeId> = (0..=rng.below(4)).map(|_| AttributeId(rng.u16())).collect();
    let ids: &'static [AttributeId] = Box::leak(ids.into_boxed_slice());
    let commands = [
        foundation::Command::ReadAttributes(foundation::ReadAttributes {
            attribute_ids: Records::Slice(ids),
        }),
        foundation::Command::DefaultResponse(foundation::DefaultResponse {
            command_id: rng.u8(),
            status: {
                let any = Status(rng.u8());
                rng.pick(&[Status::SUCCESS, Status::NOT_FOUND, Status::UNSUP_CLUSTER_COMMAND, any])
            },
        }),
    ];
    commands
        .into_iter()
        .map(|command| {
            let cluster = rng.pick(CLUSTERS).id;
            let header = Header {
                frame_type: FrameType::Global,
                manufacturer_code: None,
                direction: if rng.chance(50) {
                    Direction::ServerToClient
                } else {
                    Direction::ClientToServer
                },
                disable_default_response: rng.chance(50),
                tsn: rng.u8(),
                command_id: command.command_id(),
            };
            let frame = Frame { header, payload: Payload::Foundation(command.clone()) };
            let (name, fields) = command_json(&serde_json::to_value(&command).expect("serialize"));
            ZclSample {
                cluster,
                scope: Scope::Foundation,
                command: name,
                header,
                fields,
                bytes: emit(&frame),
            }
        })
        .collect()
}

/// A manufacturer-specific cluster command (opaque payload) on a random covered cluster, to
/// exercise the ZCL header's manufacturer code.
pub fn manufacturer_sample(rng: &mut Rng) -> ZclSample {
    let cluster = rng.pick(CLUSTERS).id;
    let payload: Vec<u8> = (0..rng.below(8)).map(|_| rng.u8()).collect();
    let payload: &'static [u8] = Box::leak(payload.into_boxed_slice());
    let header = Header {
        frame_type: FrameType::ClusterSpecific,
        manufacturer_code: Some(rng.u16()),
        direction: if rng.chance(50) {
            Direction::ServerToClient
        } else {
            Direction::ClientToServer
        },
        disable_default_response: rng.chance(50),
        tsn: rng.u8(),
        command_id: rng.u8(),
    };
    let frame = Frame { header, payload: Payload::Unknown(payload) };
    ZclSample {
        cluster,
        scope: Scope::Cluster(cluster),
        command: MANUFACTURER_SPECIFIC,
        header,
        fields: Value::Object(serde_json::Map::new()),
        bytes: emit(&frame),
    }
}

/// The command name used for [`manufacturer_sample`]s.
pub const MANUFACTURER_SPECIFIC: &str = "(manufacturer-specific)";

/// One round: every generator once, every foundation command once.
pub fn zcl_round(rng: &mut Rng) -> Vec<ZclSample> {
    let mut out = Vec::new();
    for (_, generate) in GENERATORS {
        for command in generate(rng) {
            out.push(cluster_sample(rng, &command));
        }
    }
    out.extend(foundation_samples(rng));
    out.push(manufacturer_sample(rng));
    out
}
