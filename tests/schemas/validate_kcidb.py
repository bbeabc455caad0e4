#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Validates a KCIDB file as KernelCI's own validator (kcidb-io) does: JSON
Schema draft 7 with its format checker, against KCIDB's real schema (the one
exported from kcidb-io, ../shared/schemas/kcidb-v5.3.json). Then checks what
that schema cannot state and a submission needs: no null anywhere, every
build_id/checkout_id names an object in the same file, ids unique.
usage: validate_kcidb.py SCHEMA FILE"""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
data = json.load(open(sys.argv[2]))
validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
if errors:
    for e in errors[:10]:
        print(f"invalid at {'/'.join(map(str, e.absolute_path)) or '$'}: {e.message}")
    sys.exit(1)


def no_nulls(x, where="$"):
    if x is None:
        sys.exit(f"null at {where}")
    if isinstance(x, dict):
        for k, v in x.items():
            no_nulls(v, f"{where}.{k}")
    if isinstance(x, list):
        for i, v in enumerate(x):
            no_nulls(v, f"{where}[{i}]")


no_nulls(data)
for kind in ("checkouts", "builds", "tests"):
    ids = [o["id"] for o in data.get(kind, [])]
    if len(ids) != len(set(ids)):
        sys.exit(f"duplicate ids in {kind}")
checkouts = {c["id"] for c in data.get("checkouts", [])}
builds = {b["id"] for b in data.get("builds", [])}
for b in data.get("builds", []):
    if b["checkout_id"] not in checkouts:
        sys.exit(f"build {b['id']} names an unknown checkout")
for t in data.get("tests", []):
    if t["build_id"] not in builds:
        sys.exit(f"test {t['id']} names an unknown build")
v = data["version"]
print(f"valid KCIDB v{v['major']}.{v.get('minor', 0)}: {len(data.get('checkouts', []))} checkouts, "
      f"{len(data.get('builds', []))} builds, {len(data.get('tests', []))} tests")
