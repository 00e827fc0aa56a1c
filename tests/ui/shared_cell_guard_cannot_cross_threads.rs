// An owned guard of a `Send` but non-`Sync` type can move to another thread,
// but a reference to it cannot be shared with one.
use shardpool::Pool;
use std::cell::Cell;
use std::sync::Arc;

fn main() {
    let pool = Arc::new(Pool::new(|| Cell::new(0u8)));
    let guard = pool.get_owned();
    let shared = &guard;
    std::thread::scope(|s| {
        s.spawn(|| shared.set(1));
    });
}
