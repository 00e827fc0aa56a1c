//! One home for each fact: where prose (in `src/`, the README and the
//! guides) restates a constant of the code — a segment's size, the private
//! stack's, the directory's fan-out, a default — it must say what the code
//! says. Each fact below reads its value from the code (a public constant,
//! or the line that defines a private one), then finds every phrase that
//! restates it and checks the number in it. Change a constant and forget a
//! sentence, and this fails, naming the file and line.
//!
//! (`tests/doc_numbers.rs` is its sibling for measured numbers: tables
//! must come from generated files.) Files not shipped in the package
//! (`docs/`) are checked when present.

use std::path::{Path, PathBuf};

/// A constant's value, read from its defining line in a source file:
/// `needle` must occur once, followed by the number.
fn defined(file: &str, needle: &str) -> u64 {
    let text = read(Path::new(env!("CARGO_MANIFEST_DIR")).join(file).as_path())
        .unwrap_or_else(|| panic!("{file} is part of the package"));
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not found in {file}: update this test"));
    number_at(&text[at + needle.len()..]).unwrap_or_else(|| panic!("no number after `{needle}`"))
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// The length of the number (digits, with `,` or `_` between digits) at the
/// start of `text`.
fn number_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut len = 0;
    while len < bytes.len() {
        let separator = matches!(bytes[len], b',' | b'_')
            && len > 0
            && bytes.get(len + 1).is_some_and(u8::is_ascii_digit);
        if !bytes[len].is_ascii_digit() && !separator {
            break;
        }
        len += 1;
    }
    len
}

/// The number at the start of `text` (see `number_len`).
fn number_at(text: &str) -> Option<u64> {
    let digits: String = text[..number_len(text)]
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The whole number ending just before `text.len()` (`None` for the
/// fraction of a decimal, as the `250` of `3.250`).
fn number_before(text: &str) -> Option<u64> {
    let start = text
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_digit() || *c == ',')
        .last()
        .map(|(i, _)| i)?;
    if text[..start].ends_with('.') {
        return None;
    }
    number_at(&text[start..])
}

/// Every file the prose lives in: `src/**/*.rs` (not the loom models, which
/// run with their own small sizes), the README, and `docs/*.md` if present.
fn prose_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut dirs = vec![root.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() && !path.ends_with("tests") {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(root.join("docs")) {
        files.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "md")),
        );
    }
    files
}

/// Every number that `template` (a phrase with one `{}`) states, with where.
fn stated(template: &str) -> Vec<(String, u64)> {
    let (before, after) = template.split_once("{}").expect("one {} in the template");
    let mut found = Vec::new();
    for file in prose_files() {
        let Some(text) = read(&file) else { continue };
        let lower = text.to_lowercase();
        for (line_no, line) in lower.lines().enumerate() {
            let place = format!("{}:{}", file.display(), line_no + 1);
            if before.is_empty() {
                for (at, _) in line.match_indices(after) {
                    if let Some(n) = number_before(&line[..at]) {
                        found.push((place.clone(), n));
                    }
                }
            } else {
                for (at, _) in line.match_indices(before) {
                    let rest = &line[at + before.len()..];
                    if let Some(n) = number_at(rest)
                        && rest[number_len(rest)..].starts_with(after)
                    {
                        found.push((place.clone(), n));
                    }
                }
            }
        }
    }
    found
}

