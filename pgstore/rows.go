package pgstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/duroxide-go/duroxide/history"
	"github.com/lib/pq"
)

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const instanceCols = `instance_id, name, version, current_execution_id, status, output, error,
	custom_status, custom_status_version, parent_instance_id, created_at, updated_at`

// loadInstance reads an instance row; ok is false when there is none.
func (s *Store) loadInstance(ctx context.Context, q querier, id string) (st history.InstanceState, ok bool, err error) {
	var status string
	var output []byte
	var errJSON, custom, parent sql.NullString
	var exec, csv int64
	err = q.QueryRowContext(ctx, s.sql(`SELECT `+instanceCols+` FROM {S}.instances WHERE instance_id = $1`), id).Scan(
		&st.Instance, &st.Name, &st.Version, &exec, &status, &output, &errJSON,
		&custom, &csv, &parent, &st.CreatedAtMs, &st.UpdatedAtMs)
	return instanceState(id, err, status, output, errJSON, custom, parent, exec, csv, st)
}

// loadInstanceKV reads an instance row and its KV store in one statement; ok is false
// (and the KV store empty) when there is no row.
func (s *Store) loadInstanceKV(ctx context.Context, q querier, id string) (st history.InstanceState, ok bool, kv map[string]history.KVEntry, err error) {
	var status string
	var output []byte
	var errJSON, custom, parent sql.NullString
	var exec, csv int64
	var keys, values []string
	var updated []int64
	err = q.QueryRowContext(ctx, s.sql(`SELECT `+instanceCols+`,
			ARRAY(SELECT key FROM {S}.kv_store k WHERE k.instance_id = $1 ORDER BY key),
			ARRAY(SELECT value FROM {S}.kv_store k WHERE k.instance_id = $1 ORDER BY key),
			ARRAY(SELECT updated_at FROM {S}.kv_store k WHERE k.instance_id = $1 ORDER BY key)
		FROM {S}.instances WHERE instance_id = $1`), id).Scan(
		&st.Instance, &st.Name, &st.Version, &exec, &status, &output, &errJSON,
		&custom, &csv, &parent, &st.CreatedAtMs, &st.UpdatedAtMs,
		(*pq.StringArray)(&keys), (*pq.StringArray)(&values), (*pq.Int64Array)(&updated))
	kv = map[string]history.KVEntry{}
	st, ok, err = instanceState(id, err, status, output, errJSON, custom, parent, exec, csv, st)
	if err != nil || !ok {
		return st, ok, kv, err
	}
	if len(values) != len(keys) || len(updated) != len(keys) {
		return history.InstanceState{}, false, nil, corrupt("instance %q: KV store changed while read", id)
	}
	for i, k := range keys {
		kv[k] = history.KVEntry{Value: values[i], UpdatedAtMs: updated[i]}
	}
	return st, true, kv, nil
}

// instanceState completes st from the columns of an instance row read with err.
func instanceState(id string, err error, status string, output []byte, errJSON, custom, parent sql.NullString,
	exec, csv int64, st history.InstanceState) (history.InstanceState, bool, error) {
	if errors.Is(err, sql.ErrNoRows) {
		return history.InstanceState{}, false, nil
	}
	if err != nil {
		return history.InstanceState{}, false, err
	}
	st.ExecutionID = uint64(exec)
	st.Status = history.ExecStatus(status)
	if output != nil {
		st.Output = json.RawMessage(output)
	}
	if st.Error, err = decodeDetails(errJSON); err != nil {
		return history.InstanceState{}, false, corrupt("instance %q: error details: %w", id, err)
	}
	if custom.Valid {
		c := custom.String
		st.CustomStatus = &c
	}
	st.CustomStatusVersion = uint64(csv)
	st.ParentInstance = parent.String
	return st, true, nil
}

// loadHistory reads an execution's events after a given id. A row that does not decode
// gives decodeErr (and no events); err is a database failure.
func (s *Store) loadHistory(ctx context.Context, q querier, instance string, exec, after uint64) (events []history.Event, decodeErr, err error) {
	rows, err := q.QueryContext(ctx, s.sql(`SELECT event_id, data FROM {S}.history
		WHERE instance_id = $1 AND execution_id = $2 AND event_id > $3 ORDER BY event_id`),
		instance, int64(exec), int64(after))
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return nil, nil, err
		}
		if decodeErr != nil {
			continue
		}
		e, err := history.DecodeEvent(data)
		if err != nil {
			decodeErr = fmt.Errorf("history of %q execution %d, event %d: %w", instance, exec, id, err)
			events = nil
			continue
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	return events, decodeErr, nil
}

