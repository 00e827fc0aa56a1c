//! What the trimmer thread runs besides the pools' automatic trims.
//!
//! A part that needs the trimmer's thread implements [`Hook`] and either
//! registers it with a handle
//! ([`BackgroundTrimmer::start_with_hook`](super::BackgroundTrimmer::start_with_hook):
//! it runs while that handle lives, as a pressure watcher does) or is listed
//! in [`standing`] (it runs on every trimmer thread, from its start to its
//! stop, as the `metrics` recording does). This file is the one place that
//! names the parts with a standing hook; the trimmer loop names none.

use std::sync::Arc;

/// Work done on the trimmer thread at each of its passes, after the pools'
/// automatic trims.
pub(crate) trait Hook: Send + Sync {
    /// Runs once per pass. Returns when this hook next wants a pass
    /// (`now_nanos` scale), if earlier than the trimmer would wake anyway.
    /// May run user code: the trimmer catches and counts a panic from it.
    fn tick(&self) -> Option<u64>;
}

/// The standing hooks of the optional parts compiled in, in the order they
/// run (after the registered hooks, so they see that pass's trims).
pub(super) fn standing() -> Vec<Arc<dyn Hook>> {
    vec![
        #[cfg(feature = "metrics")]
        (Arc::new(crate::metrics::RecordOnTick) as Arc<dyn Hook>),
    ]
}
