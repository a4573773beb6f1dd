package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/duroxide-go/duroxide/history"
)

func lockMs(d time.Duration) int64 {
	if ms := durMs(d); ms > 0 {
		return ms
	}
	return DefaultLockTimeout.Milliseconds()
}

// FetchOrchestration locks the instance owning the oldest visible message whose
// instance is not locked, and returns all its visible messages with its state, the
// current execution's history (after req.HistoryAfter) and its KV snapshot.
func (s *Store) FetchOrchestration(ctx context.Context, req history.FetchOrchestrationRequest) (*history.OrchestrationLease, error) {
	timeout := lockMs(req.LockTimeout)
	var lease *history.OrchestrationLease
	var msgs, events []rawRow
	err := s.write(ctx, "FetchOrchestration", func(tx *sql.Tx, now int64) error {
		lease = nil
		instance, found, err := nextOrchestrationInstance(ctx, tx, now)
		if err != nil || !found {
			return err
		}
		token := newToken()
		res, err := tx.ExecContext(ctx, `INSERT INTO instance_locks (instance_id, lock_token, locked_until, locked_at)
			VALUES (?1, ?2, ?3, ?4)
			ON CONFLICT(instance_id) DO UPDATE SET lock_token = excluded.lock_token,
				locked_until = excluded.locked_until, locked_at = excluded.locked_at
			WHERE instance_locks.locked_until <= ?4`, instance, token, now+timeout, now)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // cannot happen under BEGIN IMMEDIATE; no work then
		}
		// Tag the batch, then read it; rows are decoded after the transaction, so that the
		// writer is not held while JSON is parsed. (One UPDATE ... RETURNING statement
		// measured several times slower through the driver than these two.)
		if _, err := tx.ExecContext(ctx, `UPDATE orchestrator_queue SET lock_token = ?, attempt_count = attempt_count + 1
			WHERE instance_id = ? AND visible_at <= ?`, token, instance, now); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, message, attempt_count FROM orchestrator_queue
			WHERE lock_token = ? ORDER BY id`, token)
		if err != nil {
			return err
		}
		l := &history.OrchestrationLease{LockToken: token, Instance: instance, KV: map[string]history.KVEntry{}}
		msgs = msgs[:0]
		for rows.Next() {
			var r rawRow
			var attempt int
			if err := rows.Scan(&r.id, &r.data, &attempt); err != nil {
				rows.Close()
				return err
			}
			l.Attempt = max(l.Attempt, attempt)
			msgs = append(msgs, r)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		if len(msgs) == 0 {
			_, err := tx.ExecContext(ctx, `DELETE FROM instance_locks WHERE lock_token = ?`, token)
			return err
		}

		st, ok, err := loadInstance(ctx, tx, instance)
		if err != nil {
			return err
		}
		l.State = st
		events = events[:0]
		if ok {
			if req.HistoryAfter != nil {
				l.HistoryAfter = req.HistoryAfter(instance, st.ExecutionID)
			}
			if events, err = readHistoryRows(ctx, tx, instance, st.ExecutionID, l.HistoryAfter, events); err != nil {
				return err
			}
		}
		kv, err := tx.QueryContext(ctx, `SELECT key, value, updated_at FROM kv_store WHERE instance_id = ?`, instance)
		if err != nil {
			return err
		}
		for kv.Next() {
			var k string
			var e history.KVEntry
			if err := kv.Scan(&k, &e.Value, &e.UpdatedAtMs); err != nil {
				kv.Close()
				return err
			}
			l.KV[k] = e
		}
		if err := errors.Join(kv.Err(), kv.Close()); err != nil {
			return err
		}
		lease = l
		return nil
	})
	if err != nil || lease == nil {
		return nil, err
	}
	slices.SortFunc(msgs, func(a, b rawRow) int { return cmp.Compare(a.id, b.id) })
	var badMessage error
	for _, r := range msgs {
		m, err := history.DecodeMessage([]byte(r.data))
		if err != nil {
			if badMessage == nil {
				badMessage = fmt.Errorf("orchestrator queue row %d of %q: %w", r.id, lease.Instance, err)
			}
			continue
		}
		lease.Messages = append(lease.Messages, m)
	}
	if len(events) > 0 {
		lease.History, lease.HistoryErr = decodeHistory(lease.Instance, lease.State.ExecutionID, events)
	}
	if badMessage != nil && lease.HistoryErr == nil {
		lease.History, lease.HistoryErr = nil, badMessage
	}
	return lease, nil
}

// queueHead is how many of the oldest orchestrator messages a fetch looks at before it
// searches the whole queue.
const queueHead = 64

// nextOrchestrationInstance finds the instance owning the oldest visible message whose
// instance is not locked. The oldest messages are looked at first, in id order, which
// costs a few rows when the head of the queue is fetchable (the usual case, also with a
// deep backlog); only when it is not (timers not yet due, locked instances) does it search
// every visible message, which sorts them.
func nextOrchestrationInstance(ctx context.Context, tx *sql.Tx, now int64) (instance string, found bool, err error) {
	for _, q := range []string{
		`SELECT q.instance_id FROM (SELECT id, instance_id, visible_at FROM orchestrator_queue ORDER BY id LIMIT ` +
			strconv.Itoa(queueHead) + `) q
			WHERE q.visible_at <= ?1 AND NOT EXISTS (
				SELECT 1 FROM instance_locks l WHERE l.instance_id = q.instance_id AND l.locked_until > ?1)
			ORDER BY q.id LIMIT 1`,
		`SELECT q.instance_id FROM orchestrator_queue q
			WHERE q.visible_at <= ?1 AND NOT EXISTS (
				SELECT 1 FROM instance_locks l WHERE l.instance_id = q.instance_id AND l.locked_until > ?1)
			ORDER BY q.id LIMIT 1`,
	} {
		err := tx.QueryRowContext(ctx, q, now).Scan(&instance)
		switch {
		case err == nil:
			return instance, true, nil
		case !errors.Is(err, sql.ErrNoRows):
			return "", false, err
		}
	}
	return "", false, nil
}

// rawRow is a queue message or history event as stored, with its id.
type rawRow struct {
	id   int64
	data string
}

// readHistoryRows appends to buf an execution's stored events after a given id, in order.
func readHistoryRows(ctx context.Context, tx *sql.Tx, instance string, exec, after uint64, buf []rawRow) ([]rawRow, error) {
	rows, err := tx.QueryContext(ctx, `SELECT event_id, data FROM history
		WHERE instance_id = ? AND execution_id = ? AND event_id > ? ORDER BY event_id`,
		instance, int64(exec), int64(after))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var r rawRow
		if err := rows.Scan(&r.id, &r.data); err != nil {
			return nil, err
		}
		buf = append(buf, r)
	}
	return buf, rows.Err()
}

// decodeHistory decodes stored events; a row that does not decode gives decodeErr and
// no events.
func decodeHistory(instance string, exec uint64, rows []rawRow) (events []history.Event, decodeErr error) {
	if len(rows) == 0 {
		return nil, nil
	}
	events = make([]history.Event, 0, len(rows))
	for _, r := range rows {
		e, err := history.DecodeEvent([]byte(r.data))
		if err != nil {
			return nil, fmt.Errorf("history of %q execution %d, event %d: %w", instance, exec, r.id, err)
		}
		events = append(events, e)
	}
	return events, nil
}

// loadHistory reads an execution's events after a given id. A row that does not decode
// gives decodeErr (and no events); err is a database failure.
func loadHistory(ctx context.Context, tx *sql.Tx, instance string, exec, after uint64) (events []history.Event, decodeErr, err error) {
	rows, err := readHistoryRows(ctx, tx, instance, exec, after, nil)
	if err != nil {
		return nil, nil, err
	}
	events, decodeErr = decodeHistory(instance, exec, rows)
	return events, decodeErr, nil
}

// CommitOrchestration records a turn atomically and releases the instance lock.
func (s *Store) CommitOrchestration(ctx context.Context, lockToken string, c history.Commit) (history.CommitResult, error) {
	var res history.CommitResult
	var ch changes
	err := s.write(ctx, "CommitOrchestration", func(tx *sql.Tx, now int64) error {
		res, ch = history.CommitResult{}, changes{}
		var instance string
		var until int64
		err := tx.QueryRowContext(ctx, `SELECT instance_id, locked_until FROM instance_locks WHERE lock_token = ?`,
			lockToken).Scan(&instance, &until)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: commit: unknown or released lock token", history.ErrLockLost)
		}
		if err != nil {
			return err
		}
		if until <= now {
			return fmt.Errorf("%w: commit: the lock on %q expired", history.ErrLockLost, instance)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM orchestrator_queue WHERE lock_token = ?`, lockToken); err != nil {
			return err
		}
		if err := commitInstance(ctx, tx, now, instance, c, &ch); err != nil {
			return err
		}
		leased := c.LeasedActivities()
		for i, w := range c.Activities {
			b, err := encodeWork(w)
			if err != nil {
				return err
			}
			// A leased activity is queued locked for the committing runtime, one attempt
			// counted, as a fetch would leave it; nobody else needs waking for it.
			var token, until any
			attempts := 0
			if leased != nil && leased[i] {
				t := newToken()
				token, until, attempts = t, now+lockMs(c.LeaseActivities.LockTimeout), 1
				res.Leases = append(res.Leases, history.ActivityLease{LockToken: t, Attempt: 1, Work: w})
			} else {
				ch.work = true
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO worker_queue
				(instance_id, execution_id, activity_id, message, visible_at, created_at, tag, session_id, lock_token, locked_until, attempt_count)
				VALUES (?, ?, ?, ?, ?, ?, NULLIF(?, ''), NULLIF(?, ''), ?, ?, ?)`,
				w.Instance, int64(w.ExecutionID), int64(w.ID), string(b), now, now, w.Tag, w.SessionID, token, until, attempts); err != nil {
				return err
			}
		}
		// After queueing, so that an activity scheduled and cancelled in one turn nets to nothing.
		for _, a := range c.CancelledActivities {
			if _, err := tx.ExecContext(ctx, `DELETE FROM worker_queue
				WHERE instance_id = ? AND execution_id = ? AND activity_id = ?`,
				a.Instance, int64(a.ExecutionID), int64(a.ID)); err != nil {
				return err
			}
		}
		for _, m := range c.Messages {
			if m.Kind == history.MsgStartOrchestration {
				created, err := createInstanceRow(ctx, tx, m, now)
				if err != nil {
					return err
				}
				if !created {
					res.Rejected = append(res.Rejected, m)
					if m.ParentInstance != "" {
						if err := queueMessage(ctx, tx, history.ChildStartRejected(m), now); err != nil {
							return err
						}
						ch.orch = true
					}
					continue
				}
				ch.instances = append(ch.instances, m.Instance)
			}
			if err := queueMessage(ctx, tx, m, now); err != nil {
				return err
			}
			ch.orch = true
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM instance_locks WHERE lock_token = ?`, lockToken)
		return err
	})
	if err != nil {
		return history.CommitResult{}, err
	}
	s.fire(&ch)
	for _, m := range c.Messages {
		if m.Kind == history.MsgTimerFired && m.FireAtMs != 0 {
			s.wakeAt(m.FireAtMs)
		}
	}
	return res, nil
}

