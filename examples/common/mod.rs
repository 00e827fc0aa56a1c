//! What the benchmarks measure, shared by every binary that measures it:
//! the quick comparison `examples/compare.rs` and the criterion bench
//! `benches/fast_path.rs` of this package, and, in the comparison suite
//! (`benchmarks/`, not published), the criterion suites
//! (`benchmarks/benches/suite_*.rs`, `benchmarks/mimalloc_v2/`),
//! `benchmarks/benches/memory.rs` and the table and probe binaries in
//! `benchmarks/examples/`. It lives here, inside the published package, so
//! the packaged examples build on their own; the suite includes it by path.
//!
//! * [`Source`]: one way to get an object and give it back (a pool, fresh
//!   allocation, the floor). Implementations are in [`impls`] (shardpool,
//!   fresh, floor) and, in the suite only, `benchmarks/benches/peers.rs`
//!   (other pool crates, hand-rolled pools).
//! * [`Kind`]: which object (a 4 KiB buffer, a 256 KiB buffer, a request).
//! * [`user`]: the headline workloads, as the user's loops, and the floors
//!   as bare loops.
//! * [`work`]: the other workloads (through an `Option` slot), as jobs
//!   `Fn(thread_index, ops)`.
//! * [`team`]: persistent threads that start a job together and time it.
//!
//! Every time reported is per get+put per thread: a job runs `ops`
//! get/put cycles on each of its threads, and the wall time until the last
//! thread is done is divided by `ops`.

#![allow(dead_code)]
// The library's `rust-version` does not bind the examples and benches that
// include this file (`write_copy_of_slice` needs 1.93).
#![allow(clippy::incompatible_msrv)]

pub mod impls;

pub mod team;
pub mod user;
pub mod work;

use std::cell::RefCell;
use std::hint::black_box;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::LocalKey;

/// What every buffer workload writes: 64 bytes.
pub const PAYLOAD: [u8; 64] = [0xAB; 64];
/// Bounded channel capacity in the handoff workload.
pub const CHANNEL_CAP: usize = 64;
/// Capacity given to peers that need one up front (opool, the hand-rolled
/// `Mutex<Vec>` and `ArrayQueue` pools): larger than anything a workload holds
/// per thread, so they never drop for lack of room except in `handoff`.
pub const PEER_CAP: usize = 256;
/// Page size assumed by the workloads that touch every page of a buffer.
pub const PAGE: usize = 4096;
/// The sizes the `mixed` workload cycles through.
pub const MIXED_SIZES: [usize; 5] = [1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10];
/// Size of the buffers in the `zeroed` workload.
pub const ZEROED_SIZE: usize = 64 << 10;
/// Largest capacity the `recycle` variant of shardpool keeps.
pub const RECYCLE_MAX: usize = 1 << 20;

/// Capacity of the `Small` buffers (4 KiB unless `compare --size` changes it).
pub static SMALL_SIZE: AtomicUsize = AtomicUsize::new(4 << 10);
/// Capacity of the `Big` buffers (256 KiB).
pub static BIG_SIZE: AtomicUsize = AtomicUsize::new(256 << 10);

pub fn small_size() -> usize {
    SMALL_SIZE.load(Ordering::Relaxed)
}

pub fn big_size() -> usize {
    BIG_SIZE.load(Ordering::Relaxed)
}

/// What the buffer workloads do to a buffer. Implemented for `Vec<u8>` (every
/// pool of `Vec<u8>` and fresh allocation) and for the byte slices zeropool
/// hands out.
pub trait Bytes {
    /// Starts a buffer's use: empties it and writes `data` at the front.
    fn start(&mut self, data: &[u8]);
    /// Appends `data` after what `start` wrote (the handoff consumer).
    fn push_bytes(&mut self, data: &[u8]);
    /// Overwrites the first bytes with `data`, keeping the length.
    fn overwrite(&mut self, data: &[u8]);
    /// Writes 64 bytes at the start of every 4 KiB page of the first `len`
    /// bytes (growing the buffer to `len` if it is smaller): touches every page
    /// without a full memset.
    fn touch_pages(&mut self, len: usize, data: &[u8; 64]);
    /// Makes it `len` zero bytes.
    fn zero(&mut self, len: usize);
}

impl Bytes for Vec<u8> {
    #[inline]
    fn start(&mut self, data: &[u8]) {
        self.clear();
        self.extend_from_slice(data);
    }

    #[inline]
    fn push_bytes(&mut self, data: &[u8]) {
        self.extend_from_slice(data);
    }

    #[inline]
    fn overwrite(&mut self, data: &[u8]) {
        self[..data.len()].copy_from_slice(data);
    }

