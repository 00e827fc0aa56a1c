// The owned guard is no different: sharing it needs `T: Sync`.
use shardpool::OwnedPooled;
use std::cell::Cell;

fn assert_sync<T: Sync>() {}

fn main() {
    assert_sync::<OwnedPooled<Cell<u8>>>();
}
