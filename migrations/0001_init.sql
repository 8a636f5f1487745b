-- 0001: initial dendfit results schema.
-- Times are UTC RFC 3339 text with a fixed nine-digit fraction, so they sort
-- lexically. JSON columns hold compact JSON text. Units are in column names.

CREATE TABLE experiments (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    spec_text   TEXT NOT NULL,          -- the spec file exactly as read
    spec_sha256 TEXT NOT NULL,          -- lowercase hex sha256 of spec_text
    created_at  TEXT NOT NULL,
    UNIQUE (name, spec_sha256)
);

CREATE TABLE runs (
    id                INTEGER PRIMARY KEY,
    experiment_id     INTEGER NOT NULL REFERENCES experiments(id),
    command           TEXT NOT NULL,                -- simulate|sweep|fit|reproduce
    argv              TEXT NOT NULL DEFAULT '[]',   -- JSON array of strings
    status            TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'cancelled')),
    started_at        TEXT NOT NULL,
    ended_at          TEXT,
    version           TEXT NOT NULL DEFAULT '',
    vcs_revision      TEXT NOT NULL DEFAULT '',
    vcs_modified      INTEGER NOT NULL DEFAULT 0,
    go_version        TEXT NOT NULL DEFAULT '',
    os                TEXT NOT NULL DEFAULT '',
    arch              TEXT NOT NULL DEFAULT '',
    host              TEXT NOT NULL DEFAULT '',
    workers           INTEGER NOT NULL DEFAULT 0,
    shard_k           INTEGER NOT NULL DEFAULT 0,
    shard_n           INTEGER NOT NULL DEFAULT 0,
    dt_ms             REAL NOT NULL DEFAULT 0,
    method            TEXT NOT NULL DEFAULT '',
    settings          TEXT NOT NULL DEFAULT '{}',   -- JSON, command settings needed to rerun
    error             TEXT,
    reproduces_run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    run_uid           TEXT NOT NULL UNIQUE          -- random 128-bit hex, dedupes merged runs
);

CREATE INDEX runs_experiment_command ON runs (experiment_id, command, started_at);
CREATE INDEX runs_started ON runs (started_at);

CREATE TABLE points (
    id              INTEGER PRIMARY KEY,
    run_id          INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    pathway         INTEGER NOT NULL,
    pre             TEXT NOT NULL DEFAULT '',
    post            TEXT NOT NULL DEFAULT '',
    compartment     TEXT NOT NULL DEFAULT '',
    record          TEXT NOT NULL DEFAULT '',
    tag             TEXT NOT NULL DEFAULT '',
    point_key       TEXT NOT NULL,
    g_nS            REAL NOT NULL,                  -- first receptor
    t_decay_ms      REAL NOT NULL,                  -- first receptor
    t_rise_ms       REAL,                           -- first receptor, NULL for single exponential
    receptors       TEXT NOT NULL DEFAULT '[]',     -- JSON [{channel,g_nS,t_decay_ms,t_rise_ms}]
    psp_mV          REAL,                           -- NULL when status = 'failed'
    baseline_mV     REAL,
    time_to_peak_ms REAL,
    rise_10_90_ms   REAL,
    half_width_ms   REAL,
    peaks_mV        TEXT NOT NULL DEFAULT '{}',     -- JSON {compartment: mV}
    i_hold_pA       REAL,
    dspike_fired    INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error           TEXT,
    UNIQUE (run_id, point_key)
);

CREATE INDEX points_run_pathway ON points (run_id, pathway);
CREATE INDEX points_pathway_g ON points (pathway, g_nS);
CREATE INDEX points_pre_post ON points (pre, post);

CREATE TABLE fits (
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    pathway        INTEGER NOT NULL,
    pre            TEXT NOT NULL DEFAULT '',
    post           TEXT NOT NULL DEFAULT '',
    compartment    TEXT NOT NULL DEFAULT '',
    record         TEXT NOT NULL DEFAULT '',
    tag            TEXT NOT NULL DEFAULT '',
    receptors      TEXT NOT NULL DEFAULT '[]',      -- JSON array of channel names
    target_psp_mV  REAL NOT NULL,
    g_fit_nS       TEXT NOT NULL DEFAULT '[]',      -- JSON array, one per receptor
    t_decay_ms     REAL,
    t_rise_ms      REAL,
    psp_at_fit_mV  REAL NOT NULL DEFAULT 0,
    psp_fine_dt_mV REAL,                            -- PSP at dt/10
    evaluations    INTEGER NOT NULL DEFAULT 0,
    converged      INTEGER NOT NULL DEFAULT 0,
    outcome        TEXT NOT NULL DEFAULT '',
    message        TEXT NOT NULL DEFAULT '',
    residuals      TEXT NOT NULL DEFAULT 'null',    -- JSON
    UNIQUE (run_id, pathway)
);

CREATE INDEX fits_pre_post ON fits (pre, post);
