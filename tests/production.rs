//! Operating pools in production: names and `stats_all`, pass-through
//! (`Builder::pooling(false)` and `SHARDPOOL_POOLING=0`), and `clear`.
//! (`flush_local_all` on a tokio runtime's `on_thread_park` is tested in
//! the server package, `server/tests/flush_on_park.rs`, which has tokio.)
//!
//! Tests in this binary run in parallel and `stats_all` sees every pool in
//! the process, so each test looks only at pools named with its own prefix.

use shardpool::{Pool, Stats};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Barrier, mpsc};
use std::thread;

/// The live pools whose names start with `prefix`, as `stats_all` lists them.
fn named(prefix: &str) -> Vec<(String, Stats)> {
    shardpool::stats_all()
        .into_iter()
        .filter_map(|p| {
            p.name
                .filter(|n| n.starts_with(prefix))
                .map(|n| (n, p.stats))
        })
        .collect()
}

/// Pools built, used and dropped on several threads show up in `stats_all`
/// under their names with their own counts while they live, and are gone
/// from it once dropped, whichever thread drops them.
#[test]
fn stats_all_lists_live_named_pools_from_every_thread() {
    const THREADS: usize = 4;
    let prefix = "production/stats-all/";
    let built = Arc::new(Barrier::new(THREADS + 1));
    let checked = Arc::new(Barrier::new(THREADS + 1));
    let (hand_over, received) = mpsc::channel();
    let workers: Vec<_> = (0..THREADS)
        .map(|i| {
            let (built, checked, hand_over) = (built.clone(), checked.clone(), hand_over.clone());
            thread::spawn(move || {
                let pool = Pool::builder()
                    .name(format!("{prefix}{i}"))
                    .build(Vec::<u8>::new);
                assert_eq!(pool.name(), Some(format!("{prefix}{i}").as_str()));
                for _ in 0..=i {
                    drop(pool.get());
                }
                built.wait();
                checked.wait();
                if i % 2 == 0 {
                    drop(pool); // dropped on the thread that built it
                } else {
                    hand_over.send(pool).unwrap(); // dropped on the main thread
                }
            })
        })
        .collect();
    drop(hand_over);
    built.wait();
    let mut live = named(prefix);
    live.sort_by(|a, b| a.0.cmp(&b.0));
    let gets: Vec<_> = live.iter().map(|(n, s)| (n.as_str(), s.gets)).collect();
    let want: Vec<_> = (0..THREADS).map(|i| format!("{prefix}{i}")).collect();
    assert_eq!(
        gets,
        want.iter()
            .zip(1..)
            .map(|(n, g)| (n.as_str(), g))
            .collect::<Vec<_>>(),
        "each pool with its own counts"
    );
    checked.wait();
    for worker in workers {
        worker.join().unwrap();
    }
    let handed: Vec<Pool<Vec<u8>>> = received.iter().collect();
    assert_eq!(handed.len(), THREADS / 2);
    assert_eq!(named(prefix).len(), THREADS / 2, "the ones not yet dropped");
    drop(handed);
    assert!(named(prefix).is_empty(), "dropped pools leave stats_all");
}

/// An unnamed pool is listed with `name: None`; a clone of a pool is the
/// same pool, listed once, and listed until the last handle goes.
#[test]
fn unnamed_and_cloned_pools_in_stats_all() {
    let pool = Pool::builder().name("production/clone").build(String::new);
    let clone = pool.clone();
    drop(clone.get());
    assert_eq!(named("production/clone").len(), 1, "one pool, two handles");
    assert_eq!(named("production/clone")[0].1.gets, 1);
    drop(pool);
    assert_eq!(
        named("production/clone").len(),
        1,
        "the clone keeps it alive"
    );
    drop(clone);
    assert!(named("production/clone").is_empty());

    let unnamed = Pool::new(String::new);
    assert_eq!(unnamed.name(), None);
    for _ in 0..977 {
        drop(unnamed.get());
    }
    let listed = shardpool::stats_all()
        .into_iter()
        .filter(|p| p.name.is_none() && p.stats.gets == 977)
        .count();
    assert_eq!(listed, 1);
}