// commitInstance records the instance part of a commit: execution, history, status,
// custom status and KV.
func commitInstance(ctx context.Context, tx *sql.Tx, now int64, instance string, c history.Commit, ch *changes) error {
	started, custom := c.Started(), c.CustomStatusUpdate()
	var cur int64
	created := false
	err := tx.QueryRowContext(ctx, `SELECT current_execution_id FROM instances WHERE instance_id = ?`, instance).Scan(&cur)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if started == nil {
			return nil // the instance is gone: nothing of it to record
		}
		cur = int64(max(c.ExecutionID, 1))
		if _, err := tx.ExecContext(ctx, `INSERT INTO instances
			(instance_id, name, version, current_execution_id, status, parent_instance_id, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, instance, started.Name, started.Version, cur,
			string(history.StatusRunning), nullString(started.ParentInstance), now, now); err != nil {
			return err
		}
		ch.instances = append(ch.instances, instance)
		created = true
	case err != nil:
		return err
	}
	exec := int64(c.ExecutionID)
	if exec == 0 {
		exec = cur
	}
	current := exec >= cur
	if exec > cur {
		if _, err := tx.ExecContext(ctx, `UPDATE instances SET current_execution_id = ?, status = ?,
			output = NULL, error = NULL WHERE instance_id = ?`, exec, string(history.StatusRunning), instance); err != nil {
			return err
		}
		ch.instances = append(ch.instances, instance)
	}
	// The current execution's row exists already (made with the instance or by the commit
	// that moved to it); a new execution, or a first turn, may need it.
	if exec != cur || started != nil || created {
		if _, err := tx.ExecContext(ctx, `INSERT INTO executions (instance_id, execution_id, status, started_at)
			VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, instance, exec, string(history.StatusRunning), now); err != nil {
			return err
		}
	}

	for _, e := range c.Delta {
		if e.EventID == 0 {
			return invalid("append to %q execution %d: %s has event id 0", instance, exec, e.Describe())
		}
		b, err := history.EncodeEvent(e)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO history (instance_id, execution_id, event_id, kind, data, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, instance, exec, int64(e.EventID), string(e.Kind), string(b), now); err != nil {
			return fmt.Errorf("append %s to %q execution %d: %w", e, instance, exec, err)
		}
	}
	if started != nil {
		if _, err := tx.ExecContext(ctx, `UPDATE instances SET name = ?, version = ?,
			parent_instance_id = COALESCE(?, parent_instance_id) WHERE instance_id = ?`,
			started.Name, started.Version, nullString(started.ParentInstance), instance); err != nil {
			return err
		}
	}

	terminal := false
	switch c.Status {
	case "", history.StatusRunning:
	case history.StatusCompleted, history.StatusFailed, history.StatusContinuedAsNew:
		terminal = true
		errArg, err := encodeDetails(c.Error)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE executions SET status = ?, output = ?, error = ?, completed_at = ?
			WHERE instance_id = ? AND execution_id = ?`,
			string(c.Status), rawArg(c.Output), errArg, now, instance, exec); err != nil {
			return err
		}
		if current {
			if _, err := tx.ExecContext(ctx, `UPDATE instances SET status = ?, output = ?, error = ? WHERE instance_id = ?`,
				string(c.Status), rawArg(c.Output), errArg, instance); err != nil {
				return err
			}
			ch.instances = append(ch.instances, instance)
		}
	default:
		return invalid("commit of %q: unknown status %q", instance, c.Status)
	}

	if custom != nil {
		var status any
		if custom.Status != nil {
			status = *custom.Status
		}
		if _, err := tx.ExecContext(ctx, `UPDATE instances SET custom_status = ?,
			custom_status_version = custom_status_version + 1 WHERE instance_id = ?`, status, instance); err != nil {
			return err
		}
		ch.instances = append(ch.instances, instance)
	}

	if err := applyKV(ctx, tx, now, instance, c.Delta); err != nil {
		return err
	}
	if terminal {
		if err := mergeKV(ctx, tx, instance); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE instances SET updated_at = ? WHERE instance_id = ?`, now, instance)
	return err
}

