//! Every table in `docs/performance.md`, and every table of numbers in
//! `README.md`, must appear verbatim in one of the generated files under
//! `docs/perf/` (written by `scripts/perf_tables.sh` and
//! `scripts/rss_table.sh`), so every number has a command that produced it.
//! Text only: nothing is timed here.
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

/// Whether a table carries measurements: some data cell is a number (with
/// an optional `x` for a ratio), as in `| single | 16.0 | 5.5 | 0.35x |`.
/// The README's other tables (what a misuse does) hold none.
fn has_numbers(table: &str) -> bool {
    table.lines().skip(2).any(|row| {
        row.split('|').map(str::trim).any(|cell| {
            let cell = cell.strip_suffix('x').unwrap_or(cell);
            !cell.is_empty() && cell.parse::<f64>().is_ok()
        })
    })
}

#[test]
fn every_table_of_numbers_in_the_readme_is_generated() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md exists");
    let files = generated(&root.join("docs/perf"));
    let numeric: Vec<String> = tables(&readme)
        .into_iter()
        .filter(|t| has_numbers(t))
        .collect();
    assert!(
        numeric.len() >= 2,
        "the README's performance and memory tables were not found: the test would prove nothing"
    );
    for table in &numeric {
        assert!(
            files.iter().any(|(_, text)| text.contains(table.as_str())),
            "a README table appears in no file of docs/perf/ (rerun the scripts and copy it):\n\n{table}"
        );
    }
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
    assert!(has_numbers("| a | b |\n|---|--:|\n| x | 1.0x |"));
    assert!(!has_numbers(
        "| case | outcome |\n|---|---|\n| `cap(0)` | dropped |"
    ));
}