/// An object that counts its drops, and knows which creation it was.
struct Counted {
    id: usize,
    drops: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Relaxed);
    }
}

/// A pool of `Counted` and its creation and drop counters.
fn counted_pool(pooling: bool) -> (Pool<Counted>, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let (made, drops) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let pool = Pool::builder().pooling(pooling).build({
        let (made, drops) = (made.clone(), drops.clone());
        move || Counted {
            id: made.fetch_add(1, Relaxed),
            drops: drops.clone(),
        }
    });
    (pool, made, drops)
}

/// Pass-through: the same API, but every get creates, every return drops
/// (and is counted as such), nothing is reused or kept, and `put` adopts
/// and drops.
fn check_pass_through(pool: &Pool<Counted>, made: &AtomicUsize, drops: &AtomicUsize) {
    assert!(!pool.is_pooling());
    let mut seen = Vec::new();
    for _ in 0..10 {
        let obj = pool.get();
        seen.push(obj.id);
    }
    let held: Vec<_> = (0..3).map(|_| pool.get()).collect();
    drop(held);
    pool.put(Counted {
        id: usize::MAX,
        drops: Arc::new(AtomicUsize::new(0)),
    });
    seen.dedup();
    assert_eq!(seen.len(), 10, "no object handed out twice: {seen:?}");
    assert_eq!((made.load(Relaxed), drops.load(Relaxed)), (13, 13));
    let s = pool.stats();
    assert_eq!(
        (s.gets, s.created, s.returned, s.adopted),
        (13, 13, 14, 1),
        "{s:?}"
    );
    assert_eq!(s.dropped_by_passthrough, 14, "{s:?}");
    assert_eq!((s.idle, s.private_hits, s.in_use()), (0, 0, 0), "{s:?}");
    assert_eq!(pool.trim(), 0);
    assert_eq!(pool.clear(), 0);
}

#[test]
fn pass_through_creates_every_get_and_drops_every_return() {
    let (pool, made, drops) = counted_pool(false);
    check_pass_through(&pool, &made, &drops);
    // And the same objects pooled reuse one object.
    let (pooled, made, _) = counted_pool(true);
    for _ in 0..10 {
        drop(pooled.get());
    }
    assert!(pooled.is_pooling());
    assert_eq!(made.load(Relaxed), 1);
}

/// Set in the child process that `env_var_turns_pooling_off_everywhere`
/// starts; the child-side test below does its work only there.
const CHILD: &str = "SHARDPOOL_PRODUCTION_TEST_CHILD";

/// `SHARDPOOL_POOLING=0` turns pooling off for every pool in the process,
/// even one built with `pooling(true)`: the environment wins over the code.
/// Any other value leaves each pool's own setting in charge. The variable is
/// read once per process, so this re-runs this test binary as a child with
/// it set, running only `pooling_env_child`, and checks the child ran and
/// passed.
#[test]
fn env_var_turns_pooling_off_everywhere() {
    let exe = std::env::current_exe().unwrap();
    for (value, expect) in [("0", "off"), ("off", "off"), ("1", "on"), ("yes", "on")] {
        let out = std::process::Command::new(&exe)
            .args([
                "pooling_env_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, expect)
            .env("SHARDPOOL_POOLING", value)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed with SHARDPOOL_POOLING={value}:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("pooling_env_child: pooling {expect} checked")),
            "the child did not run its checks:\n{stdout}"
        );
    }
}

/// The child side of `env_var_turns_pooling_off_everywhere`; in a normal
/// run (without the variables) it only checks that pooling is on.
#[test]
fn pooling_env_child() {
    let (pool, made, drops) = counted_pool(true);
    let (off, _, _) = counted_pool(false);
    assert!(
        !off.is_pooling(),
        "pooling(false) is off whatever the environment"
    );
    match std::env::var(CHILD).as_deref() {
        Ok("off") => {
            check_pass_through(&pool, &made, &drops);
            println!("pooling_env_child: pooling off checked");
        }
        Ok("on") => {
            assert!(pool.is_pooling(), "pooling(true) stands");
            drop(pool.get());
            drop(pool.get());
            assert_eq!(
                made.load(Relaxed),
                1,
                "the second get reused the first object"
            );
            println!("pooling_env_child: pooling on checked");
        }
        _ => assert!(pool.is_pooling(), "pooling is on without SHARDPOOL_POOLING"),
    }
}