// applyKV records the delta's KV events in kv_delta, in order.
func applyKV(ctx context.Context, tx *sql.Tx, now int64, instance string, delta []history.Event) error {
	for _, e := range delta {
		ts := e.TimestampMs
		if ts == 0 {
			ts = now
		}
		var err error
		switch e.Kind {
		case history.KeyValueSet:
			_, err = tx.ExecContext(ctx, `INSERT INTO kv_delta (instance_id, key, value, updated_at) VALUES (?, ?, ?, ?)
				ON CONFLICT(instance_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
				instance, e.Key, e.Value, ts)
		case history.KeyValueCleared:
			_, err = tx.ExecContext(ctx, `INSERT INTO kv_delta (instance_id, key, value, updated_at) VALUES (?, ?, NULL, ?)
				ON CONFLICT(instance_id, key) DO UPDATE SET value = NULL, updated_at = excluded.updated_at`,
				instance, e.Key, ts)
		case history.KeyValuesCleared:
			if _, err = tx.ExecContext(ctx, `UPDATE kv_delta SET value = NULL, updated_at = ? WHERE instance_id = ?`,
				ts, instance); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO kv_delta (instance_id, key, value, updated_at)
				SELECT instance_id, key, NULL, ? FROM kv_store WHERE instance_id = ?
				ON CONFLICT(instance_id, key) DO UPDATE SET value = NULL, updated_at = excluded.updated_at`,
				ts, instance)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// mergeKV folds the current execution's KV changes into kv_store.
func mergeKV(ctx context.Context, tx *sql.Tx, instance string) error {
	var has bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM kv_delta WHERE instance_id = ?)`, instance).Scan(&has); err != nil {
		return err
	}
	if !has { // most instances never touch KV: spare the three statements below
		return nil
	}
	for _, q := range []string{
		`INSERT INTO kv_store (instance_id, key, value, updated_at)
			SELECT instance_id, key, value, updated_at FROM kv_delta WHERE instance_id = ?1 AND value IS NOT NULL
			ON CONFLICT(instance_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		`DELETE FROM kv_store WHERE instance_id = ?1 AND key IN
			(SELECT key FROM kv_delta WHERE instance_id = ?1 AND value IS NULL)`,
		`DELETE FROM kv_delta WHERE instance_id = ?1`,
	} {
		if _, err := tx.ExecContext(ctx, q, instance); err != nil {
			return err
		}
	}
	return nil
}

// AbandonOrchestration releases the lock; the batch (and any other visible message of
// the instance) becomes visible again after delay.
func (s *Store) AbandonOrchestration(ctx context.Context, lockToken string, delay time.Duration, ignoreAttempt bool) error {
	err := s.write(ctx, "AbandonOrchestration", func(tx *sql.Tx, now int64) error {
		var instance string
		err := tx.QueryRowContext(ctx, `DELETE FROM instance_locks WHERE lock_token = ? RETURNING instance_id`,
			lockToken).Scan(&instance)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: abandon: unknown or released lock token", history.ErrLockLost)
		}
		if err != nil {
			return err
		}
		if ignoreAttempt {
			if _, err := tx.ExecContext(ctx, `UPDATE orchestrator_queue SET attempt_count = MAX(0, attempt_count - 1)
				WHERE lock_token = ?`, lockToken); err != nil {
				return err
			}
		}
		if d := durMs(delay); d > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE orchestrator_queue SET visible_at = ?
				WHERE instance_id = ? AND (lock_token = ? OR visible_at <= ?)`,
				now+d, instance, lockToken, now); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE orchestrator_queue SET lock_token = NULL WHERE lock_token = ?`, lockToken)
		return err
	})
	if err == nil {
		s.sig.Orchestrator()
		if d := durMs(delay); d > 0 {
			s.wakeAt(s.nowMs() + d)
		}
	}
	return err
}

// RenewOrchestrationLock extends a live lock by extend from now.
func (s *Store) RenewOrchestrationLock(ctx context.Context, lockToken string, extend time.Duration) error {
	return s.write(ctx, "RenewOrchestrationLock", func(tx *sql.Tx, now int64) error {
		res, err := tx.ExecContext(ctx, `UPDATE instance_locks SET locked_until = ?
			WHERE lock_token = ? AND locked_until > ?`, now+lockMs(extend), lockToken, now)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: renew: the lock expired or was released", history.ErrLockLost)
		}
		return nil
	})
}
