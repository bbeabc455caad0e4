-- SPDX-License-Identifier: GPL-2.0-or-later
-- diorace result store, schema version 4: a run's uid (the identity its
-- document and its KCIDB ids carry) as a column, so that a run written by
-- another process (a `diorace vm` child of bisect --jobs) is found by the
-- document it wrote.
ALTER TABLE runs ADD COLUMN uid TEXT NOT NULL DEFAULT '';
CREATE INDEX runs_uid ON runs (uid);
