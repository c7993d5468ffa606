#!/usr/bin/env bash
# Creates the virtual environment that make bench runs JAX in (the system
# Python is externally managed, and Debian has no JAX): /usr/bin/python3's
# venv at $1 with the pinned versions below from PyPI. An environment that
# already holds them is kept, so running it again costs one import.
#
#   tools/bench-venv.sh VENV
set -euo pipefail

venv=${1:?usage: tools/bench-venv.sh VENV}
# The newest jaxlib with wheels for Debian 12's Python 3.11.
pins=("jax[cpu]==0.7.0" "jaxlib==0.7.0" "optax==0.2.8")

if [[ -x "$venv/bin/python" ]] &&
   "$venv/bin/python" -c 'import jax, optax; assert jax.__version__ == "0.7.0"' 2>/dev/null; then
  exit 0
fi
echo "bench-venv: creating $venv with ${pins[*]}" >&2
rm -rf "$venv.tmp"
/usr/bin/python3 -m venv "$venv.tmp"
"$venv.tmp/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}"
rm -rf "$venv"
mv "$venv.tmp" "$venv"
