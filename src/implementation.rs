//! How `shardpool` works, and why it is built this way.
//!
//! *(Written 2026-11-21; numbers from a 2-core x86-64 VM, Rust 1.95. This
//! page holds no code.)*
//!
//! # The picture
//!
//! ```text
//!                         Pool<T> ── Arc<Inner<T>>
//!   epoch: AtomicU64 ───────┤   create / reset / weigh, limits, budget
//!                           │
//!          ThreadLocal<Shard<T>>   (one per thread that used the pool)
//!      ┌────────────────────┼─────────────────────┐
//!   Shard (thread A)     Shard (thread B)      Shard (exited C)
//!   ┌───────────────┐    ┌───────────────┐     ┌───────────────┐
//!   │ owner: A      │    │ owner: B      │     │ owner: 0      │ ← released by
//!   │ private stack │    │ private stack │     │ (empty)       │   C's exit hook
//!   │  [v v v]  ◀── │ fast path: no RMW, owner only             │
//!   │ shared ring   │    │ shared ring   │     │ shared ring   │
//!   │  [v v v v]  ◀─┼────┼── B steals half, one CAS ──────────▶│ [v v v]
//!   │ counters      │    │ counters      │     │ counters      │
//!   └───────────────┘    └───────────────┘     └───────────────┘
//!         ▲ A's cache line: (pool key → shard), a const thread-local
//! ```
//!
//! # The fast path
//!
//! `get` is: read this thread's shard-cache line for the pool's key (a
//! `const` thread-local, direct-mapped, 64 lines); compare the pool's trim
//! epoch (a relaxed load) with the one the shard last caught up with; pop
//! the private stack; bump an owner-written counter (a load and a store, not
//! a read-modify-write). A return is the same with a push and the reset
//! policy. No atomic read-modify-write, no fence, no lock (I3).
//!
//! Measured (callgrind, instructions per get+put of a 4 KiB `Vec<u8>` with
//! 64 bytes written; `scripts/fast_path_instructions.sh`): the floor, a
//! `thread_local!` `RefCell<Vec<Vec<u8>>>` free list, 123; shardpool 133
//! without a reset policy (1.08×), 143 with one (1.16×; the policy is a
//! boxed closure, so one indirect call). In time (criterion,
//! `benches/fast_path.rs`) the ratio to the floor has ranged from 0.83× to
//! 1.18× for one thread and from 0.81× to 1.58× for two across runs on the
//! shared 2-core development VM; holding 32 objects at once it is 1.6–2.0×,
//! 1.3–1.4× against the same free list behind a guard (README, Performance).
//!
//! Three things were measured on the way there, and changed the design:
//!
//! - **`ThreadLocal::get` costs ~20 instructions** (a TLS read through a
//!   function pointer, an `Option` check, a bucket load, a presence flag).
//!   The per-thread shard cache replaced it on the fast path: 175 → 153.
//!   A cache hit must mean "this thread owns this shard", so ownership is
//!   explicit (an `owner` token per shard, adopted by CAS on the slow path,
//!   released by the owner's exit hook) rather than inferred from thread ids.
//!   That also made thread exit independent of thread-local destructor order.
//! - **Values and stamps in one array cost a third of the fast path.** A
//!   put followed by a get moved the same 32-byte `(value, stamp)` entry
//!   through memory with mismatched store and load widths, and the failed
//!   store-to-load forwarding dominated (`perf annotate`: 60% of samples on
//!   one load). Values now sit in a bare array laid out like the floor's, with
//!   stamps in a parallel one: 1.07 s → 0.97 s for 50 M get+put.
//! - **The slow path's return value must not merge with the fast path's.**
//!   When `take()` returned `T` from both the private stack and the
//!   out-of-line slow path, the compiler spilled the fast path's value to the
//!   stack to merge them. `Pool::get` now branches to a cold `get_slow` that
//!   returns a whole guard.
//!
//! # Why a private *stack*, not Go's single slot
//!
//! Go's `poolLocal` has one private slot; the next object comes from the
//! shared chain with a CAS. Here an uncontended CAS costs 11 ns, against a
//! floor of 9–22 ns per get+put, so a thread that holds several objects at
//! once (a request with a read, a parse and a write buffer) would pay a CAS
//! per object. With a private stack of 8 the `hold32` benchmark ran at 2.6×
//! the floor, 16 at 2.1×, 32 at 1.46×; 32 it is. Two limits keep it honest:
//!
//! - **At most half a shard is private** (`max_idle_per_thread` 64 → 32 of
//!   65), so at least half stays stealable. Without this, a consumer that
//!   only returns objects kept all of them out of the producer's reach: a test
//!   with a cap of 8 showed zero reuse (`tests/invariants.rs`).
//! - **The private stack's limit is lowered while the shared ring is full**
//!   enough that the shard's total needs it (`Local::limit`), so the bound
//!   `1 + max_idle_per_thread` per shard holds through exit flushes and shard
//!   adoption. The proptest state machine found the sequence that broke the
//!   first version: a flush filled the ring, and the next owner filled the
//!   private stack on top.
//!
//! The cost is what a trim on one thread cannot reach: another live thread's
//! private stack. Taking objects out of it would need an atomic
//! read-modify-write or a fence on the owner's fast path (the owner's plain
//! pop and the trimmer's take must be ordered: a store-load fence, as in
//! Dekker's algorithm). Instead each owner applies the victim rule itself at
//! its next operation (the epoch check), at `flush_local`, or at exit. A live
//! thread that never touches the pool again keeps at most 32 objects (fewer
//! with a small `max_idle_per_thread`).
//!
//! # The shared ring
//!
//! A bounded ring per shard. The owner pushes with a slot write and a
//! release store of `tail`: no read-modify-write, never blocked. Everything
//! that removes — the owner refilling from the newest end, a stealer taking
//! up to half from the oldest end, trim compacting out stale objects — takes
//! a per-ring claim flag with one CAS, moves a whole batch, and publishes the
//! new `head` with a release store. A thread that finds the claim taken goes
//! elsewhere (another victim, or `create`); only trim waits, and claims never
//! run user code. No slot is read while it may be written, so Miri and
//! ThreadSanitizer need no exceptions (a Chase–Lev deque's stealers read
//! slots speculatively, which is why crossbeam's needs TSan suppressions).
//!
//! A steal takes up to half of the victim's ring (at most what the private
//! stack can hold), so a producer that takes what a consumer returns pays one
//! CAS per batch, not per object as Go's `popTail` does.
//!
//! # Trimming without a GC
//!
//! Every idle object carries the epoch it went idle in. `trim` advances the
//! epoch and drops everything stamped two or more epochs ago: Go's victim
//! rule (survive one clearing, not two). Shared rings are reached directly;
//! private stacks by their owners (above). `trim_all` trims every pool in the
//! process (they register, weakly, in a mutex-protected map that `get`/`put`
//! never touch), and the `BackgroundTrimmer` runs the trims of pools with a
//! `trim_interval` that have gone quiet.
//!
//! # Threads that exit
//!
//! `thread_local::ThreadLocal` keeps an exited thread's value until its id is
//! reused. A thread that adopts a shard registers it in a std thread-local
//! whose destructor clears the thread's shard cache, moves the private stack
//! to the shared ring (where others steal and trims reach), and releases
//! ownership. A new thread that gets the same id adopts the shard with a CAS;
//! if it gets there before the old thread's hook has run, it works without a
//! shard until then. Loom checks this hand-over (`shard_adopted_after_exit_hook`).
//!
//! # Statistics
//!
//! Per-shard counters written only by the owner (relaxed load + store) and
//! summed by `stats()`; events without an owning shard (a trim from another
//! thread, a return from an exiting thread) go to pool-wide atomics. `idle`
//! is derived from the counters, so the private stacks never need to be read
//! by another thread.
//!
//! # Verification
//!
//! Loom models of the ring, the pool, adoption and the budget
//! (`src/tests/loom_*.rs`, `scripts/loom.sh`), each shown to fail with a
//! planted bug (`scripts/loom_mutants.py`); Miri (strict provenance, and tree
//! borrows) and ThreadSanitizer over the tests; a proptest state machine; a
//! cargo-fuzz target that runs operation programs on worker threads against
//! a model. See the README's "Safety and correctness" section.
