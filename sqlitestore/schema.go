package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order; migrations[i] brings the schema to version i+1. Never
// edit a released migration: append a new one.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE instances (
	instance_id           TEXT PRIMARY KEY,
	name                  TEXT NOT NULL,
	version               TEXT NOT NULL DEFAULT '',
	current_execution_id  INTEGER NOT NULL DEFAULT 1,
	status                TEXT NOT NULL DEFAULT 'Running',
	output                TEXT,
	error                 TEXT,
	custom_status         TEXT,
	custom_status_version INTEGER NOT NULL DEFAULT 0,
	parent_instance_id    TEXT,
	created_at            INTEGER NOT NULL,
	updated_at            INTEGER NOT NULL
);
CREATE INDEX idx_instances_parent ON instances(parent_instance_id) WHERE parent_instance_id IS NOT NULL;

CREATE TABLE executions (
	instance_id  TEXT NOT NULL REFERENCES instances(instance_id) ON DELETE CASCADE,
	execution_id INTEGER NOT NULL CHECK (execution_id > 0),
	status       TEXT NOT NULL DEFAULT 'Running',
	output       TEXT,
	error        TEXT,
	started_at   INTEGER NOT NULL,
	completed_at INTEGER,
	PRIMARY KEY (instance_id, execution_id)
) WITHOUT ROWID;

CREATE TABLE history (
	instance_id  TEXT NOT NULL,
	execution_id INTEGER NOT NULL,
	event_id     INTEGER NOT NULL CHECK (event_id > 0),
	kind         TEXT NOT NULL,
	data         TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (instance_id, execution_id, event_id),
	FOREIGN KEY (instance_id, execution_id) REFERENCES executions(instance_id, execution_id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE orchestrator_queue (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	instance_id   TEXT NOT NULL,
	kind          TEXT NOT NULL,
	message       TEXT NOT NULL,
	visible_at    INTEGER NOT NULL,
	lock_token    TEXT,
	attempt_count INTEGER NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
	created_at    INTEGER NOT NULL
);
CREATE INDEX idx_orchestrator_queue_visible ON orchestrator_queue(visible_at);
CREATE INDEX idx_orchestrator_queue_instance ON orchestrator_queue(instance_id, visible_at);
CREATE INDEX idx_orchestrator_queue_lock ON orchestrator_queue(lock_token) WHERE lock_token IS NOT NULL;

CREATE TABLE instance_locks (
	instance_id  TEXT PRIMARY KEY,
	lock_token   TEXT NOT NULL UNIQUE,
	locked_until INTEGER NOT NULL,
	locked_at    INTEGER NOT NULL
);

CREATE TABLE worker_queue (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	instance_id   TEXT NOT NULL,
	execution_id  INTEGER NOT NULL,
	activity_id   INTEGER NOT NULL,
	message       TEXT NOT NULL,
	visible_at    INTEGER NOT NULL,
	lock_token    TEXT,
	locked_until  INTEGER,
	attempt_count INTEGER NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
	created_at    INTEGER NOT NULL
);
CREATE INDEX idx_worker_queue_visible ON worker_queue(visible_at);
CREATE INDEX idx_worker_queue_activity ON worker_queue(instance_id, execution_id, activity_id);
CREATE UNIQUE INDEX idx_worker_queue_lock ON worker_queue(lock_token) WHERE lock_token IS NOT NULL;

CREATE TABLE kv_store (
	instance_id TEXT NOT NULL REFERENCES instances(instance_id) ON DELETE CASCADE,
	key         TEXT NOT NULL,
	value       TEXT NOT NULL,
	updated_at  INTEGER NOT NULL,
	PRIMARY KEY (instance_id, key)
) WITHOUT ROWID;

CREATE TABLE kv_delta (
	instance_id TEXT NOT NULL REFERENCES instances(instance_id) ON DELETE CASCADE,
	key         TEXT NOT NULL,
	value       TEXT, -- NULL: removed in the current execution
	updated_at  INTEGER NOT NULL,
	PRIMARY KEY (instance_id, key)
) WITHOUT ROWID;
`,
	// 2: the worker queue's tag column (NULL: untagged), for the worker tag filter.
	`
ALTER TABLE worker_queue ADD COLUMN tag TEXT;
UPDATE worker_queue SET tag = NULLIF(json_extract(message, '$.tag'), '');
CREATE INDEX idx_worker_queue_tag ON worker_queue(tag);
`,
	// 3: sessions: the worker queue's session column (NULL: no session) and the table of
	// session owners, for worker affinity.
	`
ALTER TABLE worker_queue ADD COLUMN session_id TEXT;
UPDATE worker_queue SET session_id = NULLIF(json_extract(message, '$.session'), '');
CREATE INDEX idx_worker_queue_session ON worker_queue(session_id) WHERE session_id IS NOT NULL;
CREATE TABLE sessions (
	session_id       TEXT PRIMARY KEY,
	owner            TEXT NOT NULL,
	locked_until     INTEGER NOT NULL,
	last_activity_at INTEGER NOT NULL
) WITHOUT ROWID;
`,
}

// migrate applies the missing migrations, each in its own (immediate) transaction, so
// that concurrent openers of one file apply each migration once.
func migrate(ctx context.Context, db *sql.DB, nowMs int64) error {
	for {
		done, err := migrateStep(ctx, db, nowMs)
		if err != nil || done {
			return err
		}
	}
}

func migrateStep(ctx context.Context, db *sql.DB, nowMs int64) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err = tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return false, err
	}
	var current int
	if err = tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&current); err != nil {
		return false, err
	}
	if current > len(migrations) {
		return false, fmt.Errorf("%w: the database is at schema version %d, this build knows versions up to %d", ErrSchemaTooNew, current, len(migrations))
	}
	if current == len(migrations) {
		return true, tx.Commit()
	}
	if _, err = tx.ExecContext(ctx, migrations[current]); err != nil {
		return false, fmt.Errorf("migration %d: %w", current+1, err)
	}
	if _, err = tx.ExecContext(ctx, `INSERT INTO schema_version(version, applied_at) VALUES (?, ?)`, current+1, nowMs); err != nil {
		return false, fmt.Errorf("migration %d: %w", current+1, err)
	}
	return false, tx.Commit()
}
