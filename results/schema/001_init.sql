-- SPDX-License-Identifier: GPL-2.0-or-later
-- diorace result store, schema version 1.
-- One file per version; `diorace` applies the missing ones in order, each in
-- one transaction, and records the version in schema_version. The same text
-- serves SQLite and PostgreSQL: %ID% becomes the dialect's auto-increment
-- primary key, %REAL% a 64-bit float. Timestamps are ISO 8601 UTC text; seeds
-- are text because they are unsigned 64-bit.

CREATE TABLE runs (
  id %ID%,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  status TEXT NOT NULL,                -- INCOMPLETE until the run ends, then COMPLETE
  exit_code INTEGER,
  mode TEXT NOT NULL,                  -- host | vm
  label TEXT NOT NULL DEFAULT '',      -- vm: the --deb package or --kernel image
  host TEXT NOT NULL DEFAULT '',
  kernel_release TEXT NOT NULL DEFAULT '',
  kernel_version TEXT NOT NULL DEFAULT '',
  kernel_cmdline TEXT NOT NULL DEFAULT '',
  kconfig_digest TEXT NOT NULL DEFAULT '',
  detectors TEXT NOT NULL DEFAULT '{}', -- JSON: CONFIG_ name -> value in the kernel under test
  diorace_version TEXT NOT NULL DEFAULT '',
  target_kind TEXT NOT NULL DEFAULT '', -- dir | vm-disk
  target_path TEXT NOT NULL DEFAULT '',
  target_fs TEXT NOT NULL DEFAULT '',
  target_device TEXT NOT NULL DEFAULT '',
  seed TEXT NOT NULL DEFAULT '',
  fault_injected INTEGER NOT NULL DEFAULT 0,
  command TEXT NOT NULL DEFAULT '',
  vm TEXT NOT NULL DEFAULT '{}'         -- JSON: the VM runner's details (image, accel, wall time, verdict)
);

CREATE TABLE case_results (
  id %ID%,
  run_id BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  variant TEXT NOT NULL DEFAULT '',
  outcome TEXT NOT NULL,               -- PASS FAIL SKIP ERROR INCOMPLETE
  kind TEXT NOT NULL DEFAULT '',       -- FAIL: corruption splat taint hang crash
  reason TEXT NOT NULL DEFAULT '',
  params TEXT NOT NULL DEFAULT '{}',
  seed TEXT NOT NULL DEFAULT '',
  iterations BIGINT NOT NULL DEFAULT 0,
  failures BIGINT NOT NULL DEFAULT 0,
  failure_rate %REAL% NOT NULL DEFAULT 0,
  duration_s %REAL% NOT NULL DEFAULT 0,
  first_failure_s %REAL%,
  forks BIGINT NOT NULL DEFAULT 0,
  ios BIGINT NOT NULL DEFAULT 0,
  detectors_armed INTEGER NOT NULL DEFAULT 1,
  detectors_missing TEXT NOT NULL DEFAULT '[]',
  coverage TEXT NOT NULL DEFAULT '',
  race_hits BIGINT NOT NULL DEFAULT 0,
  unrelated_findings BIGINT NOT NULL DEFAULT 0,
  fault_injected INTEGER NOT NULL DEFAULT 0,
  started_at TEXT NOT NULL,
  finished_at TEXT
);
CREATE INDEX case_results_run ON case_results(run_id);
CREATE INDEX case_results_name ON case_results(name, variant);

CREATE TABLE events (
  id %ID%,
  case_id BIGINT NOT NULL REFERENCES case_results(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,                  -- corruption splat hang taint crash note console
  class TEXT NOT NULL DEFAULT '',      -- corruption class or splat class
  text TEXT NOT NULL DEFAULT '',       -- the report, splat block, stacks or console excerpt
  data TEXT NOT NULL DEFAULT '{}'      -- the whole event as JSON
);
CREATE INDEX events_case ON events(case_id);
