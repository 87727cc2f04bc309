-- 0007: the answers of the period queries, kept until the rollups change
-- (docs/performance.md). A period view groups every (source, signature) of
-- every day in the period: hundreds of thousands of rollup rows on a large
-- store, seconds of work that every dashboard request and `paths` would
-- otherwise repeat for an answer that has not changed.
--
-- rollup_generation counts the committed transactions that changed a
-- rollup; it is raised as the last statement of each, so that a process
-- that reads generation g and then queries sees at least the data of g.
CREATE TABLE rollup_generation (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  generation BIGINT NOT NULL
);
INSERT INTO rollup_generation (id, generation) VALUES (1, 0);

-- One answer per query (its kind and filter as text), valid while
-- generation equals rollup_generation.generation; older ones are deleted
-- when a newer one is written.
CREATE TABLE period_answers (
  query TEXT PRIMARY KEY,
  generation BIGINT NOT NULL,
  computed_at BIGINT NOT NULL,          -- Unix time
  body {{BLOB}} NOT NULL                -- the encoded answer (period_answers.cpp)
);
