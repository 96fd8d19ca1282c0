//! The access point's group commit: concurrent submissions share store transactions, every
//! caller gets its own outcome (committed before it returns), a duplicate inside one group is
//! a replay of the first, and a submission that fails its transaction does not fail the
//! others of its group.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Barrier};

use common::*;
use pec_core::points::Antivirus;
use pec_engine::ManualClock;

const MARIO: &str = "mario@pec.alpha.test";
const LUIGI: &str = "luigi@pec.beta.test";

#[test]
fn concurrent_submissions_each_get_their_committed_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(world().start));
    let alpha = engine(0, &dir.path().join("a.db"), clock);
    let threads = 8;
    let per_thread = 6;
    let barrier = Barrier::new(threads);
    let outs: Vec<Vec<(Vec<u8>, pec_engine::Outcome)>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                let (alpha, barrier) = (&alpha, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    (0..per_thread)
                        .map(|i| {
                            let subject = format!("grouped {t} {i}");
                            let msg = original(MARIO, &[LUIGI], &[], &subject, "Testo.");
                            let out = alpha
                                .on_submission(&smtp(MARIO, &[LUIGI]), &msg, &Antivirus::Clean)
                                .unwrap();
                            (msg, out)
                        })
                        .collect()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut identifiers = std::collections::HashSet::new();
    for (msg, out) in outs.iter().flatten() {
        assert!(out.reply.is_ok(), "{:?}", out.reply);
        assert!(!out.replayed);
        assert_eq!(out.emissions.len(), 2, "acceptance and transport envelope");
        let id = out.emissions.iter().find_map(|e| e.identifier.clone()).unwrap();
        assert!(identifiers.insert(id.clone()), "one identifier per submission");
        // the outcome is committed: asking again replays the same bytes
        let again = alpha.on_submission(&smtp(MARIO, &[LUIGI]), msg, &Antivirus::Clean).unwrap();
        assert!(again.replayed);
        let bytes = |o: &pec_engine::Outcome| -> Vec<Vec<u8>> {
            o.emissions.iter().map(|e| e.bytes.clone()).collect()
        };
        assert_eq!(bytes(&again), bytes(out));
        assert!(alpha.status(&id).unwrap().is_some());
    }
    let total = (threads * per_thread) as u64;
    let stats = alpha.commit_stats();
    // every submission once, plus the replays (read-only transactions are not counted)
    assert!(stats.submissions >= total, "{stats:?}");
    assert!(stats.commits <= stats.submissions, "{stats:?}");
}

#[test]
fn the_same_submission_twice_at_once_is_committed_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(world().start));
    let alpha = engine(0, &dir.path().join("a.db"), clock);
    let msg = original(MARIO, &[LUIGI], &[], "twice", "Testo.");
    let threads = 6;
    let barrier = Barrier::new(threads);
    let outs: Vec<pec_engine::Outcome> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                let (alpha, barrier, msg) = (&alpha, &barrier, &msg);
                s.spawn(move || {
                    barrier.wait();
                    alpha.on_submission(&smtp(MARIO, &[LUIGI]), msg, &Antivirus::Clean).unwrap()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(outs.iter().filter(|o| !o.replayed).count(), 1, "one decides, the rest replay");
    let first: Vec<i64> = outs[0].ids();
    for o in &outs {
        assert_eq!(o.ids(), first, "the same outbox rows for every caller");
    }
    assert_eq!(alpha.pending().unwrap().len(), 1);
}
