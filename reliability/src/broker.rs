//! A private Mosquitto for one suite: its own port on 127.0.0.1, its own configuration and
//! persistence directory in the suite's temporary directory. It is stopped and started by the
//! suite (SIGTERM: Mosquitto saves its persistence file, as a service restart does). The system
//! Mosquitto on 1883 is never touched.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{free_port, Context, Result};

/// A Mosquitto process owned by the suite.
#[derive(Debug)]
pub struct Mosquitto {
    pub port: u16,
    conf: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Mosquitto {
    /// Writes the configuration into `dir` and starts the broker.
    pub fn start(dir: &Path) -> Result<Self> {
        let port = free_port()?;
        let data = dir.join("mosquitto");
        std::fs::create_dir_all(&data).ctx("mosquitto dir")?;
        let conf = data.join("mosquitto.conf");
        let text = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n\
             persistence_location {}/\nautosave_interval 1\nmax_queued_messages 0\n\
             max_inflight_messages 100\nlog_dest stdout\nlog_type error\nlog_type warning\n",
            data.display()
        );
        std::fs::write(&conf, text).ctx("write mosquitto.conf")?;
        let mut m = Self { port, conf, log: data.join("mosquitto.log"), child: None };
        m.resume()?;
        Ok(m)
    }

    /// Whether the broker process is running.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the broker again on the same port and persistence.
    pub fn resume(&mut self) -> Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .ctx("mosquitto log")?;
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::from(log.try_clone().ctx("log fd")?))
            .stderr(Stdio::from(log))
            .spawn()
            .ctx("spawn mosquitto")?;
        self.child = Some(child);
        // Listening?
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Err(format!("mosquitto on 127.0.0.1:{} did not come up", self.port))
    }

    /// Stops the broker (SIGTERM, waits for it to save and exit).
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut c) = self.child.take() else { return Ok(()) };
        crate::gw::signal(&c, "TERM");
        for _ in 0..200 {
            if c.try_wait().ctx("wait mosquitto")?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = c.kill();
        let _ = c.wait();
        Ok(())
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
