-- Sweeps write one row a point, so every index on points is paid for on
-- every point. The UNIQUE (run_id, point_key) index already serves the
-- queries users make: a run's points, in pathway order (point keys start
-- with the zero-padded pathway), and a run's points of one pathway (a key
-- prefix). Filters on g or pre/post apply within a run's points. The three
-- secondary indexes of 0001 made recording a sweep about a third slower
-- for no query that needs them.
DROP INDEX IF EXISTS points_run_pathway;
DROP INDEX IF EXISTS points_pathway_g;
DROP INDEX IF EXISTS points_pre_post;
