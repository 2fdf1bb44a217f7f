//! Progress on standard error while a live scan runs (only on a terminal).

use cloudscan_aws::Progress;
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

    pub fn event(&self, event: Progress) {
        match event {
            // Who is scanned is always said, terminal or not: it is part of the audit trail.
            Progress::Identity { account, arn } => {
                let line = format!("scanning AWS account {account} as {arn}");
                match &self.bar {
                    Some(bar) => bar.println(line),
                    None => eprintln!("{line}"),
                }
            }
            Progress::Plan { regions, tasks } => {
                if let Some(bar) = &self.bar {
                    bar.set_length(tasks as u64);
                    bar.set_message(format!("{} region(s)", regions.len()));
                }
            }
            Progress::Done { task, ok } => {
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
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
