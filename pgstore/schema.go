package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// migrations are applied in order; migrations[i] brings the schema to version i+1. Never
// edit a released migration: append a new one. {S} stands for the quoted schema name and
// {NOW} for the database's current time in Unix milliseconds.
//
// Timestamps are BIGINT Unix milliseconds from the database's clock. Codec rows and raw
// JSON payloads are BYTEA: stored and returned byte for byte whatever the database's
// encoding (never jsonb, which reorders keys and rewrites whitespace).
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE {S}.instances (
	instance_id           TEXT PRIMARY KEY,
	name                  TEXT NOT NULL,
	version               TEXT NOT NULL DEFAULT '',
	current_execution_id  BIGINT NOT NULL DEFAULT 1,
	status                TEXT NOT NULL DEFAULT 'Running',
	output                BYTEA,
	error                 TEXT,
	custom_status         TEXT,
	custom_status_version BIGINT NOT NULL DEFAULT 0,
	parent_instance_id    TEXT,
	created_at            BIGINT NOT NULL,
	updated_at            BIGINT NOT NULL
);
CREATE INDEX instances_parent_idx ON {S}.instances (parent_instance_id) WHERE parent_instance_id IS NOT NULL;

CREATE TABLE {S}.executions (
	instance_id  TEXT NOT NULL REFERENCES {S}.instances (instance_id) ON DELETE CASCADE,
	execution_id BIGINT NOT NULL CHECK (execution_id > 0),
	status       TEXT NOT NULL DEFAULT 'Running',
	output       BYTEA,
	error        TEXT,
	started_at   BIGINT NOT NULL,
	completed_at BIGINT,
	PRIMARY KEY (instance_id, execution_id)
);

CREATE TABLE {S}.history (
	instance_id  TEXT NOT NULL,
	execution_id BIGINT NOT NULL,
	event_id     BIGINT NOT NULL CHECK (event_id > 0),
	kind         TEXT NOT NULL,
	data         BYTEA NOT NULL,
	created_at   BIGINT NOT NULL,
	PRIMARY KEY (instance_id, execution_id, event_id),
	FOREIGN KEY (instance_id, execution_id) REFERENCES {S}.executions (instance_id, execution_id) ON DELETE CASCADE
);

CREATE TABLE {S}.orchestrator_queue (
	id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	instance_id   TEXT NOT NULL,
	kind          TEXT NOT NULL,
	message       BYTEA NOT NULL,
	visible_at    BIGINT NOT NULL,
	lock_token    TEXT,
	attempt_count INTEGER NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
	created_at    BIGINT NOT NULL
);
CREATE INDEX orchestrator_queue_visible_idx ON {S}.orchestrator_queue (visible_at);
CREATE INDEX orchestrator_queue_instance_idx ON {S}.orchestrator_queue (instance_id, visible_at);
CREATE INDEX orchestrator_queue_lock_idx ON {S}.orchestrator_queue (lock_token) WHERE lock_token IS NOT NULL;

CREATE TABLE {S}.instance_locks (
	instance_id  TEXT PRIMARY KEY,
	lock_token   TEXT NOT NULL UNIQUE,
	locked_until BIGINT NOT NULL,
	locked_at    BIGINT NOT NULL
);

CREATE TABLE {S}.worker_queue (
	id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	instance_id   TEXT NOT NULL,
	execution_id  BIGINT NOT NULL,
	activity_id   BIGINT NOT NULL,
	message       BYTEA NOT NULL,
	visible_at    BIGINT NOT NULL,
	lock_token    TEXT,
	locked_until  BIGINT,
	attempt_count INTEGER NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
	created_at    BIGINT NOT NULL
);
CREATE INDEX worker_queue_visible_idx ON {S}.worker_queue (visible_at);
CREATE INDEX worker_queue_activity_idx ON {S}.worker_queue (instance_id, execution_id, activity_id);
CREATE UNIQUE INDEX worker_queue_lock_idx ON {S}.worker_queue (lock_token) WHERE lock_token IS NOT NULL;

CREATE TABLE {S}.kv_store (
	instance_id TEXT NOT NULL REFERENCES {S}.instances (instance_id) ON DELETE CASCADE,
	key         TEXT NOT NULL,
	value       TEXT NOT NULL,
	updated_at  BIGINT NOT NULL,
	PRIMARY KEY (instance_id, key)
);

CREATE TABLE {S}.kv_delta (
	instance_id TEXT NOT NULL REFERENCES {S}.instances (instance_id) ON DELETE CASCADE,
	key         TEXT NOT NULL,
	value       TEXT, -- NULL: removed in the current execution
	updated_at  BIGINT NOT NULL,
	PRIMARY KEY (instance_id, key)
);
`,
	// 2: the worker queue's tag column (NULL: untagged), for the worker tag filter.
	`
