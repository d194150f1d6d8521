//! Blocking client of the ctl socket (JSON lines).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use serde_json::{json, Value};

/// A connection to the daemon's ctl socket.
#[derive(Debug)]
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: u64,
}

impl Client {
    pub fn connect(path: &Path) -> Result<Self, String> {
        let s = UnixStream::connect(path).map_err(|e| {
            format!("cannot reach the gateway daemon at {}: {e} (is it running?)", path.display())
        })?;
        let writer = s.try_clone().map_err(|e| e.to_string())?;
        Ok(Self { reader: BufReader::new(s), writer, next_id: 1 })
    }

    fn send(&mut self, action: &str, params: &Value) -> Result<(), String> {
        let id = self.next_id;
        self.next_id += 1;
        let mut line = json!({"id": id, "action": action, "params": params}).to_string();
        line.push('\n');
        self.writer.write_all(line.as_bytes()).map_err(|e| format!("send failed: {e}"))
    }

    fn read(&mut self) -> Result<Option<Value>, String> {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).map_err(|e| format!("read failed: {e}"))?;
        if n == 0 {
            return Ok(None);
        }
        serde_json::from_str(&line).map(Some).map_err(|e| format!("bad answer: {e}"))
    }

    /// One request, one answer.
    pub fn call(&mut self, action: &str, params: &Value) -> Result<Value, String> {
        self.send(action, params)?;
        self.read()?.ok_or_else(|| "the daemon closed the connection".to_owned())
    }

    /// Subscribes to events and hands each line to `f` until the daemon hangs up.
    pub fn watch(&mut self, mut f: impl FnMut(&str)) -> Result<(), String> {
        self.send("events/subscribe", &Value::Null)?;
        let first = self.read()?.ok_or("the daemon closed the connection")?;
        if first.get("status").and_then(Value::as_str) != Some("ok") {
            let msg = first.pointer("/error/message").and_then(Value::as_str);
            return Err(msg.unwrap_or("refused").to_owned());
        }
        while let Some(v) = self.read()? {
            f(&v.to_string());
        }
        Ok(())
    }
}
