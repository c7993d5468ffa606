"""Reads `nabla dump --emit=memplan` on stdin and fails unless the plan's
peak is at most PERCENT of what every intermediate value would take in a
buffer of its own (both figures recomputed from the printed numbers).

usage: check_peak.py PERCENT
"""
import re
import sys

text = sys.stdin.read()
peak = int(re.search(r"^peak: (\d+) bytes of arena$", text, re.M).group(1))
unplanned = int(re.search(r"^every intermediate value in a buffer of its own: (\d+) bytes", text,
                          re.M).group(1))
limit = float(sys.argv[1])
share = 100.0 * peak / unplanned
print(f"peak {peak} bytes = {share:.1f}% of {unplanned} bytes (limit {limit}%)")
sys.exit(0 if share <= limit else 1)
