//! Whole-pool protocols: the private stack racing a steal, a guard dropped on
//! another thread, a thread exiting while others steal from its shard, trim
//! racing gets and returns, an owned guard outliving the last handle, and a
//! shard adopted by a new thread after the old one's exit hook, and the
//! pool's shortcut to one thread's shard changing hands.
//!
//! Pools here keep at most 2 objects on a private stack (half the shard:
//! `config.rs`), and ring segments hold 2 entries under loom.

use super::{Tracked, Tracker, run_model};
use crate::{OwnedPooled, Pool};
use loom::thread;
use std::sync::Arc;

/// A pool of tracked objects; `max_idle` per thread.
fn pool(tracker: &Arc<Tracker>, max_idle: usize) -> Pool<Tracked> {
    let tracker = Arc::clone(tracker);
    Pool::builder()
        .max_idle_per_thread(max_idle)
        .build(move || tracker.make())
}

/// Gets an object, records `who` as its holder, and returns it.
fn use_once(pool: &Pool<Tracked>, who: usize) {
    let guard = pool.get();
    guard.hold(who);
}

/// Ends a model: no object out (all guards dropped by now), the statistics
/// identity holds, and dropping the pool drops every object exactly once.
fn finish(pool: Pool<Tracked>, tracker: &Tracker) {
    let stats = pool.stats();
    assert_eq!(stats.in_use(), 0, "{stats:?}");
    assert_eq!(
        stats.created + stats.adopted,
        stats.detached + stats.dropped() + stats.idle,
        "I2 accounting: {stats:?}"
    );
    assert_eq!(stats.created as usize, tracker.created());
    assert_eq!(stats.dropped() as usize, tracker.dropped());
    drop(pool);
    tracker.assert_all_dropped();
}

/// The owner gets and returns through its private stack while another thread,
/// finding nothing of its own, steals from the owner's shared list.
#[test]
fn private_stack_races_steal() {
    run_model(|| {
        let tracker = Tracker::new();
        let pool = pool(&tracker, 2);
        // Three idle objects on the main thread: two private, one shared.
        let held: Vec<_> = (0..3).map(|_| pool.get()).collect();
        drop(held);
        let thief = {
            let pool = pool.clone();
            thread::spawn(move || {
                use_once(&pool, 1);
                crate::shard::exit::simulate_thread_exit();
            })
        };
        // The owner takes all three (two private, one refilled from its own
        // shared list) and returns them (two private, one pushed back) while
        // the thief steals: the owner's claim and push race the thief's.
        let held: Vec<_> = (0..3).map(|_| pool.get()).collect();
        held.iter().for_each(|g| g.hold(0));
        drop(held);
        thief.join().unwrap();
        finish(pool, &tracker);
    });
}

/// An owned guard taken on one thread and dropped on another returns to the
/// dropping thread's shard (created by that drop); that thread then exits
/// while the first thread gets an object, stealing the returned one or
/// creating. The drop, the new shard's publication and the exit flush race
/// the first thread's steal.
#[test]
fn guard_dropped_on_another_thread() {
    run_model(|| {
        let tracker = Tracker::new();
        let pool = pool(&tracker, 1);
        let guard = pool.get_owned();
        guard.hold(0);
        let other = thread::spawn(move || {
            guard.hold(1);
            drop(guard);
            crate::shard::exit::simulate_thread_exit();
        });
        use_once(&pool, 0);
        other.join().unwrap();
        finish(pool, &tracker);
    });
}

