#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""VM test of ci/bench's side-by-side part: one boot each of Debian 6.1
(the bug) and 6.12 (fixed) running uring_iopoll_eof beside the reference
reproducer built from ci/bench.d. On 6.1 both must detect, on 6.12 neither;
the parsed row must carry both times. Exit 0 when all of that holds."""
import os
import sys
from importlib.machinery import SourceFileLoader

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
bench = SourceFileLoader("bench", os.path.join(ROOT, "ci", "bench")).load_module()
os.makedirs(bench.WORK, exist_ok=True)
failures = []
for kernel, want in ((bench.BUGGY, 1), (bench.FIXED, 0)):
    bench.BUGGY = kernel  # bench_pairs boots BUGGY
    row = bench.bench_pairs(1, 10, ["uring_iopoll_eof[ext4]"])[0]
    boot = row["per_boot"][0]
    print(kernel, boot)
    if row["case_detected"] != want or row["ref_detected"] != want:
        failures.append(f"{kernel}: case {row['case_detected']}, reference {row['ref_detected']}, expected {want} each")
    if want and not (row["case_s"].get("n") and row["ref_s"].get("n") and row["ratio"]):
        failures.append(f"{kernel}: no times or ratio in {row}")
    if not want and boot["case"].get("outcome") != "PASS":
        failures.append(f"{kernel}: the case did not PASS: {boot['case']}")
    if not want and boot["ref"].get("result") != "NOT-DETECTED":
        failures.append(f"{kernel}: the reference said {boot['ref']}")
for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
