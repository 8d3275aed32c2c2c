fn main() {
    let cfg: serde_json::Value = serde_json::from_str(&std::env::args().nth(1).unwrap()).unwrap();
    let g = rotor_builder::emit::build_from_json(&cfg, None).unwrap();
    println!("{}", rotor_export::text::print(&g));
    println!("{}", rotor_export::text::summary(&g));
    let bytes = rotor_export::to_bytes(&g).unwrap();
    std::fs::write(std::env::args().nth(2).unwrap(), &bytes).unwrap();
    let g2 = rotor_export::load_bytes(&bytes).unwrap();
    assert_eq!(rotor_export::text::print(&g), rotor_export::text::print(&g2));
}