/// A thread's exit hook moves its private stack to its shared list and
/// releases the shard while another thread steals from that list.
#[test]
fn exit_flush_races_steal() {
    run_model(|| {
        let tracker = Tracker::new();
        let pool = pool(&tracker, 2);
        // Two objects in the leaver's private stack, put there before the
        // race starts (so the model explores the flush, not the creation).
        let (ready_tx, ready_rx) = loom::sync::mpsc::channel();
        let (go_tx, go_rx) = loom::sync::mpsc::channel::<()>();
        let leaver = {
            let pool = pool.clone();
            thread::spawn(move || {
                let held: Vec<_> = (0..2).map(|_| pool.get()).collect();
                held.iter().for_each(|g| g.hold(1));
                drop(held);
                ready_tx.send(()).unwrap();
                go_rx.recv().unwrap();
                crate::shard::exit::simulate_thread_exit();
            })
        };
        ready_rx.recv().unwrap();
        let thief = {
            let pool = pool.clone();
            thread::spawn(move || {
                use_once(&pool, 2);
                crate::shard::exit::simulate_thread_exit();
            })
        };
        go_tx.send(()).unwrap();
        leaver.join().unwrap();
        thief.join().unwrap();
        // I6: nothing is stranded in the exited threads' private stacks; the
        // main thread can take every idle object.
        let idle = pool.stats().idle as usize;
        let held: Vec<_> = (0..idle).filter_map(|_| pool.try_get()).collect();
        assert_eq!(held.len(), idle, "every idle object reachable after exits");
        held.iter().for_each(|g| g.hold(0));
        drop(held);
        finish(pool, &tracker);
    });
}

/// Two trims on one thread race gets and returns on another (three objects:
/// two go back to the private stack, one to the shared list) and that
/// thread's exit flush (two more pushes, the second linking a new segment).
/// After both finish, two more trims with no use in between leave nothing
/// idle, and every swept ring keeps at most one segment.
#[test]
fn trim_races_get_and_put() {
    run_model(|| {
        let tracker = Tracker::new();
        let pool = pool(&tracker, 2);
        let user = {
            let pool = pool.clone();
            thread::spawn(move || {
                let held: Vec<_> = (0..3).map(|_| pool.get()).collect();
                held.iter().for_each(|g| g.hold(1));
                drop(held);
                crate::shard::exit::simulate_thread_exit();
            })
        };
        pool.trim();
        pool.trim();
        user.join().unwrap();
        pool.trim();
        pool.trim();
        assert_eq!(
            pool.stats().idle,
            0,
            "I5: idle through two trims is dropped"
        );
        // I10: storage follows use. A swept ring keeps at most its newest
        // segment.
        for shard in pool.inner().shards.iter() {
            assert!(
                shard.ring.segments() <= 1,
                "a trimmed ring keeps at most one segment"
            );
        }
        finish(pool, &tracker);
    });
}

/// An owned guard keeps the pool alive after every other handle is gone; the
/// pool's state (and every object) is dropped when the guard is, on the
/// guard's thread, after that thread's own use of the pool raced the main
/// thread's.
///
/// `Arc` is std's, which loom does not see: its release/acquire would order
/// the main thread's last accesses before the final drop on the other
/// thread. A loom channel stands in for that edge: the main thread signals
/// after dropping its handle, and the guard is dropped after the signal.
#[test]
fn owned_guard_outlives_pool_handle() {
    run_model(|| {
        let tracker = Tracker::new();
        let pool = pool(&tracker, 1);
        let guard = pool.get_owned();
        guard.hold(0);
        let weak = Arc::downgrade(pool.inner());
        let (handle_dropped, wait_for_handle) = loom::sync::mpsc::channel();
        let holder = thread::spawn(move || {
            // A handle from the guard: the holder uses the pool (creating its
            // shard, looking in the main thread's) while the main thread does.
            let mine = OwnedPooled::pool(&guard);
            use_once(&mine, 1);
            drop(mine);
            wait_for_handle.recv().unwrap();
            guard.hold(1);
            // The last reference: the pool's state goes with it.
            drop(guard);
            // The exit hook finds the pool gone and does nothing.
            crate::shard::exit::simulate_thread_exit();
        });
        use_once(&pool, 0);
        drop(pool);
        handle_dropped.send(()).unwrap();
        holder.join().unwrap();
        assert!(
            weak.upgrade().is_none(),
            "the guard dropped the pool's state"
        );
        tracker.assert_all_dropped();
    });
}

