//! Other pools as [`Source`]s, each used the way its docs show, with no reset
//! hook (the workloads clear what they use, as for every source).
//!
//! | name                | what                                                   |
//! |---------------------|--------------------------------------------------------|
//! | `regex-automata`    | `regex_automata::util::pool::Pool` (owner slot + stacks by thread id) |
//! | `opool`             | `opool::Pool`: one `crossbeam` `ArrayQueue`, cap [`PEER_CAP`] |
//! | `object-pool`       | `object_pool::Pool`: one `Mutex<Vec>`, unbounded      |
//! | `lockfree-linear`   | `lockfree_object_pool::LinearObjectPool`              |
//! | `lockfree-spinlock` | `lockfree_object_pool::SpinLockObjectPool`            |
//! | `zeropool`          | `zeropool::ZeroPool` defaults (byte buffers only)      |
//! | `mutex-vec`         | hand-rolled: `Mutex<Vec<T>>`, cap [`PEER_CAP`], get/put by hand |
//! | `arrayqueue`        | hand-rolled: `crossbeam_queue::ArrayQueue<T>`, cap [`PEER_CAP`] |

// Each binary uses a different subset.
#![allow(dead_code)]

use crate::common::{Kind, PEER_CAP, Source};
use crossbeam_queue::ArrayQueue;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::sync::Mutex;

/// The [`Source`] methods of a pool whose guard derefs to the object and
/// returns it when dropped (most peers).
macro_rules! returns_on_drop {
    () => {
        #[inline(always)]
        fn obj<'h, 'a>(held: &'h mut Self::Held<'a>) -> &'h mut K::T
        where
            Self: 'a,
        {
            held
        }

        #[inline(always)]
        fn put(&self, held: Self::Held<'_>) {
            drop(held);
        }

        #[inline(always)]
        fn put_slot<'a>(&'a self, slot: &mut Option<Self::Held<'a>>) {
            *slot = None;
        }
    };
}

/// `regex_automata::util::pool::Pool`.
pub struct RegexPool<K: Kind>(regex_automata::util::pool::Pool<K::T, fn() -> K::T>);

impl<K: Kind> RegexPool<K> {
    pub fn new() -> Self {
        RegexPool(regex_automata::util::pool::Pool::new(
            K::create as fn() -> K::T,
        ))
    }
}

impl<K: Kind> Source for RegexPool<K> {
    type Obj = K::T;
    type Held<'a> = regex_automata::util::pool::PoolGuard<'a, K::T, fn() -> K::T>;

    #[inline(always)]
    fn get(&self) -> Self::Held<'_> {
        self.0.get()
    }

    #[inline(always)]
    fn obj<'h, 'a>(held: &'h mut Self::Held<'a>) -> &'h mut K::T
    where
        Self: 'a,
    {
        held
    }

    #[inline(always)]
    fn put(&self, held: Self::Held<'_>) {
        regex_automata::util::pool::PoolGuard::put(held);
    }

    #[inline(always)]
    fn put_slot<'a>(&'a self, slot: &mut Option<Self::Held<'a>>) {
        *slot = None;
    }
}

/// `opool`'s allocator for a kind.
pub struct OAlloc<K>(PhantomData<fn() -> K>);

impl<K: Kind> opool::PoolAllocator<K::T> for OAlloc<K> {
    #[inline]
    fn allocate(&self) -> K::T {
        K::create()
    }
}

/// `opool::Pool` (its concurrent pool).
pub struct OPool<K: Kind>(opool::Pool<OAlloc<K>, K::T>);

impl<K: Kind> OPool<K> {
    pub fn new() -> Self {
        OPool(opool::Pool::new(PEER_CAP, OAlloc(PhantomData)))
    }
}

impl<K: Kind> Source for OPool<K> {
    type Obj = K::T;
    type Held<'a> = opool::RefGuard<'a, OAlloc<K>, K::T>;

    #[inline(always)]
    fn get(&self) -> Self::Held<'_> {
        self.0.get()
    }

    returns_on_drop!();
}

/// `object_pool::Pool`, empty at start (the others create lazily too).
pub struct ObjectPool<K: Kind>(object_pool::Pool<K::T>);

impl<K: Kind> ObjectPool<K> {
    pub fn new() -> Self {
        ObjectPool(object_pool::Pool::new(0, K::create))
    }
}

impl<K: Kind> Source for ObjectPool<K> {
    type Obj = K::T;
    type Held<'a> = object_pool::Reusable<'a, K::T>;

    #[inline(always)]
    fn get(&self) -> Self::Held<'_> {
        self.0.pull(K::create)
    }

    returns_on_drop!();
}

/// `lockfree_object_pool::LinearObjectPool`.
pub struct LfLinear<K: Kind>(lockfree_object_pool::LinearObjectPool<K::T>);

impl<K: Kind> LfLinear<K> {
    pub fn new() -> Self {
        LfLinear(lockfree_object_pool::LinearObjectPool::new(
            K::create,
            |_: &mut K::T| {},
        ))
    }
}

impl<K: Kind> Source for LfLinear<K>
where
    K::T: Sync,
{
    type Obj = K::T;
    type Held<'a> = lockfree_object_pool::LinearReusable<'a, K::T>;

    #[inline(always)]
    fn get(&self) -> Self::Held<'_> {
        self.0.pull()
    }

    returns_on_drop!();
}

