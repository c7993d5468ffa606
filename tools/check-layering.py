#!/usr/bin/env python3
"""Fails when an #include runs upward through Nabla's floors.

Each top-level source folder is one library and may use only the folders
below it (docs/architecture.md draws them). This script reads every
`#include "folder/..."` line of the folders it knows and reports each one
that names a folder outside the includer's own floor and the floors beneath.

Usage: check-layering.py [ROOT]   (ROOT: the repository, default: this one)
Exit status: 0 when every include runs down, 1 otherwise.
"""
import pathlib
import re
import sys

# folder -> the folders it may include besides itself, from the ground up.
FLOORS = {
    "support": set(),
    "runtime": {"support"},
    "ir": {"support", "runtime"},
    "passes": {"support", "runtime", "ir"},
    "frontend": {"support", "runtime", "ir", "passes"},
    "codegen": {"support", "runtime", "ir", "passes"},
    "data": {"support", "runtime", "ir"},
    "training": {"support", "runtime", "ir", "passes", "codegen", "data"},
    "tools": {"support", "runtime", "ir", "frontend", "passes", "codegen", "data", "training"},
    "python": {"support", "runtime", "ir", "frontend", "passes", "codegen", "data", "training",
               "tools"},
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([A-Za-z_]+)/')
SOURCES = {".h", ".cpp", ".def"}


def violations(root):
    """Yields (file, line number, included folder) for each upward include."""
    for folder, allowed in FLOORS.items():
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.suffix not in SOURCES or not path.is_file():
                continue
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                match = INCLUDE.match(line)
                if not match:
                    continue
                used = match.group(1)
                if used != folder and used in FLOORS and used not in allowed:
                    yield path.relative_to(root), number, used, folder


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent.parent)
    found = 0
    for path, number, used, folder in violations(root):
        below = ", ".join(sorted(FLOORS[folder])) or "nothing"
        print(f"{path}:{number}: includes {used}/, above {folder}/ (which may use: {below})")
        found += 1
    if found:
        print(f"{found} upward include{'s' if found > 1 else ''}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
