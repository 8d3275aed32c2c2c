//! Any bytes into rotor's ONNX loader: it must return a model or an error, never panic, hang or
//! abort; a model it accepts must save, reload to the same graph text, and print.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(g) = rotor_export::load_bytes(data) else { return };
    let text = rotor_export::text::print(&g);
    let _ = rotor_export::text::summary(&g);
    let (_, same) = rotor_export::text::diff(&g, &g);
    assert_eq!(same, 0, "a graph differs from itself");
    if let Ok(bytes) = rotor_export::to_bytes(&g) {
        let back = rotor_export::load_bytes(&bytes).expect("a model rotor wrote must load again");
        assert_eq!(rotor_export::text::print(&back), text, "save + load changed the graph text");
    }
});