func decodeDetails(s sql.NullString) (*history.ErrorDetails, error) {
	if !s.Valid {
		return nil, nil
	}
	var d history.ErrorDetails
	if err := json.Unmarshal([]byte(s.String), &d); err != nil {
		return nil, err
	}
	return &d, nil
}

func encodeDetails(d *history.ErrorDetails) (any, error) {
	if d == nil {
		return nil, nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, invalid("encode error details: %w", err)
	}
	return string(b), nil
}

// rawArg stores a raw JSON payload as BYTEA, byte for byte (NULL when empty).
func rawArg(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	return []byte(raw)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// createInstanceRow inserts the instance row (status Running, execution 1) and its
// first execution for a start message; false when the id is taken.
func (s *Store) createInstanceRow(ctx context.Context, tx ptx, start history.Message) (bool, error) {
	if start.Instance == "" {
		return false, invalid("start message without an instance id")
	}
	res, err := tx.ExecContext(ctx, s.sql(`WITH ins AS (
			INSERT INTO {S}.instances (instance_id, name, version, current_execution_id, status, parent_instance_id, created_at, updated_at)
			VALUES ($1, $2, $3, 1, 'Running', $4, {NOW}, {NOW}) ON CONFLICT (instance_id) DO NOTHING
			RETURNING instance_id)
		INSERT INTO {S}.executions (instance_id, execution_id, status, started_at)
		SELECT instance_id, 1, 'Running', {NOW} FROM ins ON CONFLICT DO NOTHING`),
		start.Instance, start.Name, start.Version, nullString(start.ParentInstance))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// orchIdleSQL is true when no orchestrator message is fetchable: none is visible for an
// instance without a live lock.
const orchIdleSQL = `NOT EXISTS (SELECT 1 FROM {S}.orchestrator_queue q WHERE q.visible_at <= {NOW}
	AND NOT EXISTS (SELECT 1 FROM {S}.instance_locks l WHERE l.instance_id = q.instance_id AND l.locked_until > {NOW}))`

// workIdleSQL is true when, for one of the tags listed by the expression tagsSQL (a
// text[]; the empty string for untagged), no activity is fetchable: then workers whose
// filter takes that tag may be waiting for a NOTIFY, even while work for other tags
// waits.
func workIdleSQL(tagsSQL string) string {
	return `EXISTS (SELECT 1 FROM unnest(` + tagsSQL + `) AS n(t) WHERE NOT EXISTS (
		SELECT 1 FROM {S}.worker_queue w WHERE w.visible_at <= {NOW}
		AND (w.lock_token IS NULL OR w.locked_until <= {NOW})
		AND (w.tag = n.t OR (n.t = '' AND w.tag IS NULL))))`
}

// queueMessage appends a message to the orchestrator queue of its instance; a
// TimerFired becomes visible at FireAtMs, anything else at once. Until the transaction
// has queued a fetchable message, the insert also reads whether the queue had fetchable
// work before, to decide on a NOTIFY (sent when it had none).
func (s *Store) queueMessage(ctx context.Context, tx ptx, m history.Message, ch *changes) error {
	if m.Instance == "" {
		return invalid("%s message without an instance id", m.Kind)
	}
	b, err := history.EncodeMessage(m)
	if err != nil {
		return err
	}
	var fireAt any
	if m.Kind == history.MsgTimerFired && m.FireAtMs != 0 {
		fireAt = m.FireAtMs
	}
	ch.orch = true
	if ch.orchChecked {
		_, err = tx.ExecContext(ctx, s.sql(`INSERT INTO {S}.orchestrator_queue (instance_id, kind, message, visible_at, created_at)
			VALUES ($1, $2, $3, COALESCE($4::bigint, {NOW}), {NOW})`), m.Instance, string(m.Kind), b, fireAt)
		return err
	}
	// fetchable: visible now, for an instance without a live lock (a locked instance's
	// holder fetches again after its commit).
	var fetchable, idle bool
	if err := tx.QueryRowContext(ctx, s.sql(`INSERT INTO {S}.orchestrator_queue (instance_id, kind, message, visible_at, created_at)
		VALUES ($1, $2, $3, COALESCE($4::bigint, {NOW}), {NOW})
		RETURNING visible_at <= {NOW} AND NOT EXISTS (SELECT 1 FROM {S}.instance_locks l
			WHERE l.instance_id = $1 AND l.locked_until > {NOW}), `+orchIdleSQL),
		m.Instance, string(m.Kind), b, fireAt).Scan(&fetchable, &idle); err != nil {
		return err
	}
	if fetchable {
		ch.orchChecked = true
		ch.pgOrch = idle
	}
	return nil
}

// queueActivities appends activities to the worker queue, in order, reading whether the
// queue had fetchable work before. Those leased (c.LeasedActivities) are queued locked
// for the committing runtime, one attempt counted, and returned as leases; they need no
// NOTIFY.
func (s *Store) queueActivities(ctx context.Context, tx ptx, c history.Commit, ch *changes) ([]history.ActivityLease, error) {
	works := c.Activities
	if len(works) == 0 {
		return nil, nil
	}
	leased := c.LeasedActivities()
	insts := make([]string, len(works))
	execs := make([]int64, len(works))
	ids := make([]int64, len(works))
	msgs := make([][]byte, len(works))
	tags := make([]string, len(works))
	sessions := make([]string, len(works))
	tokens := make([]sql.NullString, len(works))
	var leases []history.ActivityLease
	var unleasedTags []string
	for i, w := range works {
		b, err := encodeWork(w)
		if err != nil {
			return nil, err
		}
		insts[i], execs[i], ids[i], msgs[i], tags[i], sessions[i] = w.Instance, int64(w.ExecutionID), int64(w.ID), b, w.Tag, w.SessionID
		if leased != nil && leased[i] {
			t := newToken()
			tokens[i] = sql.NullString{String: t, Valid: true}
			leases = append(leases, history.ActivityLease{LockToken: t, Attempt: 1, Work: w})
		} else {
			unleasedTags = append(unleasedTags, w.Tag)
		}
	}
	var lockMsArg int64
	if c.LeaseActivities != nil {
		lockMsArg = lockMs(c.LeaseActivities.LockTimeout)
	}
	var idle bool
	if err := tx.QueryRowContext(ctx, s.sql(`WITH idle AS MATERIALIZED (SELECT `+workIdleSQL(`$7::text[]`)+` AS idle),
		ins AS (INSERT INTO {S}.worker_queue (instance_id, execution_id, activity_id, message, visible_at, created_at, tag, session_id,
				lock_token, locked_until, attempt_count)
			SELECT w.i, w.e, w.a, w.m, {NOW}, {NOW}, NULLIF(w.t, ''), NULLIF(w.s, ''),
				w.k, CASE WHEN w.k IS NULL THEN NULL ELSE {NOW} + $9::bigint END, CASE WHEN w.k IS NULL THEN 0 ELSE 1 END
			FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bytea[], $5::text[], $6::text[], $8::text[]) WITH ORDINALITY AS w(i, e, a, m, t, s, k, n)
			ORDER BY w.n)
		SELECT idle FROM idle`), pq.Array(insts), pq.Array(execs), pq.Array(ids), pq.Array(msgs), pq.Array(tags), pq.Array(sessions),
		pq.Array(unleasedTags), pq.Array(tokens), lockMsArg).Scan(&idle); err != nil {
		return nil, err
	}
	if len(unleasedTags) > 0 {
		ch.work = true
		if !ch.workChecked {
			ch.workChecked = true
			ch.pgWork = idle
		}
	}
	return leases, nil
}

// encodeWork renders an activity as JSON, keeping its input bytes as they are (the
// history codec does the same for events and messages).
func encodeWork(w history.ActivityWork) ([]byte, error) {
	input := bytes.TrimSpace(w.Input)
	if len(input) > 0 && !json.Valid(input) {
		return nil, fmt.Errorf("%w: activity %s#%d of %q: input is not valid JSON", history.ErrCodec, w.Name, w.ID, w.Instance)
	}
	w.Input = nil
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("%w: activity %s#%d of %q: %w", history.ErrCodec, w.Name, w.ID, w.Instance, err)
	}
	if len(input) == 0 {
		return b, nil
	}
	out := make([]byte, 0, len(b)+len(input)+10)
	out = append(out, b[:len(b)-1]...)
	out = append(out, `,"input":`...)
	out = append(out, input...)
	return append(out, '}'), nil
}

func decodeWork(b []byte) (history.ActivityWork, error) {
	var w history.ActivityWork
	if err := json.Unmarshal(b, &w); err != nil {
		return history.ActivityWork{}, fmt.Errorf("%w: decode activity: %w", history.ErrCodec, err)
	}
	return w, nil
}
