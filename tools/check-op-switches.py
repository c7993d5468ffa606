#!/usr/bin/env python3
"""Fails when a switch over ops has a `default:` label.

The switches meant are those over OpKind, Builtin (also spelled `B` where a
file says `using B = Builtin`), OpFamily and the family enums of Ops.h
(UnaryOp, BinaryOp, ...). Without a default, -Wswitch (an error) lists every
switch that must learn a new op: the checklist docs/adding-an-op.md relies
on. A default silences it.

Usage: check-op-switches.py [ROOT]   (default: this repository)
Exit status: 0 when no such switch has a default, 1 otherwise.
"""
import pathlib
import re
import sys

FOLDERS = ["support", "runtime", "ir", "frontend", "passes", "codegen", "data", "training", "tools"]
SWITCH = re.compile(r"\bswitch\s*\(")
ENUMS = ["OpKind", "Builtin", "B", "OpFamily", "UnaryOp", "BinaryOp", "ComparisonOp", "LayoutOp",
         "ReductionOp", "NeuralOp", "ConvolutionOp", "PoolingOp"]
ENUM_CASE = re.compile(r"\bcase\s+(?:ir::)?(" + "|".join(ENUMS) + r")::")


def switch_bodies(text):
    """Yields (offset of the switch, its body with nested braces blanked out)."""
    for match in SWITCH.finditer(text):
        open_brace = text.find("{", match.end())
        if open_brace < 0:
            continue
        depth, i, top = 1, open_brace + 1, []
        while i < len(text) and depth:
            c = text[i]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            top.append(c if depth == 1 or (depth == 0 and c == "}") else " ")
            i += 1
        yield match.start(), "".join(top)


def offenders(root):
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in {".h", ".cpp"} or not path.is_file():
                continue
            text = path.read_text(errors="replace")
            for offset, body in switch_bodies(text):
                enum = ENUM_CASE.search(body)
                if enum and re.search(r"\bdefault\s*:", body):
                    yield path.relative_to(root), text.count("\n", 0, offset) + 1, enum.group(1)


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent.parent)
    found = list(offenders(root))
    for path, line, enum in found:
        print(f"{path}:{line}: a switch over {enum} with a default (list every case instead)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
