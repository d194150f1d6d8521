//! Classic libpcap capture files (the `.pcap` format of tcpdump and Wireshark) for 802.15.4
//! frames, so that what the codec writes can be opened in Wireshark and checked by `tshark`.
//!
//! Format (libpcap "LINKTYPE" and file-format documentation): a 24-byte global header — magic
//! 0xA1B2C3D4 (microsecond timestamps), version 2.4, time-zone offset 0, accuracy 0, snapshot
//! length, link type — then per packet a 16-byte record header (seconds, microseconds, captured
//! length, original length) and the packet bytes. This writer writes little-endian; the
//! reader accepts both byte orders and nanosecond files.

use std::io::{self, Read, Write};
use std::time::Duration;
use std::vec::Vec;

use crate::wire::{Reader, Writer};

/// A codec error on a fixed-size header cannot happen; map it anyway instead of panicking.
fn to_io(e: crate::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// LINKTYPE_IEEE802_15_4_NOFCS: 802.15.4 MAC frames without the FCS (what the codec builds).
pub const LINKTYPE_IEEE802_15_4_NOFCS: u32 = 230;
/// LINKTYPE_IEEE802_15_4_WITHFCS: 802.15.4 MAC frames ending in the 2-byte FCS.
pub const LINKTYPE_IEEE802_15_4_WITHFCS: u32 = 195;
/// Magic number of a microsecond-resolution file.
pub const MAGIC_MICROS: u32 = 0xA1B2_C3D4;
/// Magic number of a nanosecond-resolution file.
pub const MAGIC_NANOS: u32 = 0xA1B2_3C4D;
pub const VERSION_MAJOR: u16 = 2;
pub const VERSION_MINOR: u16 = 4;
/// Snapshot length written in the global header (no 802.15.4 frame comes near it).
pub const SNAPLEN: u32 = 65_535;
pub const GLOBAL_HEADER_LEN: usize = 24;
pub const RECORD_HEADER_LEN: usize = 16;

/// Writes a capture file to any [`Write`].
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header for link type 230 (802.15.4 without FCS).
    pub fn new(out: W) -> io::Result<Self> {
        Self::with_linktype(out, LINKTYPE_IEEE802_15_4_NOFCS)
    }

    /// Writes the global header for another link type.
    pub fn with_linktype(mut out: W, linktype: u32) -> io::Result<Self> {
        let mut h = [0u8; GLOBAL_HEADER_LEN];
        let mut w = Writer::new(&mut h);
        w.u32(MAGIC_MICROS, "magic").map_err(to_io)?;
        w.u16(VERSION_MAJOR, "version_major").map_err(to_io)?;
        w.u16(VERSION_MINOR, "version_minor").map_err(to_io)?;
        w.i32(0, "thiszone").map_err(to_io)?; // timestamps are UTC
        w.u32(0, "sigfigs").map_err(to_io)?;
        w.u32(SNAPLEN, "snaplen").map_err(to_io)?;
        w.u32(linktype, "network").map_err(to_io)?;
        out.write_all(&h)?;
        Ok(Self { out })
    }

    /// Writes one packet captured at `timestamp` (time since the Unix epoch).
    pub fn write_packet(&mut self, timestamp: Duration, data: &[u8]) -> io::Result<()> {
        let secs = u32::try_from(timestamp.as_secs())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "timestamp after 2106"))?;
        let len = u32::try_from(data.len())
            .ok()
            .filter(|&l| l <= SNAPLEN)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "packet exceeds snaplen"))?;
        let mut h = [0u8; RECORD_HEADER_LEN];
        let mut w = Writer::new(&mut h);
        w.u32(secs, "ts_sec").map_err(to_io)?;
        w.u32(timestamp.subsec_micros(), "ts_usec").map_err(to_io)?;
        w.u32(len, "incl_len").map_err(to_io)?;
        w.u32(len, "orig_len").map_err(to_io)?;
        self.out.write_all(&h)?;
        self.out.write_all(data)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Returns the underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// One packet read back from a capture file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Time since the Unix epoch.
    pub timestamp: Duration,
    /// Length of the packet on the wire (≥ `data.len()` when the capture truncated it).
    pub orig_len: u32,
    pub data: Vec<u8>,
}

/// Reads a capture file (either byte order, micro- or nanosecond timestamps).
#[derive(Debug)]
pub struct PcapReader<R: Read> {
    input: R,
    big_endian: bool,
    nanos: bool,
    /// Link type from the global header.
    pub linktype: u32,
    pub snaplen: u32,
}