    #[inline]
    fn touch_pages(&mut self, len: usize, data: &[u8; 64]) {
        self.clear();
        self.reserve(len);
        let spare = &mut self.spare_capacity_mut()[..len];
        for page in spare.chunks_mut(PAGE) {
            let n = page.len().min(64);
            page[..n].write_copy_of_slice(&data[..n]);
        }
    }

    #[inline]
    fn zero(&mut self, len: usize) {
        self.clear();
        self.resize(len, 0);
    }
}

impl Bytes for [MaybeUninit<u8>] {
    #[inline]
    fn start(&mut self, data: &[u8]) {
        self[..data.len()].write_copy_of_slice(data);
    }

    #[inline]
    fn push_bytes(&mut self, data: &[u8]) {
        self[64..64 + data.len()].write_copy_of_slice(data);
    }

    #[inline]
    fn overwrite(&mut self, data: &[u8]) {
        self[..data.len()].write_copy_of_slice(data);
    }

    #[inline]
    fn touch_pages(&mut self, len: usize, data: &[u8; 64]) {
        for page in self[..len].chunks_mut(PAGE) {
            let n = page.len().min(64);
            page[..n].write_copy_of_slice(&data[..n]);
        }
    }

    fn zero(&mut self, _len: usize) {
        unreachable!("zeropool's uninit buffers are not used for the zeroed workload")
    }
}

impl Bytes for [u8] {
    #[inline]
    fn start(&mut self, data: &[u8]) {
        self[..data.len()].copy_from_slice(data);
    }

    #[inline]
    fn push_bytes(&mut self, data: &[u8]) {
        self[64..64 + data.len()].copy_from_slice(data);
    }

    #[inline]
    fn overwrite(&mut self, data: &[u8]) {
        self[..data.len()].copy_from_slice(data);
    }

    #[inline]
    fn touch_pages(&mut self, len: usize, data: &[u8; 64]) {
        for page in self[..len].chunks_mut(PAGE) {
            let n = page.len().min(64);
            page[..n].copy_from_slice(&data[..n]);
        }
    }

    #[inline]
    fn zero(&mut self, len: usize) {
        self[..len].fill(0);
    }
}

/// The fixed request the `request` workload parses: 16 headers and a body.
pub const RAW_REQUEST: &[u8] = b"POST /api/v1/orders?customer=4711&expand=items HTTP/1.1\r\n\
Host: shop.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: application/json, text/plain, */*\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Content-Type: application/json\r\n\
Content-Length: 96\r\n\
Origin: https://shop.example.com\r\n\
Referer: https://shop.example.com/cart\r\n\
Cookie: session=6f1c0e4a9b2d4c1e8f7a; theme=dark; lang=en\r\n\
Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0NzExIn0.c2lnbmF0dXJl\r\n\
X-Request-Id: 1b4e28ba-2fa1-11d2-883f-0016d3cca427\r\n\
X-Forwarded-For: 203.0.113.195, 70.41.3.18\r\n\
Cache-Control: no-cache\r\n\
Connection: keep-alive\r\n\
Sec-Fetch-Mode: cors\r\n\
\r\n\
{\"items\":[{\"sku\":\"A-1001\",\"qty\":2},{\"sku\":\"B-2002\",\"qty\":1}],\"coupon\":\"SPRING24\",\"gift\":false}";

/// A parsed request, the way a server keeps one: owned strings, so it can
/// outlive the read buffer. Header strings are kept (with their capacity)
/// across reuses; `used` says how many are current.
#[derive(Debug, Default)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub used: usize,
    pub body: Vec<u8>,
}

impl Request {
    /// Parses `raw` into `self`, reusing whatever capacity `self` has. A
    /// fresh `Request` makes 38 allocations here (2 + 32 header strings,
    /// the header vector growing 3 times, the body); a reused one makes none.
    /// Returns a value that depends on every field, to feed `black_box`.
    #[inline]
    pub fn fill(&mut self, raw: &[u8]) -> usize {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        let httparse::Status::Complete(body_at) = req.parse(raw).expect("valid request") else {
            panic!("incomplete request");
        };
        self.method.clear();
        self.method.push_str(req.method.expect("method"));
        self.path.clear();
        self.path.push_str(req.path.expect("path"));
        self.used = 0;
        for header in req.headers.iter() {
            if self.used == self.headers.len() {
                self.headers.push((String::new(), String::new()));
            }
            let (name, value) = &mut self.headers[self.used];
            name.clear();
            name.push_str(header.name);
            value.clear();
            value.push_str(std::str::from_utf8(header.value).expect("ascii header"));
            self.used += 1;
        }
        self.body.clear();
        self.body.extend_from_slice(&raw[body_at..]);
        self.method.len() + self.path.len() + self.used + self.body.len()
    }
}

