-- The schema as the versions before migrations created it (CREATE ... IF NOT EXISTS), so a data folder made by
-- them is adopted as version 1 unchanged.
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,                   -- a signed-in user, or one browser when there is no sign-in
    title TEXT NOT NULL,
    created REAL NOT NULL,                 -- Unix time
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_owner ON conversations (owner, updated DESC);
CREATE INDEX IF NOT EXISTS conversations_by_age ON conversations (updated);
CREATE TABLE IF NOT EXISTS conversation_turns (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    asked REAL NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,                  -- the Answer as JSON, so the page shows it again as it was
    PRIMARY KEY (conversation_id, position)
);
CREATE TABLE IF NOT EXISTS questions (
    id TEXT PRIMARY KEY,
    asked_at REAL NOT NULL,                -- Unix time
    user TEXT NOT NULL,                    -- the signed-in name, or 'anonymous'
    conversation_id TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    rewritten TEXT NOT NULL DEFAULT '',    -- the standalone question a follow-up was understood as
    route TEXT NOT NULL,
    reason TEXT NOT NULL,
    confidence REAL NOT NULL,
    sources TEXT NOT NULL,                 -- JSON: [{"source", "location", "score"}]
    abstained INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    llm TEXT NOT NULL,
    rating TEXT,                           -- 'up' | 'down' | NULL
    comment TEXT NOT NULL DEFAULT '',
    rated_at REAL,
    fixed_at REAL,                         -- set when a knowledge owner fixed what the question lacked
    fix TEXT NOT NULL DEFAULT ''           -- what was done, in words
);
CREATE INDEX IF NOT EXISTS questions_asked_at ON questions (asked_at);
CREATE TABLE IF NOT EXISTS knowledge_fixes (  -- what owners added from the app, e.g. for `train dataset --since`
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fixed_at REAL NOT NULL,
    user TEXT NOT NULL,
    kind TEXT NOT NULL,                    -- 'faq' | 'similar' | 'term'
    file TEXT NOT NULL,                    -- relative to the knowledge folder
    row INTEGER NOT NULL,
    content TEXT NOT NULL                  -- JSON: the fields written
);
