"""The README's snapshot example: graph text under syrupy. A change to what rotor emits for
this config shows up as a reviewed snapshot diff (update with `pytest --snapshot-update`)."""

import rotor


def test_rotary_graph_snapshot(snapshot) -> None:
    model = rotor.export({"kind": "rotary", "dim": 8, "mode": "qk", "layout": "half"})
    assert rotor.graph_text(model) == snapshot
