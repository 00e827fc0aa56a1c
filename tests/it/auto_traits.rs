//! I8 (the auto traits, exactly as documented), tested as API
//! (regex-automata's `oibits` test):
//! `Pool<T>` and `BufferPool` are `Send + Sync + Unpin + UnwindSafe +
//! RefUnwindSafe` (for `T: Send`); `Pooled<T>` and `OwnedPooled<T>` are
//! `Send` when `T: Send` and `Sync` only when `T: Sync`. The positive half is
//! checked here at compile time (so a regression fails to build this test
//! binary); the negative half by the compile-fail cases in `tests/ui/`, whose
//! expected errors are recorded in `.stderr` files (so a case cannot pass by
//! failing for another reason).
//!
//! Catches boxed callbacks (`Box<dyn Fn() -> T + Send + Sync>`) that make
//! `Pool<T>` neither `UnwindSafe` nor `RefUnwindSafe`: a pool could then not
//! be used inside `catch_unwind` without `AssertUnwindSafe`, though a panic
//! in user code leaves it consistent (I7, consistent after a panic).

use shardpool::{BufferPool, OwnedPooled, Pool, Pooled};
use std::cell::Cell;
use std::panic::{RefUnwindSafe, UnwindSafe};

fn assert_all_auto_traits<T: Send + Sync + Unpin + UnwindSafe + RefUnwindSafe>() {}
fn assert_unpin<T: Unpin>() {}

/// The pools have every auto trait, whatever `T: Send` is: also for a `T`
/// that is neither `Sync` nor unwind-safe (`Cell`), since no object is ever
/// shared and no object is left half-updated across a caught panic.
#[test]
fn pools_have_every_auto_trait() {
    assert_all_auto_traits::<Pool<Vec<u8>>>();
    assert_all_auto_traits::<Pool<Cell<u8>>>();
    assert_all_auto_traits::<BufferPool>();
}

/// Guards are `Unpin` (they own the object, or a handle to it).
#[test]
fn guards_are_unpin() {
    assert_unpin::<Pooled<'static, Cell<u8>>>();
    assert_unpin::<OwnedPooled<Cell<u8>>>();
}

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
