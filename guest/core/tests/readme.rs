//! The README's classification and policy tables are generated from the code, so
//! they cannot drift. `TETHER_BLESS=1 cargo test -p tether-core --test readme`
//! rewrites them.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

fn readme_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md")
}

fn section(text: &str, name: &str) -> (usize, usize) {
    let begin = format!("<!-- {name}:BEGIN -->\n");
    let end = format!("<!-- {name}:END -->");
    let b = text
        .find(&begin)
        .unwrap_or_else(|| panic!("README has no {begin}"));
    let e = text
        .find(&end)
        .unwrap_or_else(|| panic!("README has no {end}"));
    (b + begin.len(), e)
}

fn check(name: &str, body: String) {
    let path = readme_path();
    let text = std::fs::read_to_string(&path).unwrap();
    let (b, e) = section(&text, name);
    if text[b..e] == body {
        return;
    }
    if std::env::var_os("TETHER_BLESS").is_some() {
        let new = format!("{}{}{}", &text[..b], body, &text[e..]);
        std::fs::write(&path, new).unwrap();
        return;
    }
    panic!(
        "the README's {name} section is out of date; run \
         TETHER_BLESS=1 cargo test -p tether-core --test readme"
    );
}

#[test]
fn classifier_table_is_current() {
    let body = format!(
        "Table version {}. Rows are tried in order; the first that matches wins. A \
         six-digit IoT-hub code is looked up before its HTTP status.\n\n{}\n",
        tether_core::classify::TABLE_VERSION,
        tether_core::classify::markdown_table().trim_end()
    );
    check("CLASSIFIER", body);
}

#[test]
fn refusal_table_is_current() {
    let body = format!(
        "Refusal table version {}. Rows are tried in order; the first that matches wins.\n\n{}\n",
        tether_core::classify::refusals::REFUSAL_TABLE_VERSION,
        tether_core::classify::refusals::markdown_table().trim_end()
    );
    check("REFUSALS", body);
}

#[test]
fn policy_table_is_current() {
    let body = format!(
        "{}\n",
        tether_core::policy::describe_formulas_markdown().trim_end()
    );
    check("POLICIES", body);
}
