//! The benchmark frames of `benches/frames.json`, shared by the `codec` bench and the
//! `decode_loop` example (each includes this file with `#[path]`).

use zse::zcl::ClusterId;

/// Every frame of `frames.json` as (name, cluster, bytes with the ZCL header).
pub fn frames() -> Vec<(String, ClusterId, Vec<u8>)> {
    let json: serde_json::Value = serde_json::from_str(include_str!("../frames.json")).unwrap();
    json.as_object()
        .unwrap()
        .iter()
        .map(|(name, f)| {
            let cluster =
                u16::from_str_radix(f["cluster"].as_str().unwrap().trim_start_matches("0x"), 16)
                    .unwrap();
            let hex = f["hex"].as_str().unwrap();
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (name.clone(), ClusterId(cluster), bytes)
        })
        .collect()
}
