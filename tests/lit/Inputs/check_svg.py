"""Checks a `nabla train --plot` file: well-formed SVG with one panel per
quantity, each with its title, axis labels, ticks, a train curve with one
point per epoch, a test curve when there is a test set, and a legend.

usage: check_svg.py FILE EPOCHS NAME...
"""
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"
path, epochs, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
root = ET.parse(path).getroot()
assert root.tag == NS + "svg", root.tag
panels = root.findall(NS + "g")
assert len(panels) == len(names), f"{len(panels)} panels, expected {len(names)}"
for panel, name in zip(panels, names):
    texts = [t.text for t in panel.iter(NS + "text")]
    assert texts[0] == name, f"panel title {texts[0]!r}, expected {name!r}"
    for label in ("epoch", "train", "test"):
        assert label in texts, f"panel {name}: no {label!r} label in {texts}"
    ticks = [t for t in texts if t.replace(".", "").replace("-", "").replace("e", "").isdigit()]
    assert len(ticks) >= 4, f"panel {name}: only {len(ticks)} tick labels"
    curves = {c.get("class"): c.get("points").split() for c in panel.iter(NS + "polyline")}
    for curve in ("train", "test"):
        assert len(curves.get(curve, [])) == epochs, f"panel {name}: {curve} curve {curves.get(curve)}"
print(f"{path}: {len(panels)} panels, {epochs} epochs")
