-- 0005: a fit keeps its warnings.
-- What makes a fitted g doubtful (the PSP peaks at the window's end, it
-- moves by more than 1% at dt/10, an IPSP depolarises at the g found) was
-- only printed by the fit command; now it is recorded with the fit, for
-- query, export and report. A JSON array of one-line messages, [] for none
-- (and for every fit recorded before this migration).
ALTER TABLE fits ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]';
