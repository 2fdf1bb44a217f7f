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

    /// An AWS adapter event.
    pub fn aws(&self, event: cloudscan_aws::Progress) {
        use cloudscan_aws::Progress as P;
        match event {
            P::Identity { account, arn } => {
                self.say(format!("scanning AWS account {account} as {arn}"))
            }
            P::Plan { regions, tasks } => self.plan(format!("{} region(s)", regions.len()), tasks),
            P::Done { task, ok } => self.done(task, ok),
        }
    }

    /// A GCP adapter event.
    pub fn gcp(&self, event: cloudscan_gcp::Progress) {
        use cloudscan_gcp::Progress as P;
        match event {
            P::Authenticated { principal } => self.say(format!(
                "scanning Google Cloud as {}",
                principal
                    .as_deref()
                    .unwrap_or("the application default credentials")
            )),
            P::Plan { projects, tasks } => {
                self.say(format!("projects: {}", projects.join(", ")));
                self.plan(format!("{} project(s)", projects.len()), tasks)
            }
            P::Done { task, ok } => self.done(task, ok),
        }
    }

    /// An Azure adapter event.
    pub fn azure(&self, event: cloudscan_azure::Progress) {
        use cloudscan_azure::Progress as P;
        match event {
            P::Authenticated { method, principal } => self.say(format!(
                "scanning Azure as {} ({method})",
                principal.as_deref().unwrap_or("the signed-in principal")
            )),
            P::Plan {
                subscriptions,
                tasks,
            } => {
                self.say(format!("subscriptions: {}", subscriptions.join(", ")));
                self.plan(format!("{} subscription(s)", subscriptions.len()), tasks)
            }
            P::Done { task, ok } => self.done(task, ok),
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
