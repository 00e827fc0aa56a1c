//! Every table in `docs/performance.md` must appear verbatim in one of the
//! generated files under `docs/perf/` (written by `scripts/perf_tables.sh`),
//! so every number in the document has a command that produced it. Text only:
//! nothing is timed here.
//!
//! A table is a run of consecutive lines starting with `|`. This test fails
//! if a table was edited by hand, or copied from a run that was since
//! regenerated: rerun the script and copy the new tables.

use std::path::Path;

/// The tables of a markdown text: runs of consecutive lines starting with `|`,
/// each joined with `\n`, trailing spaces removed.
fn tables(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim_end) {
        if line.starts_with('|') {
            current.push(line);
        } else if !current.is_empty() {
            out.push(current.join("\n"));
            current.clear();
        }
    }
    if !current.is_empty() {
        out.push(current.join("\n"));
    }
    out
}

/// The generated files: every `.md` under `docs/perf/`, lines' trailing
/// spaces removed.
fn generated(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("docs/perf/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable file");
            let text: Vec<&str> = text.lines().map(str::trim_end).collect();
            (p.display().to_string(), text.join("\n"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_table_in_performance_md_is_generated() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/performance.md"))
        .expect("docs/performance.md exists");
    let files = generated(&root.join("docs/perf"));
    let doc_tables = tables(&doc);
    assert!(
        !doc_tables.is_empty(),
        "docs/performance.md has no tables: the test would prove nothing"
    );
    let missing: Vec<&String> = doc_tables
        .iter()
        .filter(|t| !files.iter().any(|(_, text)| text.contains(t.as_str())))
        .collect();
    assert!(
        missing.is_empty(),
        "{} table(s) of docs/performance.md appear in no file of docs/perf/ \
         (rerun scripts/perf_tables.sh and copy its tables):\n\n{}",
        missing.len(),
        missing
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

/// The check itself: a table matches only verbatim and whole.
#[test]
fn a_changed_number_is_caught() {
    let generated = "head\n| a | b |\n|---|--:|\n| x | 1.0 |\n\ntext";
    let doc_ok = "intro\n| a | b |\n|---|--:|\n| x | 1.0 |\nmore";
    let doc_bad = "intro\n| a | b |\n|---|--:|\n| x | 1.1 |\nmore";
    assert_eq!(tables(doc_ok), vec!["| a | b |\n|---|--:|\n| x | 1.0 |"]);
    assert!(
        tables(doc_ok)
            .iter()
            .all(|t| generated.contains(t.as_str()))
    );
    assert!(
        !tables(doc_bad)
            .iter()
            .all(|t| generated.contains(t.as_str()))
    );
}
