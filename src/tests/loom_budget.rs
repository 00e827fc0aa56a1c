//! The retained-bytes budget: concurrent charges never overshoot.

use super::run_model;
use crate::budget::Budget;
use loom::thread;
use std::sync::Arc;

/// Two threads charge 60 bytes each against a 100-byte budget that already
/// holds 40, while the main thread releases those 40: whatever the order,
/// exactly one charge fits (40 + 60 or 0 + 60, never 60 + 60), and the total
/// never exceeds the limit.
#[test]
fn concurrent_charges_stay_within_limit() {
    run_model(|| {
        let budget = Arc::new(Budget::new(100));
        assert!(budget.try_charge(40));
        let chargers: Vec<_> = (0..2)
            .map(|_| {
                let budget = Arc::clone(&budget);
                thread::spawn(move || {
                    let ok = budget.try_charge(60);
                    assert!(budget.used() <= 100);
                    ok
                })
            })
            .collect();
        budget.release(40);
        let wins = chargers
            .into_iter()
            .map(|c| c.join().unwrap())
            .filter(|&won| won)
            .count();
        assert_eq!(wins, 1);
        assert_eq!(budget.used(), 60);
    });
}
