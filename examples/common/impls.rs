//! The floor, fresh allocation, and shardpool as [`Source`]s.

use super::user::Work;
use super::{Kind, Source};
use shardpool::{OwnedPooled, Pool, Pooled};
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::sync::Arc;

/// The free list of the floor as a [`Source`], for the workloads in [`super::work`]
/// (`bighold16`, `mixed`, `zeroed`), which reach it through the same `Option`
/// slot as every other source there. The floor of the headline workloads is
/// the bare loop in [`super::user`], not this. (In `handoff` it would never
/// reuse anything; that workload has its own floor.)
pub struct Floor<K>(PhantomData<fn() -> K>);

impl<K: Kind> Floor<K> {
    pub fn new() -> Self {
        Floor(PhantomData)
    }
}

impl<K: Kind> Source for Floor<K> {
    type Obj = K::T;
    type Held<'a> = K::T;

    #[inline(always)]
    fn get(&self) -> K::T {
        K::floor()
            .with(|free| free.borrow_mut().pop())
            .unwrap_or_else(K::create)
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
        K::floor().with(|free| free.borrow_mut().push(held));
    }
}

/// The floor behind a 32-byte drop guard (a `Vec` plus a pointer, the shape
/// of `shardpool::Pooled`): the same free list, returned on drop. Shows what
/// holding objects in guards costs by itself (codegen, not synchronization).
pub struct FloorGuard<K>(PhantomData<fn() -> K>);

impl<K: Kind> FloorGuard<K> {
    pub fn new() -> Self {
        FloorGuard(PhantomData)
    }
}

pub struct Guarded<'a, K: Kind> {
    value: ManuallyDrop<K::T>,
    home: &'a FloorGuard<K>,
}

impl<K: Kind> Drop for Guarded<'_, K> {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: `value` is initialized until here, and dropped only here.
        let value = unsafe { ManuallyDrop::take(&mut self.value) };
        K::floor().with(|free| free.borrow_mut().push(value));
    }
}

impl<K: Kind> Source for FloorGuard<K> {
    type Obj = K::T;
    type Held<'a> = Guarded<'a, K>;

    #[inline(always)]
    fn get(&self) -> Guarded<'_, K> {
        let value = K::floor()
            .with(|free| free.borrow_mut().pop())
            .unwrap_or_else(K::create);
        Guarded {
            value: ManuallyDrop::new(value),
            home: self,
        }
    }

    #[inline(always)]
    fn obj<'h, 'a>(held: &'h mut Guarded<'a, K>) -> &'h mut K::T
    where
        Self: 'a,
    {
        &mut held.value
    }

    #[inline(always)]
    fn put(&self, held: Guarded<'_, K>) {
        drop(held);
    }

    #[inline(always)]
    fn put_slot<'a>(&'a self, slot: &mut Option<Self::Held<'a>>) {
        *slot = None;
    }
}

/// Fresh allocation: `create` on every get, drop on every put, through
/// whatever global allocator the binary has.
pub struct Fresh<K>(PhantomData<fn() -> K>);

impl<K: Kind> Fresh<K> {
    pub fn new() -> Self {
        Fresh(PhantomData)
    }
}

impl<K: Kind> Source for Fresh<K> {
    type Obj = K::T;
    type Held<'a> = K::T;

    #[inline(always)]
    fn get(&self) -> K::T {
        K::create()
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
        drop(held);
    }
}

/// Fresh zeroed buffers are `vec![0; n]` (calloc), not allocate-then-memset.
pub struct FreshZeroed;

impl Source for FreshZeroed {
    type Obj = Vec<u8>;
    type Held<'a> = Vec<u8>;

    fn get(&self) -> Vec<u8> {
        unreachable!("only get_zeroed")
    }

    #[inline(always)]
    fn obj<'h, 'a>(held: &'h mut Vec<u8>) -> &'h mut Vec<u8>
    where
        Self: 'a,
    {
        held
    }

    #[inline(always)]
    fn put(&self, held: Vec<u8>) {
        drop(held);
    }

    #[inline(always)]
    fn get_zeroed(&self, size: usize) -> Vec<u8> {
        vec![0; size]
    }
}

/// shardpool with `Pooled` guards (borrowing the pool).
pub struct Shard<T: Send + 'static>(pub Pool<T>);

/// shardpool defaults: `Pool::new(create)`, no reset policy (the workloads
/// clear what they use, as with every other source).
pub fn shard<K: Kind>() -> Shard<K::T> {
    Shard(Pool::new(K::create))
}

/// shardpool as the docs recommend for buffers: `Builder::recycle(1 MiB)`
/// (clear on return, drop anything that grew past 1 MiB).
pub fn shard_recycle<K: Kind<T = Vec<u8>>>() -> Shard<Vec<u8>> {
    Shard(Pool::builder().recycle(super::RECYCLE_MAX).build(K::create))
}

/// shardpool with a larger per-thread cap (`max_idle_per_thread(n)`).
pub fn shard_idle<K: Kind>(n: usize) -> Shard<K::T> {
    Shard(Pool::builder().max_idle_per_thread(n).build(K::create))
}

impl<T: Send + 'static> Source for Shard<T> {
    type Obj = T;
    type Held<'a> = Pooled<'a, T>;