/// Fails unless every phrase of `templates` states `value`, and unless it
/// finds at least one (a check that finds nothing could never fail: its
/// templates have gone stale).
fn check(fact: &str, value: u64, templates: &[&str]) {
    let mut wrong = Vec::new();
    let mut seen = 0;
    for template in templates {
        for (place, n) in stated(&template.to_lowercase()) {
            seen += 1;
            if n != value {
                wrong.push(format!("{place}: says {n} (\"{template}\")"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{fact} is {value} in the code, but:\n{}",
        wrong.join("\n")
    );
    assert!(
        seen > 0,
        "no prose states {fact} any more: update {templates:?}"
    );
}

#[test]
fn a_shared_list_segment() {
    let segment = defined(
        "src/shard/ring.rs",
        "#[cfg(not(any(shardpool_loom, fuzzing)))]\npub(crate) const SEGMENT: usize = ",
    );
    check(
        "ring::SEGMENT",
        segment,
        &[
            "segments of {}",
            "{}-entry segment",
            "{} entries per segment",
        ],
    );
}

#[test]
fn the_private_stack() {
    let stack = defined("src/config.rs", "pub(crate) const PRIVATE_STACK: usize = ");
    // The trim reach formula, `min(32, (max_idle_per_thread + 2) / 2)`.
    check("config::PRIVATE_STACK", stack, &["min({},"]);
}

#[test]
fn the_directory_fan_out() {
    let fanout = defined(
        "src/shard/directory.rs",
        "#[cfg(not(shardpool_loom))]\nconst FANOUT: usize = ",
    );
    check("directory::FANOUT", fanout, &["groups of {}"]);
    check(
        "directory::FANOUT squared",
        fanout * fanout,
        &["word per {} shards"],
    );
}

#[test]
fn the_shard_cache() {
    let lines = defined("src/shard/cache.rs", "const LINES: usize = ");
    check(
        "cache::LINES",
        lines,
        &["core's shard cache has {} lines", "the cache has {} lines"],
    );
}

#[test]
fn an_idle_entry() {
    // A shared-list entry: the object's box, its stamp and its weight.
    let entry = std::mem::size_of::<(Box<u8>, u64, usize)>() as u64;
    check(
        "a shared-list entry's size",
        entry,
        &["{} bytes per idle entry"],
    );
}

#[test]
fn the_defaults() {
    check(
        "DEFAULT_MAX_IDLE_PER_THREAD",
        shardpool::DEFAULT_MAX_IDLE_PER_THREAD as u64,
        &["objects (default {})", "max_idle_per_thread` {} →"],
    );
    check(
        "MAX_IDLE_PER_THREAD_LIMIT",
        shardpool::MAX_IDLE_PER_THREAD_LIMIT as u64,
        &["max_idle_per_thread` above {}"],
    );
    check(
        "BufferPool::DEFAULT_MAX_IDLE_PER_THREAD",
        shardpool::BufferPool::DEFAULT_MAX_IDLE_PER_THREAD as u64,
        &["per class: {},"],
    );
    let mib = |bytes: usize| (bytes >> 20) as u64;
    check(
        "BufferPool::DEFAULT_MAX_IDLE_BYTES",
        mib(shardpool::BufferPool::DEFAULT_MAX_IDLE_BYTES),
        &[
            "the default budget, {} mib",
            "{} mib budget",
            "and budget ({} mib)",
        ],
    );
    check(
        "BufferPool::DEFAULT_MAX_CLASS_SIZE",
        mib(shardpool::BufferPool::DEFAULT_MAX_CLASS_SIZE),
        &[
            "largest class: {} mib",
            "256 b to {} mib",
            "256 b and {} mib",
            "256 b ..= {} mib",
        ],
    );
    check(
        "BufferPool::DEFAULT_MIN_CLASS_SIZE",
        shardpool::BufferPool::DEFAULT_MIN_CLASS_SIZE as u64,
        &[
            "smallest class: {} bytes",
            "classes {} b ..=",
            "classes ({} b to",
            "defaults {} b and",
        ],
    );
}

/// The trimmer's longest sleep has one home, a public constant; prose
/// names the constant instead of restating it.
#[test]
fn the_trimmer_sleep() {
    let ms = shardpool::BackgroundTrimmer::MAX_SLEEP.as_millis() as u64;
    let restated = stated("{} ms")
        .into_iter()
        .filter(|(_, n)| *n == ms)
        .map(|(place, _)| place)
        .collect::<Vec<_>>();
    assert!(
        restated.is_empty(),
        "name `BackgroundTrimmer::MAX_SLEEP` instead of restating {ms} ms:\n{}",
        restated.join("\n")
    );
}

/// Code and docs explain; they do not cite the project's tracker. The word
/// "issue" followed by a number (or `#` and a number) in the sources,
/// tests, benches, scripts or guides tells a reader nothing they can open.
/// Another project's issue is named with its project, as in "Go's issue"
/// and its number.
#[test]
fn no_tracker_history() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = prose_files();
    let mut dirs: Vec<PathBuf> = ["src/tests", "tests", "benches", "examples", "scripts"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue; // not in the package (scripts/)
        };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .extension()
                .is_some_and(|e| ["rs", "sh", "py", "md"].iter().any(|x| e == *x))
            {
                files.push(path);
            }
        }
    }
    let mut found = Vec::new();
    for path in &files {
        let Some(text) = read(path) else { continue };
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            let mut rest = lower.as_str();
            while let Some(at) = rest.find("issue") {
                let before = &rest[..at];
                let after = rest[at + "issue".len()..].trim_start_matches([' ', '#']);
                let cites = after.starts_with(|c: char| c.is_ascii_digit())
                    && !rest[at..].starts_with("issues")
                    && !before.trim_end().ends_with("'s");
                if cites {
                    found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
                rest = &rest[at + "issue".len()..];
            }
        }
    }
    assert!(
        found.is_empty(),
        "explain instead of citing an issue number:\n{}",
        found.join("\n")
    );
}
