//! Running a scenario in a child process, for faults that abort.
//!
//! Some of the faults the tests reproduce abort the process (a panic in a
//! thread-local destructor, a panic while panicking, glibc's double-free
//! check). Such a scenario must not take the whole test binary down with it,
//! so [`isolated`] re-executes this test binary in a child process that runs
//! only the calling test (`--exact`), with an environment variable telling it
//! to run the scenario itself; the parent asserts that the child exited
//! successfully and printed its summary line, and shows the child's output
//! otherwise.
//!
//! Tests that call `shardpool::trim_all` use it too: `trim_all` trims every
//! pool in the process, so in this shared binary it would age the idle
//! objects of whichever tests run beside it.
//!
//! Under Miri (which cannot spawn processes, and runs one test at a time) the
//! scenario runs in-process.

use std::process::Command;

/// Names the test a child process is to run as its scenario.
const SCENARIO: &str = "SHARDPOOL_TEST_SCENARIO";
/// Printed by a child after its scenario returned.
const DONE: &str = "SCENARIO-DONE";

/// Runs `scenario` in a child process running only the test `name` of module
/// `module` (pass `module_path!()`), and returns its summary; or runs it
/// right here if this process is that child (or under Miri).
///
/// The scenario makes its own assertions and returns a one-line summary of
/// what it counted, which the child prints and the parent checks for.
pub fn isolated(module: &str, name: &str, scenario: impl FnOnce() -> String) -> String {
    isolated_with_stderr(module, name, scenario).0
}

/// Like [`isolated`], also returning what the child printed on stderr (empty
/// under Miri, where the scenario runs in-process).
pub fn isolated_with_stderr(
    module: &str,
    name: &str,
    scenario: impl FnOnce() -> String,
) -> (String, String) {
    // `module_path!()` starts with the crate (`it`); test names do not.
    let module = module.split_once("::").map_or("", |(_, rest)| rest);
    let test = if module.is_empty() {
        name.to_string()
    } else {
        format!("{module}::{name}")
    };
    if cfg!(miri) {
        return (scenario(), String::new());
    }
    if std::env::var(SCENARIO).as_deref() == Ok(test.as_str()) {
        let summary = scenario();
        // On a line of its own (libtest has printed `test NAME ... `).
        println!("\n{DONE} {test}: {summary}");
        return (summary, String::new());
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let output = Command::new(exe)
        .args(["--exact", &test, "--nocapture", "--test-threads=1"])
        .env(SCENARIO, &test)
        .output()
        .expect("re-executing the test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let marker = format!("{DONE} {test}: ");
    let summary = stdout
        .lines()
        .find_map(|line| Some(line[line.find(marker.as_str())? + marker.len()..].to_string()));
    match summary {
        Some(summary) if output.status.success() => {
            println!("{test}: {summary}");
            (summary, stderr.into_owned())
        }
        _ => panic!(
            "scenario `{test}` failed in its child process ({}):\n\
             --- child stdout (last 40 lines) ---\n{}\n\
             --- child stderr (last 150 lines) ---\n{}",
            output.status,
            tail(&stdout, 40),
            tail(&stderr, 150),
        ),
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