impl<R: Read> PcapReader<R> {
    /// Reads and checks the global header.
    pub fn new(mut input: R) -> io::Result<Self> {
        let mut h = [0u8; GLOBAL_HEADER_LEN];
        input.read_exact(&mut h)?;
        let mut r = Reader::new(&h);
        let (big_endian, nanos) = match r.u32("magic").map_err(to_io)? {
            MAGIC_MICROS => (false, false),
            MAGIC_NANOS => (false, true),
            m if m.swap_bytes() == MAGIC_MICROS => (true, false),
            m if m.swap_bytes() == MAGIC_NANOS => (true, true),
            _ => return Err(io::Error::new(io::ErrorKind::InvalidData, "not a pcap file")),
        };
        let order16 = |v: u16| if big_endian { v.swap_bytes() } else { v };
        let order32 = |v: u32| if big_endian { v.swap_bytes() } else { v };
        let major = order16(r.u16("version_major").map_err(to_io)?);
        if major != VERSION_MAJOR {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "unsupported pcap version"));
        }
        r.bytes(10, "version_minor, thiszone, sigfigs").map_err(to_io)?;
        let snaplen = order32(r.u32("snaplen").map_err(to_io)?);
        let linktype = order32(r.u32("network").map_err(to_io)?);
        Ok(Self { input, big_endian, nanos, linktype, snaplen })
    }

    /// The next packet, or `None` at a clean end of file.
    pub fn next_record(&mut self) -> io::Result<Option<Record>> {
        let mut h = [0u8; RECORD_HEADER_LEN];
        let (first, rest) = h.split_at_mut(1);
        match self.input.read_exact(first) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        self.input.read_exact(rest)?;
        let mut r = Reader::new(&h);
        let mut field = |name| {
            r.u32(name).map_err(to_io).map(|v| if self.big_endian { v.swap_bytes() } else { v })
        };
        let (secs, frac) = (field("ts_sec")?, field("ts_frac")?);
        let (incl_len, orig_len) = (field("incl_len")?, field("orig_len")?);
        if incl_len > self.snaplen.max(SNAPLEN) {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "record longer than snaplen"));
        }
        let mut data = std::vec![0u8; incl_len as usize];
        self.input.read_exact(&mut data)?;
        let nanos = if self.nanos { frac } else { frac.saturating_mul(1000) };
        let timestamp = Duration::new(u64::from(secs), 0) + Duration::from_nanos(u64::from(nanos));
        Ok(Some(Record { timestamp, orig_len, data }))
    }
}

impl<R: Read> Iterator for PcapReader<R> {
    type Item = io::Result<Record>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_header_bytes() {
        let w = PcapWriter::new(Vec::new()).unwrap();
        let bytes = w.into_inner();
        assert_eq!(
            bytes,
            [
                0xD4, 0xC3, 0xB2, 0xA1, // magic, little-endian
                0x02, 0x00, 0x04, 0x00, // version 2.4
                0, 0, 0, 0, // thiszone
                0, 0, 0, 0, // sigfigs
                0xFF, 0xFF, 0x00, 0x00, // snaplen 65535
                230, 0, 0, 0, // LINKTYPE_IEEE802_15_4_NOFCS
            ]
        );
    }

    #[test]
    fn record_header_and_read_back() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        let ts = Duration::new(0x5F00_0001, 123_456_789);
        w.write_packet(ts, &[0x02, 0x00, 0x07]).unwrap();
        w.write_packet(Duration::from_secs(1), &[]).unwrap();
        let bytes = w.into_inner();
        assert_eq!(
            bytes[24..43],
            [
                0x01, 0x00, 0x00, 0x5F, // seconds
                0x40, 0xE2, 0x01, 0x00, // 123456 µs
                3, 0, 0, 0, 3, 0, 0, 0, // captured and original length
                0x02, 0x00, 0x07,
            ]
        );
        let mut r = PcapReader::new(&bytes[..]).unwrap();
        assert_eq!((r.linktype, r.snaplen), (230, 65_535));
        let rec = r.next_record().unwrap().unwrap();
        assert_eq!(rec.timestamp, Duration::new(0x5F00_0001, 123_456_000));
        assert_eq!((rec.orig_len, rec.data.as_slice()), (3, &[0x02, 0x00, 0x07][..]));
        assert_eq!(r.next().unwrap().unwrap().data, Vec::<u8>::new());
        assert!(r.next().is_none());
    }

    #[test]
    fn reads_big_endian_nanosecond_files_and_refuses_garbage() {
        let mut f = Vec::new();
        f.extend_from_slice(&MAGIC_NANOS.to_be_bytes());
        f.extend_from_slice(&[0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0, 195]);
        f.extend_from_slice(&[0, 0, 0, 9, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 1, 0xAA]);
        let mut r = PcapReader::new(&f[..]).unwrap();
        assert_eq!(r.linktype, LINKTYPE_IEEE802_15_4_WITHFCS);
        let rec = r.next_record().unwrap().unwrap();
        assert_eq!((rec.timestamp, rec.data), (Duration::new(9, 5), std::vec![0xAA]));
        assert!(PcapReader::new(&[0u8; 24][..]).is_err());
        // A record cut short is an error, not a silent end.
        let mut r = PcapReader::new(&f[..f.len() - 1]).unwrap();
        assert!(r.next_record().is_err());
    }
}