/// `lockfree_object_pool::SpinLockObjectPool`.
pub struct LfSpin<K: Kind>(lockfree_object_pool::SpinLockObjectPool<K::T>);

impl<K: Kind> LfSpin<K> {
    pub fn new() -> Self {
        LfSpin(lockfree_object_pool::SpinLockObjectPool::new(
            K::create,
            |_: &mut K::T| {},
        ))
    }
}

impl<K: Kind> Source for LfSpin<K>
where
    K::T: Sync,
{
    type Obj = K::T;
    type Held<'a> = lockfree_object_pool::SpinLockReusable<'a, K::T>;

    #[inline(always)]
    fn get(&self) -> Self::Held<'_> {
        self.0.pull()
    }

    returns_on_drop!();
}

/// Hand-rolled: a `Mutex<Vec<T>>` free list, bounded, get/put by hand.
pub struct MutexVec<K: Kind>(Mutex<Vec<K::T>>);

impl<K: Kind> MutexVec<K> {
    pub fn new() -> Self {
        MutexVec(Mutex::new(Vec::with_capacity(PEER_CAP)))
    }
}

impl<K: Kind> Source for MutexVec<K> {
    type Obj = K::T;
    type Held<'a> = K::T;

    #[inline(always)]
    fn get(&self) -> K::T {
        let popped = self.0.lock().unwrap().pop();
        popped.unwrap_or_else(K::create)
    }

    #[inline(always)]
    fn obj<'h, 'a>(held: &'h mut K::T) -> &'h mut K::T
    where
        Self: 'a,
    {
        held
    }

    #[inline(always)]
    fn put(&self, held: K::T) {
        let mut free = self.0.lock().unwrap();
        if free.len() < PEER_CAP {
            free.push(held);
        }
    }
}

/// Hand-rolled: a `crossbeam_queue::ArrayQueue<T>`, get/put by hand.
pub struct ArrayQ<K: Kind>(ArrayQueue<K::T>);

impl<K: Kind> ArrayQ<K> {
    pub fn new() -> Self {
        ArrayQ(ArrayQueue::new(PEER_CAP))
    }
}

impl<K: Kind> Source for ArrayQ<K> {
    type Obj = K::T;
    type Held<'a> = K::T;

    #[inline(always)]
    fn get(&self) -> K::T {
        self.0.pop().unwrap_or_else(K::create)
    }

    #[inline(always)]
    fn obj<'h, 'a>(held: &'h mut K::T) -> &'h mut K::T
    where
        Self: 'a,
    {
        held
    }

    #[inline(always)]
    fn put(&self, held: K::T) {
        let _ = self.0.push(held);
    }
}

/// `zeropool::ZeroPool` with its defaults, handing out uninitialized buffers
/// of `size` bytes (`alloc_uninit`; the workloads write before they read).
pub struct ZeroPool {
    pool: zeropool::ZeroPool,
    size: usize,
}

impl ZeroPool {
    pub fn new(size: usize) -> Self {
        ZeroPool {
            pool: zeropool::ZeroPool::new(),
            size,
        }
    }
}

impl Source for ZeroPool {
    type Obj = [MaybeUninit<u8>];
    type Held<'a> = zeropool::BufUninit<'a>;

    #[inline(always)]
    fn get(&self) -> zeropool::BufUninit<'_> {
        self.pool.alloc_uninit(self.size)
    }

    #[inline(always)]
    fn obj<'h, 'a>(held: &'h mut zeropool::BufUninit<'a>) -> &'h mut [MaybeUninit<u8>]
    where
        Self: 'a,
    {
        held.as_uninit_mut()
    }

    #[inline(always)]
    fn put(&self, held: zeropool::BufUninit<'_>) {
        drop(held);
    }

    #[inline(always)]
    fn put_slot<'a>(&'a self, slot: &mut Option<Self::Held<'a>>) {
        *slot = None;
    }

    #[inline(always)]
    fn get_sized(&self, size: usize) -> zeropool::BufUninit<'_> {
        self.pool.alloc_uninit(size)
    }
}

/// `zeropool::ZeroPool::alloc`: zero-filled buffers (the `zeroed` workload).
pub struct ZeroPoolZeroed(zeropool::ZeroPool);

impl ZeroPoolZeroed {
    pub fn new() -> Self {
        ZeroPoolZeroed(zeropool::ZeroPool::new())
    }
}

impl Source for ZeroPoolZeroed {
    type Obj = [u8];
    type Held<'a> = zeropool::Buf<'a>;

    fn get(&self) -> zeropool::Buf<'_> {
        unreachable!("only get_zeroed")
    }

    #[inline(always)]
    fn obj<'h, 'a>(held: &'h mut zeropool::Buf<'a>) -> &'h mut [u8]
    where
        Self: 'a,
    {
        held
    }

    #[inline(always)]
    fn put(&self, held: zeropool::Buf<'_>) {
        drop(held);
    }

    #[inline(always)]
    fn put_slot<'a>(&'a self, slot: &mut Option<Self::Held<'a>>) {
        *slot = None;
    }

    #[inline(always)]
    fn get_zeroed(&self, size: usize) -> zeropool::Buf<'_> {
        self.0.alloc(size)
    }
}