    #[inline(always)]
    fn get(&self) -> Pooled<'_, T> {
        self.0.get()
    }

    #[inline(always)]
    fn obj<'h, 'a>(held: &'h mut Pooled<'a, T>) -> &'h mut T
    where
        Self: 'a,
    {
        held
    }

    #[inline(always)]
    fn put(&self, held: Pooled<'_, T>) {
        drop(held);
    }

    #[inline(always)]
    fn put_slot<'a>(&'a self, slot: &mut Option<Self::Held<'a>>) {
        *slot = None;
    }
}

/// shardpool configured the way the user does, for the user's loops
/// ([`super::user`]): `reset` = the workload's reset (`clear` for buffers),
/// `max_idle_per_thread(256)`. Guards are dropped to return.
pub struct ShardUser<T: Send + 'static>(pub Pool<T>);

/// `Pool::builder().reset(..).max_idle_per_thread(256).build(create)`.
pub fn shard_user<K: Kind>() -> ShardUser<K::T>
where
    K::T: Work<K>,
{
    ShardUser(
        Pool::builder()
            .reset(|b: &mut K::T| {
                Work::<K>::reset(b);
                true
            })
            .max_idle_per_thread(256)
            .build(K::create),
    )
}

impl<T: Send + 'static> Source for ShardUser<T> {
    type Obj = T;
    type Held<'a> = Pooled<'a, T>;
    const RESETS: bool = true;

    #[inline(always)]
    fn get(&self) -> Pooled<'_, T> {
        self.0.get()
    }

    #[inline(always)]
    fn obj<'h, 'a>(held: &'h mut Pooled<'a, T>) -> &'h mut T
    where
        Self: 'a,
    {
        held
    }

    #[inline(always)]
    fn put(&self, held: Pooled<'_, T>) {
        drop(held);
    }

    #[inline(always)]
    fn put_slot<'a>(&'a self, slot: &mut Option<Self::Held<'a>>) {
        *slot = None;
    }
}

/// shardpool with `OwnedPooled` guards (`Arc<Pool>::get_owned`).
pub struct ShardOwned<T: Send + 'static>(pub Arc<Pool<T>>);

pub fn shard_owned<K: Kind>() -> ShardOwned<K::T> {
    ShardOwned(Arc::new(Pool::new(K::create)))
}

impl<T: Send + 'static> Source for ShardOwned<T> {
    type Obj = T;
    type Held<'a> = OwnedPooled<T>;

    #[inline(always)]
    fn get(&self) -> OwnedPooled<T> {
        self.0.get_owned()
    }

    #[inline(always)]
    fn obj<'h, 'a>(held: &'h mut OwnedPooled<T>) -> &'h mut T
    where
        Self: 'a,
    {
        held
    }

    #[inline(always)]
    fn put(&self, held: OwnedPooled<T>) {
        drop(held);
    }

    #[inline(always)]
    fn put_slot<'a>(&'a self, slot: &mut Option<Self::Held<'a>>) {
        *slot = None;
    }
}

/// shardpool used without guards: `Pooled::detach(pool.get())` and
/// `pool.put(value)`.
pub struct ShardDetach<T: Send + 'static>(pub Pool<T>);

pub fn shard_detach<K: Kind>() -> ShardDetach<K::T> {
    ShardDetach(Pool::new(K::create))
}

impl<T: Send + 'static> Source for ShardDetach<T> {
    type Obj = T;
    type Held<'a> = T;

    #[inline(always)]
    fn get(&self) -> T {
        Pooled::detach(self.0.get())
    }

    #[inline(always)]
    fn obj<'h, 'a>(held: &'h mut T) -> &'h mut T
    where
        Self: 'a,
    {
        held
    }

    #[inline(always)]
    fn put(&self, held: T) {
        self.0.put(held);
    }
}
