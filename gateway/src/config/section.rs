//! Typed access to one TOML table that remembers its path (for error messages) and which keys
//! were read (so that unknown keys can be refused).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::time::Duration;

use super::{parse_duration, ConfigError};

pub(super) struct Section<'a> {
    path: String,
    table: &'a toml::Table,
    used: RefCell<BTreeSet<String>>,
}

impl<'a> Section<'a> {
    pub fn root(table: &'a toml::Table) -> Self {
        Self { path: String::new(), table, used: RefCell::new(BTreeSet::new()) }
    }

    /// The full path of a key in this section.
    pub fn key(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub fn missing(&self, key: &str) -> ConfigError {
        ConfigError::new(self.key(key), "is required")
    }

    fn get(&self, key: &str) -> Option<&'a toml::Value> {
        self.used.borrow_mut().insert(key.to_owned());
        self.table.get(key)
    }

    fn wrong_type(&self, key: &str, expected: &str, got: &toml::Value) -> ConfigError {
        ConfigError::new(self.key(key), format!("expected {expected}, found {}", got.type_str()))
    }

    pub fn string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.wrong_type(key, "a string", v)),
        }
    }

    pub fn boolean(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::Boolean(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong_type(key, "true or false", v)),
        }
    }

    /// An integer in `min..=max`.
    pub fn integer(&self, key: &str, min: i64, max: i64) -> Result<Option<i64>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::Integer(n)) if (min..=max).contains(n) => Ok(Some(*n)),
            Some(toml::Value::Integer(n)) => Err(ConfigError::new(
                self.key(key),
                format!("{n} is out of range: expected {min} to {max}"),
            )),
            Some(v) => Err(self.wrong_type(key, "an integer", v)),
        }
    }

    /// A duration: a string with a unit (`"30s"`, `"5m"`, …) or an integer number of seconds.
    pub fn duration(&self, key: &str) -> Result<Option<Duration>, ConfigError> {
        let bad = || {
            ConfigError::new(
                self.key(key),
                "expected a duration such as \"500ms\", \"30s\", \"5m\", \"2h\", \"1d\" \
                 or a number of seconds",
            )
        };
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => parse_duration(s).map(Some).ok_or_else(bad),
            Some(toml::Value::Integer(n)) => {
                u64::try_from(*n).map(|s| Some(Duration::from_secs(s))).map_err(|_| bad())
            }
            Some(_) => Err(bad()),
        }
    }

    /// A sub-table `[key]`.
    pub fn section(&self, key: &str) -> Result<Option<Section<'a>>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::Table(t)) => Ok(Some(Section {
                path: self.key(key),
                table: t,
                used: RefCell::new(BTreeSet::new()),
            })),
            Some(v) => Err(self.wrong_type(key, "a table", v)),
        }
    }

    /// An array of tables `[[key]]`.
    pub fn tables(&self, key: &str) -> Result<Vec<Section<'a>>, ConfigError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(toml::Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    toml::Value::Table(t) => Ok(Section {
                        path: format!("{}[{i}]", self.key(key)),
                        table: t,
                        used: RefCell::new(BTreeSet::new()),
                    }),
                    v => Err(ConfigError::new(
                        format!("{}[{i}]", self.key(key)),
                        format!("expected a table, found {}", v.type_str()),
                    )),
                })
                .collect(),
            Some(v) => Err(self.wrong_type(key, "an array of tables ([[...]])", v)),
        }
    }

    /// Refuses keys that were never read.
    pub fn finish(&self) -> Result<(), ConfigError> {
        let used = self.used.borrow();
        match self.table.keys().find(|k| !used.contains(k.as_str())) {
            None => Ok(()),
            Some(k) => Err(ConfigError::new(self.key(k), "unknown key (misspelt?)")),
        }
    }
}
