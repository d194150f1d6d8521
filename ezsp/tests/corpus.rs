//! The committed fuzz corpus (`ezsp/fuzz/corpus/<target>/*`) replayed as regression tests, and
//! the frames bellows' own encoders wrote (an independent implementation; `ezsp/tests/bellows/`,
//! also the fuzz seeds), which must parse here.
#![allow(clippy::unwrap_used, clippy::panic)]

use ezsp::ash::{Decoder, DecoderEvent, Frame};
use ezsp::ezsp::{Command, NcpFrame};
use std::path::Path;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target))
}

fn bellows(target: &str) -> Vec<Vec<u8>> {
    files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bellows").join(target))
}

fn files(dir: &Path) -> Vec<Vec<u8>> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        out.push(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(!out.is_empty(), "empty corpus {}", dir.display());
    out
}

#[test]
fn corpus_ash_decode() {
    for data in corpus("ash_decode") {
        ezsp::fuzz::ash_decode(&data);
    }
}

#[test]
fn corpus_ezsp_frame() {
    for data in corpus("ezsp_frame") {
        ezsp::fuzz::ezsp_frame(&data);
    }
}

/// Every frame bellows wrote parses: commands as commands (v8 and v13), NCP frames as NCP frames.
#[test]
fn bellows_frames_parse() {
    for data in bellows("ezsp_frame") {
        let is_response = data.get(1).is_some_and(|c| c & 0x80 != 0);
        if is_response {
            NcpFrame::decode(13, &data).unwrap_or_else(|e| panic!("{data:02x?}: {e}"));
        } else {
            for v in [8, 13] {
                Command::decode(v, &data).unwrap_or_else(|e| panic!("v{v} {data:02x?}: {e}"));
            }
        }
    }
    let mut frames = 0;
    for data in bellows("ash_decode") {
        Decoder::new().feed(&data, |ev| match ev {
            DecoderEvent::Frame(Frame::Data { data, .. }) => {
                frames += 1;
                Command::decode(8, &data).unwrap_or_else(|e| panic!("{data:02x?}: {e}"));
            }
            DecoderEvent::Frame(_) => frames += 1,
            DecoderEvent::Bad(e) if data.len() > 8 => panic!("bellows wrote a bad ASH frame? {e}"),
            _ => {}
        });
    }
    assert!(frames > 50);
}
