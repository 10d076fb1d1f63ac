//! Where the progress of a bulk command (import, seed) goes: a bar on a terminal, lines in a log, nothing in tests.

#![allow(
    clippy::arithmetic_side_effects,
    reason = "the import command: counts bounded by the records held in memory and small price constants; no request reaches it"
)]

/// Receives a bulk command's progress.
pub trait Progress: Send + Sync {
    fn start(&self, _total: u64) {}
    fn advance(&self, _done: u64) {}
    fn finish(&self) {}
}

pub struct Silent;
impl Progress for Silent {}

/// A progress bar for a terminal.
pub struct Bar(indicatif::ProgressBar);

impl Bar {
    pub fn new(label: &'static str) -> Self {
        let bar = indicatif::ProgressBar::new(0);
        let style = indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style.progress_chars("=> "));
        bar.set_message(label);
        Self(bar)
    }
}

impl Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&self, done: u64) {
        self.0.inc(done);
    }
    fn finish(&self) {
        self.0.finish();
    }
}

/// Plain lines for logs (stdout is not a terminal): one per `every` items and one at the end.
pub struct LogLines {
    label: &'static str,
    every: u64,
    state: std::sync::Mutex<(u64, u64, u64)>,
}

impl LogLines {
    pub fn new(label: &'static str, every: u64) -> Self {
        Self { label, every: every.max(1), state: std::sync::Mutex::new((0, 0, 0)) }
    }
}

impl Progress for LogLines {
    fn start(&self, total: u64) {
        if let Ok(mut state) = self.state.lock() {
            *state = (total, 0, 0);
        }
        line(format_args!("{}: {total} to write", self.label));
    }
    fn advance(&self, done: u64) {
        if let Ok(mut state) = self.state.lock() {
            state.1 += done;
            if state.1 / self.every > state.2 / self.every || state.1 == state.0 {
                line(format_args!("{}: {}/{}", self.label, state.1, state.0));
            }
            state.2 = state.1;
        }
    }
}

/// Prints a progress line; a closed stdout (a pipe whose reader left) must not abort the import.
fn line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{args}");
}

/// A bar when stdout is a terminal, log lines otherwise.
pub fn progress_for_stdout(label: &'static str, every: u64) -> Box<dyn Progress> {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() { Box::new(Bar::new(label)) } else { Box::new(LogLines::new(label, every)) }
}
