#!/usr/bin/env python3
"""Plants one bug at a time in a scratch copy of the crate and checks that the
loom models meant to catch it fail. A model that passes with its bug in place
checks nothing. Usage: scripts/loom_mutants.py [mutant-name ...]

Each mutant: (name, file, [(code to replace, replacement), ...], models
expected to fail). Prints one line per mutant and model with loom's first
complaint (or the signal, for a planted use-after-free that crashes).

BASELINE holds fixes for core bugs the models found that are not fixed in
the tree yet; each is applied to the scratch copy before the mutant (and
skipped once the tree has it), so that a mutant is judged against a core
the models pass on. Remove an entry once the fix is in."""
import os, shutil, subprocess, sys, tempfile, time

BASELINE = []

RING, SHARD, EXIT, INNER = ("src/shard/ring.rs", "src/shard/mod.rs",
                            "src/shard/exit.rs", "src/inner.rs")

MUTANTS = [
    ("push publishes tail with Relaxed", RING,
     [("ring.tail.store(tail.wrapping_add(1), Ordering::Release);",
       "ring.tail.store(tail.wrapping_add(1), Ordering::Relaxed);")],
     ["push_races_batch_steal"]),
    ("link publishes next with Relaxed", RING,
     [("unsafe { &*last }.next.store(fresh, Ordering::Release);",
       "unsafe { &*last }.next.store(fresh, Ordering::Relaxed);")],
     ["push_links_segment_races_steal_that_frees"]),
    ("link publishes first with Relaxed", RING,
     [("self.ring.removers.first.store(fresh, Ordering::Release);",
       "self.ring.removers.first.store(fresh, Ordering::Relaxed);")],
     ["first_segment_link_races_trim"]),
    ("free_consumed loads first with Relaxed", RING,
     [("let first = removers.first.load(Ordering::Acquire);",
       "let first = removers.first.load(Ordering::Relaxed);")],
     ["first_segment_link_races_trim"]),
    ("claim CAS with Relaxed instead of Acquire", RING,
     [(".compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)",
       ".compare_exchange(false, true, Ordering::Relaxed, Ordering::Relaxed)")],
     ["owner_refill_races_steal", "two_stealers_and_push"]),
    ("claim taken without the CAS", RING,
     [("""        self.removers
            .claimed
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;""", "")],
     ["two_stealers_and_push", "owner_refill_races_steal"]),
    ("free_consumed frees the owner's newest segment (next null)", RING,
     [("if next.is_null() || !consumed {", "if !consumed {"),
      ("""            unsafe { &*next }
                .prev
                .store(ptr::null_mut(), Ordering::Relaxed);""",
       """            if let Some(next) = unsafe { next.as_ref() } {
                next.prev.store(ptr::null_mut(), Ordering::Relaxed);
            }""")],
     ["push_links_segment_races_steal_that_frees", "two_stealers_and_push"]),
    ("free_consumed frees a segment that still holds entries", RING,
     [("if next.is_null() || !consumed {", "if next.is_null() {")],
     ["two_stealers_and_push"]),
    ("refill forgets to lower tail", RING,
     [("            self.ring.tail.store(index, Ordering::Relaxed);\n", "")],
     ["owner_refill_races_steal"]),
    ("refill lowers tail after handing the entry out", RING,
     [("            claim.tail = index;\n", ""),
      ("            self.ring.tail.store(index, Ordering::Relaxed);\n", ""),
      ("            sink(rank, unsafe { (*seg).read(index) });\n",
       "            sink(rank, unsafe { (*seg).read(index) });\n"
       "            claim.tail = index;\n"
       "            self.ring.tail.store(index, Ordering::Relaxed);\n")],
     ["refill_panic_reads_each_entry_once"]),
    ("refill frees no segment above its tail", RING,
     [("        self.trim_above(claim);\n", "")],
     ["owner_refill_races_steal"]),
    ("refill keeps a next pointer to the segments it freed", RING,
     [("        keep_ref.next.store(ptr::null_mut(), Ordering::Relaxed);\n", "")],
     ["owner_refill_races_steal"]),
    ("release_if_empty frees a ring that holds entries", RING,
     [("""        if claim.len() != 0 {
            return;
        }
        let first""", "        let first")],
     ["release_if_empty_races_steal"]),
    ("trim compaction forgets to move head", RING,
     [("        self.head = start;\n", "")],
     ["trim_compaction_races_push"]),
    ("ownership released with Relaxed", SHARD,
     [("self.shard.owner.store(0, Ordering::Release);",
       "self.shard.owner.store(0, Ordering::Relaxed);")],
     ["shard_adopted_after_exit_hook"]),
    ("adoption ignores the current owner", SHARD,
     [("""        if free {
            Adoption::Adopted
        } else {
            Adoption::Refused
        }""", "        let _ = free;\n        Adoption::Adopted")],
     ["shard_adopted_after_exit_hook"]),
    ("exit hook keeps the shard cache", EXIT,
     [("    crate::shard::cache::clear();\n", "")],
     ["shard_adopted_after_exit_hook"]),
    ("exit hook does not flush the private stack", INNER,
     [("        self.flush_private(owner, &mut drops);\n        // Marked as exiting",
       "        // Marked as exiting")],
     ["exit_flush_races_steal"]),
    ("budget check-then-add without CAS", "src/budget.rs",
     [("""            match self
                .used
                .compare_exchange_weak(used, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(now) => used = now,
            }""", """            let _ = &mut used;
            self.used.store(next, Ordering::Relaxed);
            return true;""")],
     ["concurrent_charges_stay_within_limit"]),
    ("victim rule needs three trims", "src/trim/mod.rs",
     [("epoch.saturating_sub(stamp) >= 2", "epoch.saturating_sub(stamp) >= 3")],
     ["trim_races_get_and_put"]),
    ("owned guard returned to another thread's private stack", "src/guard.rs",
     [("        inner.put_from_guard(value);\n        // The pool's state",
       """        match inner.shards.iter().next() {
            // SAFETY: none; this is the planted bug.
            Some(shard) => match unsafe { crate::shard::Owner::new(shard) }.push(value, inner.epoch()) {
                Ok(()) => {}
                Err(value) => inner.put_from_guard(value),
            },
            None => inner.put_from_guard(value),
        }
        // The pool's state""")],
     ["guard_dropped_on_another_thread"]),
]


