#!/usr/bin/env python3
"""Plants one bug at a time in a scratch copy of the crate and checks that the
loom models meant to catch it fail. A model that passes with its bug in place
checks nothing.

Usage: scripts/loom_mutants.py [--check] [mutant-name ...]

Each mutant: (name, file, [(code to replace, replacement), ...], models
expected to fail). Prints one line per mutant and model with loom's first
complaint (or the signal, for a planted use-after-free that crashes).

A mutant whose code no longer occurs exactly once in its file is STALE: the
code it guarded changed, and the mutant must be rewritten for the new code.
Stale mutants fail the run. `--check` only checks that every mutant still
applies (seconds; CI runs it on every change), without running the models
(minutes; run it by hand after changing a protocol)."""
import os, shutil, subprocess, sys, tempfile, time

RING, SHARD, DIRECTORY, EXIT, POOL = (
    "src/shard/ring.rs", "src/shard/mod.rs", "src/shard/directory.rs",
    "src/shard/exit.rs", "src/pool.rs")

STEALABLE = ["publish_races_the_claim_that_empties_the_list",
             "spill_races_the_claim_that_empties_the_list"]

MUTANTS = [
    # The shared ring.
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
     [("            finish.claim.tail = index;\n", ""),
      ("            self.ring.tail.store(index, Ordering::Relaxed);\n", ""),
      ("            sink(unsafe { (*seg).read(index) });\n",
       "            sink(unsafe { (*seg).read(index) });\n"
       "            finish.claim.tail = index;\n"
       "            self.ring.tail.store(index, Ordering::Relaxed);\n")],
     ["refill_panic_reads_each_entry_once"]),
    ("refill frees no segment above its tail", RING,
     [("                self.owner.trim_above(self.claim);\n", "")],
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
    # The stealable bit against the shared list (shard/mod.rs).
    ("publish without its fence", SHARD,
     [("""        fence(Ordering::SeqCst);
        let index = self.shard.index;""", "        let index = self.shard.index;")],
     STEALABLE),
    ("emptying claim clears the bit without its fence", SHARD,
     [("""            self.directory.remove(Set::Stealable, index);
            // SeqCst: pairs with the fence in `Owner::publish` (module docs).
            fence(Ordering::SeqCst);""",
       "            self.directory.remove(Set::Stealable, index);")],
     STEALABLE),
    ("emptying claim never looks at the list again", SHARD,
     [("""            if self.shard.ring.pushed_past(self.claim.head()) {
                self.directory.add(Set::Stealable, index);
            }""", "")],
     STEALABLE),
    ("spill does not publish", SHARD,
     [("""            self.shard.pops.add(spilled as u64);
            self.publish();""", """            self.shard.pops.add(spilled as u64);""")],
     ["spill_races_the_claim_that_empties_the_list"]),
    # The directory's two-level sets.
    ("removal that empties a group never looks again", DIRECTORY,
     [("""        if group.members[set as usize].load(Ordering::Acquire) != 0 {
            leader.fetch_or(bit(g), Ordering::AcqRel);
        }""", "")],
     ["remove_emptying_a_group_races_an_add"]),
    ("add sets the group's leader bit before its own", DIRECTORY,
     [("""        let before = group.members[set as usize].fetch_or(bit(index), Ordering::AcqRel);
        if before == 0 {
            self.leader(g).groups[set as usize].fetch_or(bit(g), Ordering::AcqRel);
        }""", """        let before = group.members[set as usize].load(Ordering::Relaxed);
        if before == 0 {
            self.leader(g).groups[set as usize].fetch_or(bit(g), Ordering::AcqRel);
        }
        group.members[set as usize].fetch_or(bit(index), Ordering::AcqRel);""")],
     ["remove_emptying_a_group_races_an_add"]),
    # Shard ownership.
    # (A Relaxed store in `give_up` is not a bug on its own: the vacant set's
    # acquire/release read-modify-writes also order the next adopter after
    # the previous owner. Giving the shard up before the flush is one.)
    ("shard given up before the exit flush", POOL,
     [("""        self.flush_private(&owner, &mut drops);
        // Marked as exiting, this thread never touches the shard again.
        owner.give_up();""", """        // SAFETY: none; this is the planted bug.
        let early = unsafe { Owner::new(owner.shard(), &self.shards) };
        early.give_up();
        self.flush_private(&owner, &mut drops);""")],
     ["vacant_shard_adopted_while_its_owner_exits"]),
    ("adoption without the CAS", SHARD,
     [("""        self.owner
            .compare_exchange(NO_OWNER, token, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()""", """        self.owner.store(token, Ordering::Relaxed);
        true""")],
     ["newcomers_adopt_vacant_shards"]),
    # The pool's shortcut to one thread's shard (shard/hot.rs).
    ("shortcut claimed without the CAS", "src/shard/hot.rs",
     [("""        if self
            .token
            .compare_exchange(NO_OWNER, token, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            self.shard.store(shard.as_ptr(), Ordering::Relaxed);
        }""", """        self.token.store(token, Ordering::Relaxed);
        self.shard.store(shard.as_ptr(), Ordering::Relaxed);""")],
     ["the_shortcut_changes_hands"]),
    ("exit hook keeps the shard cache", EXIT,
     [("    crate::shard::cache::clear();\n", "")],
     ["vacant_shard_adopted_while_its_owner_exits"]),
    ("exit hook does not flush the private stack", POOL,
     [("        self.flush_private(&owner, &mut drops);\n        // Marked as exiting",
       "        // Marked as exiting")],
     ["exit_flush_races_steal"]),
    # The rest.
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
    ("victim rule needs three trims", "src/shard/private.rs",
     [("epoch.saturating_sub(stamp) >= 2", "epoch.saturating_sub(stamp) >= 3")],
     ["trim_races_get_and_put"]),
    ("owned guard returned to another thread's private stack", "src/guard.rs",
     [("        inner.release(value, Returner::Guard);\n        // The pool's state",
       """        match inner.shards.iter().next() {
            // SAFETY: none; this is the planted bug.
            Some(shard) => match unsafe { crate::shard::Owner::new(shard, &inner.shards) }
                .push(value, inner.epoch())
            {
                Ok(()) => {}
                Err(value) => inner.release(value, Returner::Guard),
            },
            None => inner.release(value, Returner::Guard),
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


def check(root):
    """Fails (exit 1) if any mutant no longer applies to the tree."""
    stale = 0
    for name, path, edits, _ in MUTANTS:
        text = open(os.path.join(root, path)).read()
        for old, _new in edits:
            text = patch(text, old, _new)
            if text is None:
                print(f"STALE   {name}: its code no longer occurs exactly once in {path}")
                stale += 1
                break
    print(f"{len(MUTANTS) - stale} of {len(MUTANTS)} mutants apply")
    sys.exit(1 if stale else 0)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    args = sys.argv[1:]
    if "--check" in args:
        check(root)
    wanted = set(args)
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
