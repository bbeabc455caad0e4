#!/usr/bin/python3
"""Validates a KCIDB file against tests/schemas/kcidb-v5.schema.json and
checks the rules JSON Schema cannot state: no null anywhere, every
build_id/checkout_id names an object in the same file, ids unique."""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
data = json.load(open(sys.argv[2]))
jsonschema.validate(data, schema)


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
print(f"valid: {len(data.get('checkouts', []))} checkouts, {len(data.get('builds', []))} builds, "
      f"{len(data.get('tests', []))} tests")
