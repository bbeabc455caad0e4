-- SPDX-License-Identifier: GPL-2.0-or-later
-- diorace result store, schema version 3: each run and case keeps its record
-- as the one JSON codec writes it (src/codec.cpp), so that a run read back
-- from the store is the document a run without a store writes. The columns
-- stay for queries; rows from before this version (record '') are read from
-- them.
ALTER TABLE runs ADD COLUMN record TEXT NOT NULL DEFAULT '';
ALTER TABLE case_results ADD COLUMN record TEXT NOT NULL DEFAULT '';
