//! Any text as a config: parsing and building must return a graph or an error naming a field,
//! never panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(value) = rotor_builder::config::parse_json_text(text) else { return };
    let Ok(g) = rotor_builder::emit::build_from_json(&value, None) else { return };
    let _ = rotor_export::to_bytes(&g);
    let _ = rotor_export::text::print(&g);
});