ALTER TABLE {S}.worker_queue ADD COLUMN tag TEXT;
UPDATE {S}.worker_queue SET tag = NULLIF(convert_from(message, 'UTF8')::jsonb ->> 'tag', '');
CREATE INDEX worker_queue_tag_idx ON {S}.worker_queue (tag);
`,
	// 3: sessions: the worker queue's session column (NULL: no session) and the table of
	// session owners, for worker affinity.
	`
ALTER TABLE {S}.worker_queue ADD COLUMN session_id TEXT;
UPDATE {S}.worker_queue SET session_id = NULLIF(convert_from(message, 'UTF8')::jsonb ->> 'session', '');
CREATE INDEX worker_queue_session_idx ON {S}.worker_queue (session_id) WHERE session_id IS NOT NULL;
CREATE TABLE {S}.sessions (
	session_id       TEXT PRIMARY KEY,
	owner            TEXT NOT NULL,
	locked_until     BIGINT NOT NULL,
	last_activity_at BIGINT NOT NULL
);
`,
	// 4: the worker fetch walks the untagged (or one tag's) activities in id order and
	// stops at the first it can take, instead of sorting every visible one.
	`
CREATE INDEX worker_queue_tag_id_idx ON {S}.worker_queue (tag, id);
DROP INDEX {S}.worker_queue_tag_idx;
`,
}

// ErrSchemaTooNew is returned by Connect for a schema written by a newer build.
var ErrSchemaTooNew = errors.New("pgstore: database schema is newer than this build supports")

// maxSchemaLen keeps "<schema>_orch" and the other channel names within PostgreSQL's
// 63-byte identifier limit.
const maxSchemaLen = 58

var schemaRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkSchema accepts identifier characters only (letters, digits, underscores, not
// starting with a digit), at most maxSchemaLen bytes, and not a pg_ system schema.
func checkSchema(schema string) error {
	if !schemaRE.MatchString(schema) || len(schema) > maxSchemaLen {
		return fmt.Errorf("pgstore: invalid schema name %q: use 1 to %d letters, digits and underscores, not starting with a digit", schema, maxSchemaLen)
	}
	if strings.HasPrefix(strings.ToLower(schema), "pg_") || strings.EqualFold(schema, "information_schema") {
		return fmt.Errorf("pgstore: invalid schema name %q: reserved for the system", schema)
	}
	return nil
}

// quoteIdent quotes a checked schema name.
func quoteIdent(s string) string { return `"` + s + `"` }

// nowSQL is the database's clock in Unix milliseconds. now() is the start of the
// current transaction, so every statement of a transaction sees one instant; floor
// keeps it from running ahead of the wall clock by half a millisecond.
const nowSQL = `(floor(extract(epoch from now()) * 1000))::bigint`

// migrate creates the schema when missing and applies the missing migrations, all in one
// transaction under an advisory lock keyed by the schema name, so concurrent Connects
// (from any process) apply each migration once and see either none or all of them.
func migrate(ctx context.Context, db *sql.DB, schema string) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err = tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('duroxide-go/pgstore migrate ' || $1, 0))`, schema); err != nil {
		return err
	}
	var exists bool
	if err = tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
		return err
	}
	q := quoteIdent(schema)
	if !exists {
		if _, err = tx.ExecContext(ctx, `CREATE SCHEMA `+q); err != nil {
			return fmt.Errorf("create schema %s: %w", q, err)
		}
	}
	if _, err = tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+q+`.schema_version (
		version    INTEGER PRIMARY KEY,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return err
	}
	var current int
	if err = tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+q+`.schema_version`).Scan(&current); err != nil {
		return err
	}
	if current > len(migrations) {
		return fmt.Errorf("%w: schema %s is at version %d, this build knows versions up to %d", ErrSchemaTooNew, q, current, len(migrations))
	}
	for v := current; v < len(migrations); v++ {
		if _, err = tx.ExecContext(ctx, expand(migrations[v], q)); err != nil {
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if _, err = tx.ExecContext(ctx, `INSERT INTO `+q+`.schema_version (version, applied_at) VALUES ($1, `+nowSQL+`)`, v+1); err != nil {
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
	}
	return tx.Commit()
}

// expand fills in a statement template: {S} is the quoted schema, {NOW} the clock.
func expand(tmpl, quotedSchema string) string {
	return strings.NewReplacer("{S}", quotedSchema, "{NOW}", nowSQL).Replace(tmpl)
}
