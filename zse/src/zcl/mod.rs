//! The ZigBee Cluster Library layer: header, data types, values, foundation commands, and the
//! frame-level dispatch to cluster commands.

mod data_type;
pub mod foundation;
mod frame;
mod header;
mod records;
mod string;
mod types;
mod value;

pub use data_type::DataType;
pub use frame::{Frame, Payload};
pub use header::{Direction, FrameType, FrameView, Header};
pub use records::{Record, RecordIter, Records};
pub use string::ZclStr;
pub use types::{AttributeId, ClusterId, Eui64, Status, UtcTime, SE_PROFILE_ID};
pub use value::{Collection, KeyValue, SignedN, Structure, TypedValue, Value, MAX_NESTING};
