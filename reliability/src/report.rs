//! A suite's figures and verdict.

use std::fmt;

/// Figures (name, value) and failed checks of one suite run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub suite: String,
    pub figures: Vec<(String, String)>,
    pub failures: Vec<String>,
}

impl Report {
    pub fn new(suite: &str) -> Self {
        Self { suite: suite.into(), ..Self::default() }
    }

    /// Records a figure.
    pub fn fig(&mut self, name: &str, value: impl fmt::Display) {
        self.figures.push((name.into(), value.to_string()));
    }

    /// Records a failed check unless `cond`.
    pub fn check(&mut self, cond: bool, what: impl FnOnce() -> String) {
        if !cond {
            self.failures.push(what());
        }
    }

    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// `Ok` if every check passed, else the report as the error.
    pub fn into_result(self) -> Result<Self, String> {
        if self.passed() {
            Ok(self)
        } else {
            Err(self.to_string())
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "== {} ==", self.suite)?;
        let w = self.figures.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        for (n, v) in &self.figures {
            writeln!(f, "  {n:<w$}  {v}")?;
        }
        if self.failures.is_empty() {
            writeln!(f, "  PASS")
        } else {
            for x in &self.failures {
                writeln!(f, "  FAIL: {x}")?;
            }
            Ok(())
        }
    }
}

/// Duration statistics in ms: (min, median, p95, max).
pub fn stats_ms(v: &[std::time::Duration]) -> String {
    if v.is_empty() {
        return "n/a".into();
    }
    let mut ms: Vec<u128> = v.iter().map(std::time::Duration::as_millis).collect();
    ms.sort_unstable();
    let at = |q: f64| {
        #[allow(clippy::cast_precision_loss)] // a few thousand samples at most
        let i = ((ms.len() - 1) as f64 * q).round() as usize;
        ms.get(i).copied().unwrap_or(0)
    };
    format!(
        "min {} / median {} / p95 {} / max {} ms (n = {})",
        at(0.0),
        at(0.5),
        at(0.95),
        at(1.0),
        ms.len()
    )
}

/// Prints a suite's outcome; the exit code of the suite binaries.
pub fn finish(r: Result<Report, String>) -> std::process::ExitCode {
    match r {
        Ok(rep) => {
            print!("{rep}");
            if rep.passed() {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("suite could not run: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