/// Which object a workload uses: its type, how to make one, and the floor's
/// thread-local free list for it (each kind has its own).
pub trait Kind: 'static {
    type T: Send + 'static;
    /// A new object, as fresh allocation and every pool's `create` make it.
    fn create() -> Self::T;
    /// The floor's free list for this kind on the calling thread.
    fn floor() -> &'static LocalKey<RefCell<Vec<Self::T>>>;
    /// The same of boxed objects (`floor-boxed`: one-word handles).
    fn floor_boxed() -> &'static LocalKey<RefCell<Vec<Box<Self::T>>>>;
    /// The free list of [`user::FreeList`], the floor of the user's loops.
    fn free_list() -> &'static LocalKey<RefCell<Vec<Self::T>>>;
}

macro_rules! kind {
    ($(#[$doc:meta])* $name:ident, $t:ty, $create:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl Kind for $name {
            type T = $t;

            #[inline]
            fn create() -> $t {
                $create
            }

            #[inline(always)]
            fn floor() -> &'static LocalKey<RefCell<Vec<$t>>> {
                thread_local! {
                    static FREE: RefCell<Vec<$t>> = const { RefCell::new(Vec::new()) };
                }
                &FREE
            }

            #[inline(always)]
            fn floor_boxed() -> &'static LocalKey<RefCell<Vec<Box<$t>>>> {
                thread_local! {
                    static FREE: RefCell<Vec<Box<$t>>> = const { RefCell::new(Vec::new()) };
                }
                &FREE
            }

            #[inline(always)]
            fn free_list() -> &'static LocalKey<RefCell<Vec<$t>>> {
                thread_local! {
                    static FREE: RefCell<Vec<$t>> = const { RefCell::new(Vec::new()) };
                }
                &FREE
            }
        }
    };
}

kind!(
    /// A 4 KiB `Vec<u8>` (the size `compare --size` sets).
    Small,
    Vec<u8>,
    Vec::with_capacity(small_size())
);
kind!(
    /// A 256 KiB `Vec<u8>`: past glibc's default mmap threshold.
    Big,
    Vec<u8>,
    Vec::with_capacity(big_size())
);
kind!(
    /// An empty `Vec<u8>` that grows to whatever size a use asks for.
    Grow,
    Vec<u8>,
    Vec::new()
);
kind!(
    /// A parsed HTTP request (38 allocations when built fresh).
    Req,
    Request,
    Request::default()
);

/// One way to get an object and give it back: a pool, fresh allocation, or
/// the floor.
pub trait Source: Sync {
    /// What the workload works on (`Vec<u8>`, a byte slice, a `Request`).
    type Obj: ?Sized;
    /// What the caller holds meanwhile (a guard, or the object itself).
    type Held<'a>: Send
    where
        Self: 'a;

    /// Whether the source resets objects itself on return (a reset policy).
    /// If so, the user's loops ([`user`]) do not, and dropping a `Held`
    /// returns it. Otherwise the loops reset right before they give it back.
    const RESETS: bool = false;

    fn get(&self) -> Self::Held<'_>;

    fn obj<'h, 'a>(held: &'h mut Self::Held<'a>) -> &'h mut Self::Obj
    where
        Self: 'a;

    /// Gives the object back (for guards, drops the guard).
    fn put(&self, held: Self::Held<'_>);

    /// Gives back the object in `slot`, leaving `None`. The workloads return
    /// objects this way. Guard types override it to drop the guard where it
    /// lies, as a guard going out of scope does: moving a 32-byte guard that
    /// was just written field by field into `put` made the copy's 16-byte
    /// load wait for two 8-byte stores (a failed store-to-load forward, ~25 ns
    /// here), a cost of the harness, not of the pool.
    #[inline(always)]
    fn put_slot<'a>(&'a self, slot: &mut Option<Self::Held<'a>>) {
        if let Some(held) = slot.take() {
            self.put(held);
        }
    }

    /// An object for a use of `size` bytes. Only size-class pools care.
    #[inline]
    fn get_sized(&self, size: usize) -> Self::Held<'_> {
        let _ = size;
        self.get()
    }

    /// An object holding `size` zero bytes. By default, what a user of a
    /// pool writes: take one and zero it.
    #[inline]
    fn get_zeroed(&self, size: usize) -> Self::Held<'_>
    where
        Self::Obj: Bytes,
    {
        let mut held = self.get_sized(size);
        Self::obj(&mut held).zero(size);
        held
    }
}

/// Keeps `x` (and, through it, what it points to) observable.
#[inline(always)]
pub fn sink<T: ?Sized>(x: &mut T) {
    black_box(x);
}
