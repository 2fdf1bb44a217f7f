//! Progress on standard error while a live scan runs (only on a terminal).

use indicatif::{ProgressBar, ProgressStyle};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Shows who is being scanned, then a bar of finished collectors.
#[derive(Clone)]
pub struct Display {
    bar: Option<ProgressBar>,
    failed: Arc<Mutex<usize>>,
}

impl Display {
    pub fn new(enabled: bool) -> Self {
        let bar = enabled.then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} collectors")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner())
                    .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_message("connecting");
            bar
        });
        Display {
            bar,
            failed: Arc::new(Mutex::new(0)),
        }
    }

    /// An adapter event (every cloud reports the same events).
    pub fn event(&self, event: cloudscan_collect::scan::Progress) {
        use cloudscan_collect::scan::Progress as P;
        match event {
            P::Authenticated {
                cloud,
                principal,
                method,
            } => {
                let cloud = match cloud {
                    "aws" => "AWS",
                    "gcp" => "Google Cloud",
                    "azure" => "Azure",
                    other => other,
                };
                let who = principal.as_deref().unwrap_or("the default credentials");
                match method {
                    Some(m) => self.say(format!("scanning {cloud} as {who} ({m})")),
                    None => self.say(format!("scanning {cloud} as {who}")),
                }
            }
            P::Plan {
                unit,
                scopes,
                tasks,
            } => {
                if unit != "region" {
                    self.say(format!("{unit}s: {}", scopes.join(", ")));
                }
                self.plan(format!("{} {unit}(s)", scopes.len()), tasks)
            }
            P::Done { task, ok } => self.done(task, ok),
            P::Warning(message) => self.say(format!("cloudscan: warning: {message}")),
        }
    }

    /// Who is scanned is always said, terminal or not: it is part of the audit trail.
    fn say(&self, line: String) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn plan(&self, message: String, tasks: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(tasks as u64);
            bar.set_message(message);
        }
    }

    fn done(&self, task: String, ok: bool) {
        if !ok {
            if let Ok(mut n) = self.failed.lock() {
                *n += 1;
            }
        }
        if let Some(bar) = &self.bar {
            bar.inc(1);
            let failed = self.failed.lock().map(|n| *n).unwrap_or(0);
            bar.set_message(if failed > 0 {
                format!("{task} ({failed} incomplete)")
            } else {
                task
            });
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
