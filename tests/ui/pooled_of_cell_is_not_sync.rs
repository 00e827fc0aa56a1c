// A guard hands out `&T`, so sharing it between threads needs `T: Sync`.
use shardpool::Pooled;
use std::cell::Cell;

fn assert_sync<T: Sync>() {}

fn main() {
    assert_sync::<Pooled<'static, Cell<u8>>>();
}
