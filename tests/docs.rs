//! The contracts in `docs/config.md` are generated from the code's own key tables
//! (`rotor_builder::config::keys`); this test fails when they drift. Regenerate with
//! `ROTOR_UPDATE_DOCS=1 cargo test -p rotor-tests --test docs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed expectation panics, which is how a test fails")]

use rotor_tests::repo_root;

const START: &str = "<!-- generated: config keys (tests/docs.rs) -->\n";
const END: &str = "<!-- end generated -->";

#[test]
fn config_docs_match_the_key_tables() {
    let path = repo_root().join("docs/config.md");
    let text = std::fs::read_to_string(&path).expect("docs/config.md");
    let (Some(a), Some(b)) = (text.find(START), text.find(END)) else { panic!("docs/config.md lacks the generated-section markers") };
    let want = rotor_builder::config::keys::markdown();
    let have = &text[a + START.len()..b];
    if have != want {
        if std::env::var("ROTOR_UPDATE_DOCS").as_deref() == Ok("1") {
            let updated = format!("{}{START}{want}{}", &text[..a], &text[b..]);
            std::fs::write(&path, updated).expect("write docs/config.md");
            return;
        }
        panic!("docs/config.md is out of date with the key tables: run ROTOR_UPDATE_DOCS=1 cargo test -p rotor-tests --test docs");
    }
}