def first_complaint(out):
    """The first panic's message (the line after `panicked at`), else the
    signal that killed the run, else the first line that names a violation
    or an invariant."""
    lines = [l.strip() for l in out.splitlines()]
    for i, line in enumerate(lines):
        if "panicked at" in line:
            message = next((l for l in lines[i + 1:i + 3] if l), "")
            return f"{message} ({line.rsplit(' at ', 1)[-1].rstrip(':')})"
    for line in lines:
        if "signal:" in line:
            return line[line.index("(signal:"):] if "(signal:" in line else line
    return next((l for l in lines if "violation" in l or "assert" in l
                 or "I1" in l or "I2" in l or "I5" in l or "I6" in l), "")


def patch(text, old, new):
    """`text` with `old` replaced by `new`, or None unless `old` occurs once."""
    return text.replace(old, new) if text.count(old) == 1 else None


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    wanted = set(sys.argv[1:])
    target = os.path.join(root, "target", "loom-mutants")
    # Seed the mutants' target directory with the loom build's dependencies.
    seed = os.path.join(root, "target", "loom")
    if not os.path.exists(os.path.join(target, "loom")) and os.path.isdir(seed):
        shutil.copytree(seed, os.path.join(target, "loom"), symlinks=True)
    failures = 0
    for name, path, edits, models in MUTANTS:
        if wanted and name not in wanted:
            continue
        scratch = tempfile.mkdtemp(prefix="shardpool-mutant-")
        shutil.copytree(root, scratch, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("target", ".git", "fuzz"))
        for base_path, old, new in BASELINE:
            file = os.path.join(scratch, base_path)
            text = open(file).read()
            fixed = patch(text, old, new)
            if fixed is not None:
                open(file, "w").write(fixed)
        file = os.path.join(scratch, path)
        text = open(file).read()
        stale = False
        for old, new in edits:
            text = patch(text, old, new)
            if text is None:
                stale = True
                break
        if stale:
            print(f"STALE   {name}: pattern not found exactly once in {path}")
            failures += 1
            shutil.rmtree(scratch)
            continue
        open(file, "w").write(text)
        for model in models:
            started = time.time()
            env = dict(os.environ, CARGO_TARGET_DIR=target)
            run = subprocess.run([os.path.join(scratch, "scripts", "loom.sh"), model],
                                 cwd=scratch, env=env, capture_output=True, text=True)
            out = run.stdout + run.stderr
            complaint = first_complaint(out)
            if "error[" in out or "could not compile" in out:
                verdict, complaint = "BROKEN", "mutant does not compile"
            elif run.returncode != 0:
                verdict = "caught"
            else:
                verdict = "MISSED"
            if verdict != "caught":
                failures += 1
            print(f"{verdict:7} {name} -> {model} ({time.time() - started:.0f}s): {complaint[:200]}",
                  flush=True)
        shutil.rmtree(scratch)
    sys.exit(1 if failures else 0)

main()
