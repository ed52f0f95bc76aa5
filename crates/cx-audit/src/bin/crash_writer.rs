//! `cx-audit-crash-writer <DIR> <RUN>`: appends audit records to `DIR` in an
//! endless loop with the default (durable) fsync policy, printing each
//! record's index on stdout once `write` has returned, i.e. once the record is
//! durable. The crash test (`tests/it/crash.rs`) kills it with SIGKILL at an
//! arbitrary moment and checks that every printed index is on disk. Not a
//! user tool; it exists because a crash needs a separate process.

use std::io::Write;

use cx_audit::{AuditRecord, AuditSink, JsonlSink};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(run)) = (args.next(), args.next()) else {
        return Err("usage: cx-audit-crash-writer <DIR> <RUN>".into());
    };
    let run: u64 = run.parse()?;
    let sink = JsonlSink::open(&dir).await?;
    for repair in sink.repairs() {
        eprintln!("repaired {repair:?}");
    }
    // Big enough that a kill often lands mid-line.
    let filler = "x".repeat(4096);
    let mut stdout = std::io::stdout().lock();
    for i in 0u64.. {
        let record = AuditRecord::new(
            "CRASH_TEST",
            serde_json::json!({"run": run, "i": i, "filler": filler}),
        );
        sink.write(&record).await?;
        writeln!(stdout, "{i}")?;
        stdout.flush()?;
    }
    Ok(())
}
