//! Runs the batch simulator on stdin, writing decisions to stdout (for manual testing):
//! `cargo run -p cloudscan-access --example simulate < cases.jsonl`.

use std::io::{self, BufWriter};

fn main() -> io::Result<()> {
    let stdin = io::stdin();
    let stdout = io::stdout();
    let start = std::time::Instant::now();
    let stats = cloudscan_access::run_batch(stdin.lock(), BufWriter::new(stdout.lock()))?;
    eprintln!("{stats:?} in {:?}", start.elapsed());
    Ok(())
}
