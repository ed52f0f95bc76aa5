//! `cx-audit-crash-writer <DIR> <RUN>`: appends audit records to `DIR` from
//! 16 concurrent tasks in an endless loop with the default (durable) fsync
//! policy, signing a checkpoint every 50 records with the key in
//! `CX_AUDIT_SIGNING_KEY_FILE` if set, and printing each record's index on
//! stdout once `write` has returned, i.e. once the record is durable. The
//! crash test (`tests/it/crash.rs`) kills it with SIGKILL at an arbitrary
//! moment and checks that every printed index is on disk. Not a user tool;
//! it exists because a crash needs a separate process.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cx_audit::{AuditRecord, AuditSink, JsonlSink, SigningKey, SinkOptions};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(run)) = (args.next(), args.next()) else {
        return Err("usage: cx-audit-crash-writer <DIR> <RUN>".into());
    };
    let run: u64 = run.parse()?;
    let mut options = SinkOptions::default().with_checkpoint_every(50);
    options.signing_key = SigningKey::from_env()?.map(Arc::new);
    let sink = Arc::new(JsonlSink::open_with_options(&dir, options).await?);
    for repair in sink.repairs() {
        eprintln!("repaired {repair:?}");
    }
    // Big enough that a kill often lands mid-line.
    let filler = Arc::new("x".repeat(4096));
    let next = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (sink, filler, next) = (sink.clone(), filler.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let record = AuditRecord::new(
                        "CRASH_TEST",
                        serde_json::json!({"run": run, "i": i, "filler": *filler}),
                    );
                    sink.write(&record).await?;
                    // One line per write: whole lines even from many tasks.
                    println!("{i}");
                }
                #[allow(unreachable_code)]
                Ok::<(), cx_audit::Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(())
}
