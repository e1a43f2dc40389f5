//! The README's key table is the key table: every binding in
//! `scanwall::ui::keys::BINDINGS` has its row, word for word.

use scanwall::ui::keys::BINDINGS;

/// The rows the README must hold, generated from the bindings.
fn expected_rows() -> Vec<String> {
    BINDINGS
        .iter()
        .filter(|b| !b.keys.is_empty())
        .map(|b| format!("| `{}` | {} |", b.keys, b.help))
        .collect()
}

#[test]
fn readme_key_table_matches_the_bindings() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
    let missing: Vec<String> = expected_rows()
        .into_iter()
        .filter(|row| !readme.contains(row.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md's key table is out of date; these rows are missing:\n{}",
        missing.join("\n")
    );
}
