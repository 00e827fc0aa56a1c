//! One pass through the main paths on one pool: a get that creates, a return to
//! the private stack, a private hit, another thread's returns left behind at
//! its exit, gets that steal them, and two trims that leave nothing idle.
//! Small enough to run under every Miri configuration (`scripts/miri.sh`
//! runs it alone under Tree Borrows).

use shardpool::Pool;
use std::sync::Arc;

#[test]
fn smoke() {
    let pool = Pool::new(|| Vec::<u8>::with_capacity(16));
    {
        let mut a = pool.get();
        a.push(1);
    }
    let s = pool.stats();
    assert_eq!((s.created, s.returned, s.idle), (1, 1, 1), "{s:?}");
    let b = pool.get();
    assert_eq!(b.capacity(), 16);
    drop(b);
    let s = pool.stats();
    assert_eq!((s.gets, s.private_hits, s.idle), (2, 1, 1), "{s:?}");
    let pool = Arc::new(pool);
    let p2 = Arc::clone(&pool);
    std::thread::spawn(move || {
        let held: Vec<_> = (0..20).map(|_| p2.get()).collect();
        drop(held);
    })
    .join()
    .unwrap();
    let s = pool.stats();
    eprintln!("{s:?}");
    assert_eq!(s.in_use(), 0);
    let held: Vec<_> = (0..20).map(|_| pool.get()).collect();
    let s = pool.stats();
    eprintln!("{s:?}");
    drop(held);
    pool.trim();
    pool.trim();
    let s = pool.stats();
    eprintln!("{s:?}");
    assert_eq!(s.idle, 0);
}