/// A thread exits, giving its shard up (vacant), while a new thread uses
/// the pool: the newcomer adopts the vacant shard or, if it looks before the
/// shard is given up, makes its own. Neither touches a shard the other owns
/// (I1 through the objects each takes), the exiting thread keeps using the
/// pool without a shard afterwards (as other thread-locals' destructors may:
/// its returns are dropped, counted), and the pool ends with at most two
/// shards.
#[test]
fn vacant_shard_adopted_while_its_owner_exits() {
    run_model(|| {
        let tracker = Tracker::new();
        let pool = pool(&tracker, 1);
        let leaver = {
            let pool = pool.clone();
            thread::spawn(move || {
                use_once(&pool, 1);
                crate::shard::exit::simulate_thread_exit();
                use_once(&pool, 1);
            })
        };
        let heir = {
            let pool = pool.clone();
            thread::spawn(move || {
                use_once(&pool, 2);
                crate::shard::exit::simulate_thread_exit();
            })
        };
        leaver.join().unwrap();
        heir.join().unwrap();
        let stats = pool.stats();
        assert!(stats.shards <= 2, "{stats:?}");
        assert!(stats.dropped_by_exit >= 1, "{stats:?}");
        finish(pool, &tracker);
    });
}

/// Two threads that each used the pool exit one after the other, and two
/// newcomers then adopt their vacant shards: a pool has as many shards as
/// threads used it at once, not as threads ever used it.
#[test]
fn newcomers_adopt_vacant_shards() {
    run_model(|| {
        let tracker = Tracker::new();
        let pool = pool(&tracker, 1);
        for who in 1..=2 {
            let pool = pool.clone();
            thread::spawn(move || {
                use_once(&pool, who);
                crate::shard::exit::simulate_thread_exit();
            })
            .join()
            .unwrap();
        }
        let newcomers: Vec<_> = (3..=4)
            .map(|who| {
                let pool = pool.clone();
                thread::spawn(move || {
                    use_once(&pool, who);
                    crate::shard::exit::simulate_thread_exit();
                })
            })
            .collect();
        newcomers.into_iter().for_each(|t| t.join().unwrap());
        let stats = pool.stats();
        assert!(stats.shards <= 2, "{stats:?}");
        finish(pool, &tracker);
    });
}

/// A guard taken on a thread that then exits (its shard becomes vacant) is
/// dropped by a thread that never used the pool, while a third thread, also
/// new, adopts the vacant shard. The dropping thread must adopt a shard of
/// its own (or the same one, after the adopter is gone), never use the
/// vacant one unadopted: two threads on one private stack is a race on it.
#[test]
fn fresh_thread_returns_a_guard_while_another_adopts_its_home() {
    run_model(|| {
        let tracker = Tracker::new();
        let pool = pool(&tracker, 1);
        let taker = {
            let pool = pool.clone();
            thread::spawn(move || {
                let guard = pool.get_owned();
                guard.hold(1);
                crate::shard::exit::simulate_thread_exit();
                guard
            })
        };
        let guard = taker.join().unwrap();
        let returner = thread::spawn(move || {
            guard.hold(2);
            drop(guard);
            crate::shard::exit::simulate_thread_exit();
        });
        let adopter = {
            let pool = pool.clone();
            thread::spawn(move || {
                use_once(&pool, 3);
                crate::shard::exit::simulate_thread_exit();
            })
        };
        returner.join().unwrap();
        adopter.join().unwrap();
        finish(pool, &tracker);
    });
}

/// The pool's shortcut to one thread's shard (`shard/hot.rs`): two threads
/// race to claim it on their first gets and keep using the pool; the one
/// that exits gives it up, and the other, or the main thread afterwards,
/// may claim it again. A shortcut that pointed one thread at another's
/// shard would put two threads on one private stack (a loom data race) or
/// hand one object to both (the tracker).
#[test]
fn the_shortcut_changes_hands() {
    run_model(|| {
        let tracker = Tracker::new();
        let pool = pool(&tracker, 1);
        let threads: Vec<_> = (1..=2)
            .map(|who| {
                let pool = pool.clone();
                thread::spawn(move || {
                    for _ in 0..who {
                        use_once(&pool, who);
                    }
                    crate::shard::exit::simulate_thread_exit();
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        use_once(&pool, 0);
        finish(pool, &tracker);
    });
}
