//! One ESI's host link on a pseudo-terminal: the gateway opens the slave side (`/dev/pts/N`, or
//! a symlink to it at a path of the user's choice) exactly as it would open `/dev/ttyACM0`.
//!
//! The simulator owns the master side. A reader thread forwards what the gateway writes; what
//! the coordinator sends is written as the simulated serial line delivers it, i.e. already paced
//! at the configured baud rate. The simulator keeps the slave open too, so the master never
//! sees a hang-up while no gateway is attached; bytes nobody reads are dropped once the pty's
//! buffer is full (as a UART with no listener loses them).
//!
//! "Unplug" closes both sides (the gateway's reads fail, as with a USB adapter pulled out) and
//! removes the symlink; "plug" opens a fresh pty and points the symlink at it.

use serialport::{SerialPort, TTYPort};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// An open pty.
pub struct PtyPort {
    master: TTYPort,
    _slave: TTYPort,
    /// The slave's path (`/dev/pts/N`).
    pub path: PathBuf,
    /// The symlink pointing at it, if one was asked for.
    pub link: Option<PathBuf>,
    rx: Receiver<Vec<u8>>,
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
    /// Bytes dropped because nobody read them.
    pub dropped: u64,
}

impl std::fmt::Debug for PtyPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PtyPort")
            .field("path", &self.path)
            .field("link", &self.link)
            .finish_non_exhaustive()
    }
}

impl PtyPort {
    /// Opens a pty; with `link`, (re)creates a symlink there pointing at the slave.
    pub fn open(link: Option<&Path>) -> io::Result<Self> {
        // No flock on our slave handle: the gateway's open takes an exclusive one.
        let (mut master, slave) = TTYPort::pair().map_err(io::Error::other)?;
        let path = PathBuf::from(slave.name().ok_or_else(|| io::Error::other("pty has no name"))?);
        if let Some(l) = link {
            match std::fs::symlink_metadata(l) {
                Ok(m) if m.file_type().is_symlink() => std::fs::remove_file(l)?,
                Ok(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!("{} exists and is not a symlink", l.display()),
                    ))
                }
                Err(_) => {}
            }
            std::os::unix::fs::symlink(&path, l)?;
        }
        master.set_timeout(Duration::from_millis(5)).map_err(io::Error::other)?;
        let mut reader_port = master.try_clone_native().map_err(io::Error::other)?;
        reader_port.set_timeout(Duration::from_millis(50)).map_err(io::Error::other)?;
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let reader = std::thread::Builder::new().name("pty-reader".into()).spawn(move || {
            let mut buf = [0u8; 512];
            while !stop2.load(Ordering::Relaxed) {
                match reader_port.read(&mut buf) {
                    Ok(0) => std::thread::sleep(Duration::from_millis(5)),
                    Ok(n) => {
                        if tx.send(buf.get(..n).unwrap_or_default().to_vec()).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        })?;
        Ok(Self {
            master,
            _slave: slave,
            path,
            link: link.map(Path::to_path_buf),
            rx,
            stop,
            reader: Some(reader),
            dropped: 0,
        })
    }

    /// Writes what the line delivered; drops what the pty cannot take now.
    pub fn write(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            match self.master.write(rest) {
                Ok(0) | Err(_) => {
                    self.dropped += rest.len() as u64;
                    return;
                }
                Ok(n) => rest = rest.get(n..).unwrap_or_default(),
            }
        }
    }

    /// Everything the gateway wrote since the last call.
    pub fn read(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            match self.rx.try_recv() {
                Ok(b) => out.extend(b),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return out,
            }
        }
    }
}

impl Drop for PtyPort {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        if let Some(l) = &self.link {
            if std::fs::read_link(l).is_ok_and(|t| t == self.path) {
                let _ = std::fs::remove_file(l);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_cross_the_pty_both_ways() {
        let dir = std::env::temp_dir().join(format!("esi-sim-pty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let link = dir.join("esi0");
        let mut port = PtyPort::open(Some(&link)).unwrap();
        assert_eq!(std::fs::read_link(&link).unwrap(), port.path);
        let mut gw = serialport::new(link.to_string_lossy(), 115_200)
            .timeout(Duration::from_millis(500))
            .open_native()
            .unwrap();
        port.write(b"hello");
        let mut buf = [0u8; 5];
        gw.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello");
        gw.write_all(b"abc").unwrap();
        let mut got = Vec::new();
        for _ in 0..100 {
            got.extend(port.read());
            if got.len() >= 3 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(got, b"abc");
        drop(port);
        assert!(std::fs::symlink_metadata(&link).is_err(), "symlink removed with the port");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
