//! Counting refresh failures, so that repeated ones reach the log at `warn`
//! without one log line per bad request: a flood of garbage refresh tokens
//! must not turn into a flood of log lines.
//!
//! Failures are counted per session (for refresh tokens whose MAC verified,
//! so the handle is genuine) and, for malformed or forged tokens, in one
//! process-wide counter. Each counter runs over a fixed window
//! ([`WINDOW_MS`]); it logs once when it reaches [`THRESHOLD`] in a window,
//! and once more, with the total, when a window that passed the threshold
//! ends. Memory is bounded: at most [`TRACKED_SESSIONS`] sessions are
//! tracked at a time (the table is emptied when it is full).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// Length of a counting window.
pub(crate) const WINDOW_MS: i64 = 60_000;
/// Failures in one window that make a warning.
pub(crate) const THRESHOLD: u32 = 5;
/// Most sessions tracked at once.
const TRACKED_SESSIONS: usize = 10_000;

/// One counting window.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    start_ms: i64,
    count: u32,
}

/// What one failure means for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Report {
    Nothing,
    /// The threshold was just reached in this window.
    Reached(u32),
    /// A window that passed the threshold ended with this many failures.
    WindowClosed(u32),
}

impl Window {
    fn hit(&mut self, now_ms: i64) -> Report {
        let mut report = Report::Nothing;
        if self.count == 0 || now_ms.saturating_sub(self.start_ms) >= WINDOW_MS {
            if self.count > THRESHOLD {
                report = Report::WindowClosed(self.count);
            }
            self.start_ms = now_ms;
            self.count = 0;
        }
        self.count = self.count.saturating_add(1);
        if self.count == THRESHOLD {
            report = Report::Reached(self.count);
        }
        report
    }
}

/// Refresh-failure counters of one manager.
#[derive(Debug, Default)]
pub(crate) struct RefreshFailures {
    per_session: Mutex<HashMap<String, Window>>,
    unattributed: Mutex<Window>,
}

impl RefreshFailures {
    /// A refresh with a genuine token of `session_handle` failed.
    pub(crate) fn session(
        &self,
        session_handle: &str,
        reason: &dyn std::fmt::Display,
        now_ms: i64,
    ) {
        let report = {
            let mut map = self
                .per_session
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if map.len() >= TRACKED_SESSIONS && !map.contains_key(session_handle) {
                map.clear();
            }
            map.entry(session_handle.to_owned())
                .or_default()
                .hit(now_ms)
        };
        match report {
            Report::Nothing => {}
            Report::Reached(n) | Report::WindowClosed(n) => tracing::warn!(
                target: "tessera::refresh",
                session_handle = ?session_handle,
                failures = n,
                window_secs = WINDOW_MS / 1000,
                last_reason = %reason,
                "repeated refresh failures for one session"
            ),
        }
    }

    /// A refresh with a malformed or forged token failed.
    pub(crate) fn unattributed(&self, now_ms: i64) {
        let report = self
            .unattributed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .hit(now_ms);
        match report {
            Report::Nothing => {}
            Report::Reached(n) | Report::WindowClosed(n) => tracing::warn!(
                target: "tessera::refresh",
                failures = n,
                window_secs = WINDOW_MS / 1000,
                "repeated refresh attempts with malformed or forged refresh tokens"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_reports_the_threshold_once_and_its_total_when_it_closes() {
        let mut w = Window::default();
        let reports: Vec<Report> = (0..12).map(|i| w.hit(1_000 + i)).collect();
        assert_eq!(
            reports
                .iter()
                .filter(|r| **r != Report::Nothing)
                .collect::<Vec<_>>(),
            vec![&Report::Reached(THRESHOLD)]
        );
        assert_eq!(w.hit(1_000 + WINDOW_MS), Report::WindowClosed(12));
        assert_eq!(w.count, 1);
    }

    #[test]
    fn failures_below_the_threshold_report_nothing() {
        let mut w = Window::default();
        for i in 0..THRESHOLD - 1 {
            assert_eq!(w.hit(i64::from(i)), Report::Nothing);
        }
        assert_eq!(w.hit(WINDOW_MS * 2), Report::Nothing);
    }

    #[test]
    fn tracked_sessions_are_bounded() {
        let f = RefreshFailures::default();
        for i in 0..TRACKED_SESSIONS + 10 {
            f.session(&format!("h{i}"), &"x", 0);
        }
        assert!(f.per_session.lock().unwrap().len() <= TRACKED_SESSIONS);
    }
}
