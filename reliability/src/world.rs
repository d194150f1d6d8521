//! A running set-up: the simulator, a broker, the gateway process and the portal, with grants
//! given and the simulated devices provisioned and paired over MQTT.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::broker::Mosquitto;
use crate::gw::{esi_id, meter, parties, Broker, Gateway, GwConfig, Party};
use crate::portal::{code, ok, Portal};
use crate::sim::{Sim, SimOptions};
use crate::{free_port, Context, Result};

/// Which broker a suite uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerKind {
    /// The suite's own Mosquitto on a free port.
    Mosquitto,
    /// The gateway's embedded rumqttd (it lives and dies with the gateway process).
    Embedded,
}

/// Options of [`World::start`].
#[derive(Debug, Clone)]
pub struct WorldOptions {
    pub name: String,
    pub sim: SimOptions,
    pub broker: BrokerKind,
    /// Extra `[mqtt]` lines (rates, limits).
    pub mqtt_extra: String,
    /// Extra top-level configuration.
    pub extra: String,
    /// Provision and pair every simulated device.
    pub pair: bool,
    /// Put the data directory on its own tmpfs of this many MiB (needs root).
    pub data_tmpfs_mib: Option<u32>,
}

impl WorldOptions {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            sim: SimOptions::default(),
            broker: BrokerKind::Mosquitto,
            mqtt_extra: "rate_per_second = 100000\nrate_burst = 100000\n".into(),
            extra: String::new(),
            pair: true,
            data_tmpfs_mib: None,
        }
    }
}

/// Everything of one suite run.
#[derive(Debug)]
pub struct World {
    /// Kept when `RELIABILITY_KEEP` is set (the path is printed).
    pub tmp: Option<tempfile::TempDir>,
    pub dir: PathBuf,
    pub sim: Sim,
    pub mosquitto: Option<Mosquitto>,
    pub broker: Broker,
    pub gateway: Gateway,
    pub cfg: GwConfig,
    pub portal: Portal,
    pub parties: Vec<Party>,
    pub root: String,
    /// The data directory's tmpfs, unmounted last.
    pub mount: Option<Mount>,
}

/// A tmpfs mounted by the suite; unmounted (lazily) on drop.
#[derive(Debug)]
pub struct Mount {
    pub path: PathBuf,
}

impl Mount {
    /// `mount -t tmpfs -o size=<mib>m tmpfs <path>`.
    pub fn tmpfs(path: &Path, mib: u32) -> Result<Self> {
        std::fs::create_dir_all(path).ctx("mount point")?;
        let st = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(path)
            .status()
            .ctx("run mount")?;
        if !st.success() {
            return Err(format!("mount tmpfs on {} failed ({st}): needs root", path.display()));
        }
        Ok(Self { path: path.to_path_buf() })
    }

