//! Loom models of the crate's own concurrent protocols (built only with
//! `RUSTFLAGS="--cfg shardpool_loom"`). See `loom_*.rs`.
