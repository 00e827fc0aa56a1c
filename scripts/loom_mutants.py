#!/usr/bin/env python3
"""Plants one bug at a time in a scratch copy of the crate and checks that the
loom models meant to catch it fail. A model that passes with its bug in place
checks nothing. Usage: scripts/loom_mutants.py [mutant-name ...]

Each mutant: (name, file, code to replace, replacement, models expected to fail).
Prints one line per mutant with loom's first complaint."""
import os, shutil, subprocess, sys, tempfile, time

MUTANTS = [
    ("push publishes tail with Relaxed", "src/ring.rs",
     "self.tail.store(tail.wrapping_add(1), Ordering::Release)",
     "self.tail.store(tail.wrapping_add(1), Ordering::Relaxed)",
     ["push_races_batch_steal"]),
    ("claim end publishes head with Relaxed", "src/ring.rs",
     "self.ring.removers.head.store(self.head, Ordering::Release)",
     "self.ring.removers.head.store(self.head, Ordering::Relaxed)",
     ["owner_reuses_slot_a_stealer_emptied"]),
    ("claim taken without the CAS", "src/ring.rs",
     """        self.removers
            .claimed
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;""",
     "",
     ["two_stealers_and_push", "owner_refill_races_steal"]),
    ("claim CAS with Relaxed instead of Acquire", "src/ring.rs",
     ".compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)",
     ".compare_exchange(false, true, Ordering::Relaxed, Ordering::Relaxed)",
     ["owner_refill_races_steal", "two_stealers_and_push"]),
    ("owner refill forgets to lower tail", "src/ring.rs",
     "self.ring.tail.store(start, Ordering::Relaxed);",
     "",
     ["owner_refill_races_steal"]),
    ("trim compaction forgets to move head", "src/ring.rs",
     "        self.head = write;\n",
     "        let _ = write;\n",
     ["trim_compaction_races_push"]),
    ("ownership released with Relaxed", "src/shard.rs",
     "self.owner.store(0, Ordering::Release);",
     "self.owner.store(0, Ordering::Relaxed);",
     ["shard_adopted_after_exit_hook"]),
    ("adoption ignores the current owner", "src/shard.rs",
     """        if free {
            Adoption::Adopted
        } else {
            Adoption::Refused
        }""",
     "        let _ = free;\n        Adoption::Adopted",
     ["shard_adopted_after_exit_hook"]),
    ("exit hook keeps the shard cache", "src/exit.rs",
     "    crate::cache::clear();\n",
     "",
     ["shard_adopted_after_exit_hook"]),
    ("exit hook does not flush the private stack", "src/exit.rs",
     "        self.flush_private(shard);\n",
     "",
     ["exit_flush_races_steal"]),
    ("steal takes more than it claimed", "src/take.rs",
     "let batch = claim.len().div_ceil(2).min(room + 1);",
     "let batch = claim.len().min(room + 1) + 1;",
     ["private_stack_races_steal", "exit_flush_races_steal"]),
    ("budget check-then-add without CAS", "src/budget.rs",
     """            match self
                .used
                .compare_exchange_weak(used, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(now) => used = now,
            }""",
     """            let _ = &mut used;
            self.used.store(next, Ordering::Relaxed);
            return true;""",
     ["concurrent_charges_stay_within_limit"]),
    ("victim rule needs three trims", "src/trim.rs",
     "epoch.saturating_sub(stamp) >= 2",
     "epoch.saturating_sub(stamp) >= 3",
     ["trim_races_get_and_put"]),
    ("guard returned to the taking thread's shard", "src/guard.rs",
     """        let value = unsafe { ManuallyDrop::take(&mut self.value) };
        self.pool.inner().give_from_guard(value);""",
     """        let value = unsafe { ManuallyDrop::take(&mut self.value) };
        let inner = self.pool.inner();
        if let Some(shard) = inner.shards.iter().next() {
            unsafe { let _ = shard.push_private(value, inner.epoch()); }
        } else { inner.give_from_guard(value) }""",
     ["guard_dropped_on_another_thread"]),
]

def first_complaint(out):
    """The first panic's message (the line after `panicked at`), else the
    first line that names a violation or an invariant."""
    lines = [l.strip() for l in out.splitlines()]
    for i, line in enumerate(lines):
        if "panicked at" in line:
            message = next((l for l in lines[i + 1:i + 3] if l), "")
            return f"{message} ({line.rsplit(' at ', 1)[-1].rstrip(':')})"
    return next((l for l in lines if "violation" in l or "assert" in l
                 or "I1" in l or "I2" in l or "I5" in l or "I6" in l), "")


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    wanted = set(sys.argv[1:])
    target = os.path.join(root, "target", "loom-mutants")
    failures = 0
    for name, path, old, new, models in MUTANTS:
        if wanted and name not in wanted:
            continue
        scratch = tempfile.mkdtemp(prefix="shardpool-mutant-")
        shutil.copytree(root, scratch, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("target", ".git", "fuzz"))
        file = os.path.join(scratch, path)
        text = open(file).read()
        if text.count(old) != 1:
            print(f"STALE   {name}: pattern not found exactly once in {path}")
            failures += 1
            continue
        open(file, "w").write(text.replace(old, new))
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
            print(f"{verdict:7} {name} -> {model} ({time.time() - started:.0f}s): {complaint[:160]}",
                  flush=True)
        shutil.rmtree(scratch)
    sys.exit(1 if failures else 0)

main()
