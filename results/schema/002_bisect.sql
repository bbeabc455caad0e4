-- SPDX-License-Identifier: GPL-2.0-or-later
-- diorace result store, schema version 2: the bisection log.
-- A bisection's request is kept with a key (case, parameters, kernels,
-- confidence, strategy); every run it made is logged in order, so that an
-- interrupted bisection with the same key resumes by replaying its log.

CREATE TABLE bisections (
  id %ID%,
  request_key TEXT NOT NULL,
  case_name TEXT NOT NULL,
  request TEXT NOT NULL,               -- JSON: case, params, kernels, confidence, strategy, duration
  status TEXT NOT NULL,                -- RUNNING, DONE, FAILED
  started_at TEXT NOT NULL,
  finished_at TEXT,
  result TEXT NOT NULL DEFAULT '{}'    -- JSON: direction, first kernel, confidence, decisions, runs
);
CREATE INDEX bisections_key ON bisections(request_key, status);

CREATE TABLE bisect_runs (
  id %ID%,
  bisection_id BIGINT NOT NULL REFERENCES bisections(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  kernel TEXT NOT NULL,
  verdict TEXT NOT NULL,               -- fail, clean, untestable
  run_id BIGINT,                       -- the stored VM run, when there is one
  at TEXT NOT NULL
);
CREATE INDEX bisect_runs_bisection ON bisect_runs(bisection_id, seq);
