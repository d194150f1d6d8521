//! Reliability and security suites for the gateway (issue 10, `docs/reliability.md`).
//!
//! Every suite runs the real binaries: `esi-sim` (simulated ESIs behind ptys, fault plans, a
//! control socket), `gateway run` (a spawned process that can be killed with SIGKILL), and a
//! broker (a private Mosquitto on a free 127.0.0.1 port started from a temporary configuration,
//! or the gateway's embedded rumqttd). A portal-side MQTT 5 client signs requests (JWS ES256)
//! as the configured parties. Each suite is a library function returning a [`report::Report`];
//! the binaries (`crash`, `serial`, `outage`, `storage`, `abuse`) run the long forms and the
//! tests in `tests/` the short ones.

// The suites read and build JSON with `serde_json::Value` indexing, which returns `Null` for a
// missing key instead of panicking (bodies written are objects built by `json!`); clippy's
// `indexing_slicing` cannot tell that from slice indexing. The suites are linear scripts of
// steps and checks; splitting them to satisfy `too_many_lines` would hide their order.
#![allow(clippy::indexing_slicing, clippy::too_many_lines, clippy::many_single_char_names)]

pub mod bins;
pub mod broker;
pub mod gw;
pub mod portal;
pub mod report;
pub mod secrets;
pub mod sim;
pub mod suites;
pub mod world;

/// Errors of the harness and of the checks: a sentence saying what failed.
pub type Result<T, E = String> = core::result::Result<T, E>;

/// Formats any error as the harness's error string, with a context.
pub trait Context<T> {
    fn ctx(self, what: &str) -> Result<T>;
}

impl<T, E: std::fmt::Display> Context<T> for core::result::Result<T, E> {
    fn ctx(self, what: &str) -> Result<T> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

impl<T> Context<T> for Option<T> {
    fn ctx(self, what: &str) -> Result<T> {
        self.ok_or_else(|| format!("{what}: missing"))
    }
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").ctx("bind 127.0.0.1:0")?;
    Ok(l.local_addr().ctx("local_addr")?.port())
}

/// Polls `f` every 50 ms until it returns `Some`, or fails after `timeout`.
pub async fn wait_until<T, F, Fut>(timeout: std::time::Duration, what: &str, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return Ok(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("timed out after {timeout:?} waiting for {what}"));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A small seeded PRNG (SplitMix64) for kill moments and load mixes: runs replay by seed.
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

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }
}
