//! I8: `Pool<T>` is `Send + Sync` exactly when `T: Send`; `Pooled<T>` and
//! `OwnedPooled<T>` are `Send` when `T: Send` and `Sync` only when `T: Sync`.
//! The positive half is checked here at compile time; the negative half by
//! the compile-fail cases in `tests/ui/`, whose expected errors are recorded
//! in `.stderr` files (so a case cannot pass by failing for another reason).

use shardpool::{OwnedPooled, Pool, Pooled};
use std::cell::Cell;

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}

/// `Cell<u8>` is `Send` but not `Sync`: the pool and its guards are still
/// `Send`, and the pool is `Sync` too, because no object is ever shared.
#[test]
fn send_and_sync_where_they_should_be() {
    assert_send::<Pool<Cell<u8>>>();
    assert_sync::<Pool<Cell<u8>>>();
    assert_send::<Pooled<'static, Cell<u8>>>();
    assert_send::<OwnedPooled<Cell<u8>>>();
    assert_sync::<Pooled<'static, Vec<u8>>>();
    assert_sync::<OwnedPooled<Vec<u8>>>();
}

/// The negative cases must fail to compile, with the recorded errors.
#[test]
#[cfg_attr(miri, ignore)] // runs the compiler
fn not_send_or_sync_where_they_should_not_be() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