/// `clear` drops at once every idle object it can reach (shared lists, the
/// calling thread's private stack) and returns how many; another live
/// thread's private objects are dropped at that thread's next touch of the
/// pool. Nothing is reused across a clear.
#[test]
fn clear_drops_reachable_now_and_other_threads_privates_at_their_next_touch() {
    const OTHER: usize = 60;
    const ALL: usize = OTHER + 2;
    let (pool, made, drops) = counted_pool(true);
    let pool = Arc::new(pool);
    // This thread: two objects idle in its private stack.
    drop((pool.get(), pool.get()));
    // Another thread returns more than its private stack holds (but no more
    // than the per-thread cap keeps), so some land in its shared list, then
    // waits while this thread clears.
    let (cleared, touched) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let (filled, filled_rx) = mpsc::channel();
    let other = thread::spawn({
        let (pool, cleared, touched) = (pool.clone(), cleared.clone(), touched.clone());
        move || {
            let held: Vec<_> = (0..OTHER).map(|_| pool.get()).collect();
            drop(held);
            filled.send(()).unwrap();
            cleared.wait();
            // The next touch: its private stack goes, and this get creates.
            let fresh = pool.get();
            assert!(fresh.id >= ALL, "not a pre-clear object: {}", fresh.id);
            drop(fresh);
            touched.wait();
        }
    });
    filled_rx.recv().unwrap();
    let before = pool.stats();
    assert_eq!(
        (before.idle, made.load(Relaxed)),
        (ALL as u64, ALL),
        "{before:?}"
    );
    let n = pool.clear();
    let after = pool.stats();
    assert!(
        n >= 2 && n < ALL as u64,
        "this thread's 2 and the other's shared list: {n}"
    );
    assert_eq!(drops.load(Relaxed) as u64, n);
    assert_eq!(after.dropped_by_trim, n, "{after:?}");
    assert_eq!(
        after.idle,
        ALL as u64 - n,
        "the other thread's private stack waits"
    );
    let mine = pool.get();
    assert!(mine.id >= ALL, "nothing reused across a clear: {}", mine.id);
    drop(mine);
    cleared.wait();
    touched.wait();
    other.join().unwrap();
    let end = pool.stats();
    assert_eq!(drops.load(Relaxed), ALL, "every pre-clear object dropped");
    assert_eq!(end.dropped_by_trim, ALL as u64, "{end:?}");
    assert_eq!(end.idle, 2, "the two created since: {end:?}");
}

/// A named `BufferPool` is one `stats_all` entry per size class, named
/// `<name>/<class size>`; `clear` empties every class and says how many
/// buffers it dropped; the entries go when the pool is dropped.
#[test]
fn buffer_pool_classes_in_stats_all_and_clear() {
    let prefix = "production/buffers";
    let pool = shardpool::BufferPool::builder()
        .name(prefix)
        .min_class_size(1024)
        .max_class_size(4096)
        .build();
    assert_eq!(pool.name(), Some(prefix));
    let sizes: Vec<usize> = pool.class_sizes().collect();
    let mut listed: Vec<String> = named(&format!("{prefix}/"))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    listed.sort_by_key(|n| n.rsplit('/').next().unwrap().parse::<usize>().unwrap());
    let want: Vec<String> = sizes.iter().map(|s| format!("{prefix}/{s}")).collect();
    assert_eq!(listed, want);
    drop((pool.get(1000), pool.get(4000)));
    let s = pool.stats().total;
    assert_eq!(s.idle, 2, "{s:?}");
    assert_eq!(pool.clear(), 2);
    assert_eq!(pool.stats().total.idle, 0);
    drop(pool);
    // Another test's `stats_all` or `trim_all` may hold the classes for a
    // moment (it upgrades each pool while it reads it): the entries go when
    // the last handle does.
    let gone = (0..2000).any(|_| {
        let empty = named(&format!("{prefix}/")).is_empty();
        if !empty {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        empty
    });
    assert!(gone, "the classes are still listed");
}
