//! How `shardpool` works, and why it is built this way.
//!
//! (This page is documentation only; it holds no code.)
//!
//! See the crate root for the shape. Sections below are filled in with the
//! measurements as the benchmarks land.