    /// `mount -o remount,ro|rw`.
    pub fn remount(&self, read_only: bool) -> Result<()> {
        let opt = if read_only { "remount,ro" } else { "remount,rw" };
        let st = std::process::Command::new("mount")
            .args(["-o", opt])
            .arg(&self.path)
            .status()
            .ctx("run mount")?;
        if st.success() {
            Ok(())
        } else {
            Err(format!("mount -o {opt} failed: {st}"))
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

impl World {
    pub async fn start(o: &WorldOptions) -> Result<Self> {
        let tmp = tempfile::Builder::new()
            .prefix(&format!("rel-{}-", o.name))
            .tempdir()
            .ctx("temp dir")?;
        let dir = tmp.path().to_path_buf();
        let tmp = if std::env::var_os("RELIABILITY_KEEP").is_some() {
            eprintln!("keeping {}", dir.display());
            let _ = tmp.keep();
            None
        } else {
            Some(tmp)
        };
        let sim = Sim::start(&dir, &o.sim)?;
        let (mosquitto, broker) = match o.broker {
            BrokerKind::Mosquitto => {
                let m = Mosquitto::start(&dir)?;
                let port = m.port;
                (Some(m), Broker::External(port))
            }
            BrokerKind::Embedded => (None, Broker::Embedded(free_port()?, free_port()?)),
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let gw_id = format!("rel-{}-{}-{nanos}", o.name, std::process::id());
        let mut cfg = GwConfig::new(&dir, &gw_id, sim.links.clone(), broker);
        cfg.mqtt_extra.clone_from(&o.mqtt_extra);
        cfg.extra.clone_from(&o.extra);
        let mount = match o.data_tmpfs_mib {
            Some(mib) => Some(Mount::tmpfs(&cfg.data_dir, mib)?),
            None => None,
        };
        let parties = parties();
        let mut gateway = Gateway::new(&dir, &cfg, &parties)?;
        gateway.start()?;
        let root = format!("han/{gw_id}");
        let portal = Portal::connect(broker.port(), &root, &format!("portal-{}", o.name)).await?;
        portal.wait_online(0, Duration::from_secs(30)).await?;
        let mut w =
            Self { tmp, dir, sim, mosquitto, broker, gateway, cfg, portal, parties, root, mount };
        w.grants().await?;
        if o.pair {
            w.pair_all().await?;
        }
        Ok(w)
    }

    /// A party by id.
    pub fn party(&self, id: &str) -> Result<&Party> {
        self.parties.iter().find(|p| p.id == id).ctx(id)
    }

    pub fn esis(&self) -> usize {
        self.sim.links.len()
    }

    /// The TDSP may provision, deprovision and read; both REPs may message, price, run DR and
    /// read, on every ESI.
    async fn grants(&mut self) -> Result<()> {
        let ops = self.party("ops")?.clone();
        for e in 0..self.esis() {
            for (party, rights) in [
                ("tdsp", json!(["provision", "deprovision", "read"])),
                ("rep", json!(["message", "price", "drlc", "read"])),
                ("rep2", json!(["message", "price", "drlc", "read"])),
            ] {
                let body = json!({"party": party, "esi_id": esi_id(e), "meter_number": meter(e),
                                  "rights": rights});
                let r = self
                    .portal
                    .call(&ops, "grant/add", &body, &format!("g-{party}-{e}"), secs(30))
                    .await?;
                ok(&r)?;
            }
        }
        Ok(())
    }

    /// Provisions every simulated device (TDSP over MQTT), tells it to join, waits until all
    /// are paired.
    pub async fn pair_all(&mut self) -> Result<()> {
        self.pair(None, "prov").await
    }

    /// Provisions and pairs the devices of ESI `esi` (all with `None`); `tag` keeps the
    /// transactions unique.
    pub async fn pair(&self, esi: Option<usize>, tag: &str) -> Result<()> {
        let tdsp = self.party("tdsp")?.clone();
        let from = self.portal.mark();
        let devices: Vec<_> =
            self.sim.devices.iter().filter(|d| esi.is_none_or(|e| d.esi == e)).cloned().collect();
        for d in devices.clone() {
            let body = json!({"esi_id": esi_id(d.esi), "meter_number": meter(d.esi),
                "eui64": d.eui64, "install_code": d.install_code, "label": format!("{} {}", d.kind, d.n),
                "join_window_minutes": 60});
            // The coordinators may still be connecting: retry while offline.
            let mut tries = 0;
            loop {
                let r = self
                    .portal
                    .call(
                        &tdsp,
                        "device/provision",
                        &body,
                        &format!("{tag}-{}-{tries}", d.n),
                        secs(30),
                    )
                    .await?;
                if code(&r) == Some("COORDINATOR_OFFLINE") && tries < 100 {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                ok(&r)?;
                break;
            }
            self.sim.control(&format!("device {} rejoin", d.n))?;
        }
        for d in devices {
            let eui = d.eui64.clone();
            self.portal
                .wait_from(from, secs(90), &format!("device {} paired", d.n), |s| {
                    s.topic.ends_with("/event/device")
                        && s.json()["eui64"] == eui.as_str()
                        && s.json()["state"] == "paired"
                })
                .await?;
        }
        Ok(())
    }

    /// Restarts the gateway after a kill and waits for `online`.
    pub async fn restart(&mut self, timeout: Duration) -> Result<Duration> {
        let t0 = std::time::Instant::now();
        let from = self.portal.mark();
        self.gateway.start()?;
        self.portal.wait_online(from, timeout).await?;
        Ok(t0.elapsed())
    }

    /// Files to scan for secrets: gateway log, MQTT capture (written now), audit log, and the
    /// gateway's configuration is NOT included (it holds public keys only, but is the operator's).
    pub fn scan_targets(&self) -> Result<Vec<PathBuf>> {
        let capture = self.dir.join("mqtt-capture.txt");
        self.portal.dump(&capture)?;
        Ok(vec![
            self.gateway.log.clone(),
            capture,
            self.audit_log(),
            self.dir.join("mosquitto/mosquitto.log"),
        ])
    }

    pub fn audit_log(&self) -> PathBuf {
        self.cfg.data_dir.join("audit.log")
    }

    /// Verifies the audit chain (the library's `gateway audit verify`).
    pub fn verify_audit(&self) -> Result<u64> {
        let r =
            gateway::audit::verify(self.audit_log()).map_err(|e| format!("audit verify: {e}"))?;
        Ok(r.records)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Seconds.
pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The id (`message_id` or `request_id`) of an accepted request's answer.
pub fn request_id(data: &Value) -> Option<u64> {
    data["message_id"].as_u64().or_else(|| data["request_id"].as_u64())
}

impl Drop for World {
    fn drop(&mut self) {
        // The gateway first (it holds the data directory), then the tmpfs, then the temp dir.
        let _ = self.gateway.kill9();
        if self.tmp.is_none() {
            let _ = self.portal.dump(&self.dir.join("mqtt-capture.txt"));
        }
        drop(self.mount.take());
    }
}
