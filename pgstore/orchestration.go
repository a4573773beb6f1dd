package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/duroxide-go/duroxide/history"
	"github.com/lib/pq"
)

// maxFetchRaces bounds how many instances one fetch passes over after losing them to
// concurrent fetchers before it reports no work (the next poll or notification tries
// again).
const maxFetchRaces = 32

type fetchedRow struct {
	id      int64
	data    []byte
	attempt int
}

// FetchOrchestration locks the instance owning the oldest visible message whose
// instance is not locked, and returns all its visible messages with its state, the
// current execution's history (after req.HistoryAfter) and its KV snapshot. An instance
// that a concurrent fetch is taking is passed over for the next candidate.
func (s *Store) FetchOrchestration(ctx context.Context, req history.FetchOrchestrationRequest) (*history.OrchestrationLease, error) {
	timeout := lockMs(req.LockTimeout)
	skip := []string{}
	asked := false // HistoryAfter was called: the transaction is not retried
	for range maxFetchRaces {
		var lease *history.OrchestrationLease
		var lostInstance string
		err := s.writeRetry(ctx, "FetchOrchestration", func(tx ptx) error {
			lease, lostInstance = nil, ""
			var err error
			lease, lostInstance, err = s.fetchOnce(ctx, tx, req, timeout, skip, &asked)
			if err == nil && lostInstance != "" {
				return errRetryTx // release the row and advisory locks taken so far
			}
			return err
		}, func() bool { return !asked })
		switch {
		case errors.Is(err, errRetryTx):
			skip = append(skip, lostInstance)
			continue
		case err != nil:
			return nil, err
		}
		return lease, nil
	}
	return nil, nil
}

// asyncCommitSQL, evaluated in a fetch's statement once it has found work, commits the
// fetch transaction without waiting for its WAL flush. A fetch only writes locks and
// attempt counts: if the server crashes before the flush they are lost, which is the
// same as the lock expiring (the work is fetched again, one attempt less counted), and
// every later synchronous commit flushes them first. A fetch that finds nothing writes
// nothing and waits for nothing either; setting the option in the statement costs no
// round trip.
const asyncCommitSQL = `set_config('synchronous_commit', 'off', true)`

// fetchOnce tries to lock the oldest candidate instance. lost names an instance that a
// concurrent fetch or commit holds; the caller rolls back and tries the next one.
func (s *Store) fetchOnce(ctx context.Context, tx ptx, req history.FetchOrchestrationRequest, timeout int64,
	skip []string, asked *bool) (lease *history.OrchestrationLease, lost string, err error) {
	var instance string
	var mine, drained bool
	// The candidate row is locked (SKIP LOCKED passes over rows other transactions are
	// tagging, deleting or claiming); the advisory lock serialises fetchers of one
	// instance without waiting.
	err = tx.QueryRowContext(ctx, s.sql(`WITH c AS MATERIALIZED (
			SELECT q.instance_id FROM {S}.orchestrator_queue q
			WHERE q.visible_at <= {NOW} AND q.instance_id <> ALL($1::text[])
				AND NOT EXISTS (SELECT 1 FROM {S}.instance_locks l
					WHERE l.instance_id = q.instance_id AND l.locked_until > {NOW})
			ORDER BY q.id LIMIT 1
			FOR UPDATE OF q SKIP LOCKED)
		SELECT instance_id, pg_try_advisory_xact_lock(hashtext($2), hashtext(instance_id)), `+asyncCommitSQL+`,
			NOT EXISTS (SELECT 1 FROM {S}.orchestrator_queue o
				WHERE o.visible_at <= {NOW} AND o.instance_id <> c.instance_id AND o.instance_id <> ALL($1::text[])
					AND NOT EXISTS (SELECT 1 FROM {S}.instance_locks l
						WHERE l.instance_id = o.instance_id AND l.locked_until > {NOW})) FROM c`),
		pq.Array(skip), s.schema).Scan(&instance, &mine, new(string), &drained)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	if !mine {
		return nil, instance, nil
	}
	// One statement takes the instance's lock row, without waiting (a commit or abandon
	// holding it is not done with the instance: NOWAIT fails the statement), writes this
	// fetch's lock unless a live one is there (another fetch took the instance
	// meanwhile), and tags the batch: every visible message of the instance. No rows:
	// the instance was lost to another fetch.
	token := newToken()
	rows, err := tx.QueryContext(ctx, s.sql(`WITH cur AS MATERIALIZED (SELECT locked_until > {NOW} AS live
			FROM {S}.instance_locks WHERE instance_id = $1 FOR UPDATE NOWAIT),
		lk AS (INSERT INTO {S}.instance_locks (instance_id, lock_token, locked_until, locked_at)
			SELECT $1, $2, {NOW} + $3::bigint, {NOW} WHERE NOT EXISTS (SELECT 1 FROM cur WHERE live)
			ON CONFLICT (instance_id) DO UPDATE SET lock_token = excluded.lock_token,
				locked_until = excluded.locked_until, locked_at = excluded.locked_at
			WHERE {S}.instance_locks.locked_until <= {NOW}
			RETURNING 1)
		UPDATE {S}.orchestrator_queue SET lock_token = $2, attempt_count = attempt_count + 1
		WHERE instance_id = $1 AND visible_at <= {NOW} AND EXISTS (SELECT 1 FROM lk)
		RETURNING id, message, attempt_count`), instance, token, timeout)
	if pq.As(err, "55P03") != nil {
		return nil, instance, nil
	}
	if err != nil {
		return nil, "", err
	}
	var batch []fetchedRow
	for rows.Next() {
		var r fetchedRow
		if err := rows.Scan(&r.id, &r.data, &r.attempt); err != nil {
			rows.Close()
			return nil, "", err
		}
		batch = append(batch, r)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		if pq.As(err, "55P03") != nil {
			return nil, instance, nil
		}
		return nil, "", err
	}
	if len(batch) == 0 {
		return nil, instance, nil
	}
	slices.SortFunc(batch, func(a, b fetchedRow) int { return int(a.id - b.id) })

	l := &history.OrchestrationLease{LockToken: token, Instance: instance, KV: map[string]history.KVEntry{}, Drained: drained}
	var badMessage error
	for _, r := range batch {
		l.Attempt = max(l.Attempt, r.attempt)
		m, err := history.DecodeMessage(r.data)
		if err != nil {
			if badMessage == nil {
				badMessage = fmt.Errorf("orchestrator queue row %d of %q: %w", r.id, instance, err)
			}
			continue
		}
		l.Messages = append(l.Messages, m)
	}

	st, ok, kv, err := s.loadInstanceKV(ctx, tx, instance)
	if err != nil {
		return nil, "", err
	}
	l.State, l.KV = st, kv
	if ok {
		if req.HistoryAfter != nil {
			*asked = true
			l.HistoryAfter = req.HistoryAfter(instance, st.ExecutionID)
		}
		l.History, l.HistoryErr, err = s.loadHistory(ctx, tx, instance, st.ExecutionID, l.HistoryAfter)
		if err != nil {
			return nil, "", err
		}
	}
	if badMessage != nil && l.HistoryErr == nil {
		l.History, l.HistoryErr = nil, badMessage
	}
	return l, "", nil
}

// CommitOrchestration records a turn atomically and releases the instance lock.
func (s *Store) CommitOrchestration(ctx context.Context, lockToken string, c history.Commit) (history.CommitResult, error) {
	var res history.CommitResult
	var ch changes
	err := s.write(ctx, "CommitOrchestration", func(tx ptx) error {
		res, ch = history.CommitResult{}, changes{}
		// Locking the lock row first serialises the commit with a fetch taking the
		// instance over after expiry: whichever comes second sees the other's outcome.
		// One statement locks the lock row (first: the batch's deletion waits for it),
		// removes the fetched batch and reads the instance's current execution. A lost
		// lock rolls the deletion back with the rest.
		var instance string
		var live bool
		var cur sql.NullInt64
		err := tx.QueryRowContext(ctx, s.sql(`WITH l AS MATERIALIZED (SELECT instance_id, locked_until > {NOW} AS live
				FROM {S}.instance_locks WHERE lock_token = $1 FOR UPDATE),
			d AS (DELETE FROM {S}.orchestrator_queue WHERE lock_token = $1 AND EXISTS (SELECT 1 FROM l))
			SELECT l.instance_id, l.live, i.current_execution_id FROM l LEFT JOIN {S}.instances i ON i.instance_id = l.instance_id`),
			lockToken).Scan(&instance, &live, &cur)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: commit: unknown or released lock token", history.ErrLockLost)
		}
		if err != nil {
			return err
		}
		if !live {
			return fmt.Errorf("%w: commit: the lock on %q expired", history.ErrLockLost, instance)
		}
		if err := s.commitInstance(ctx, tx, instance, cur, c, &ch); err != nil {
			return err
		}
		leases, err := s.queueActivities(ctx, tx, c, &ch)
		if err != nil {
			return err
		}
		res.Leases = leases
		// After queueing, so that an activity scheduled and cancelled in one turn nets to nothing.
		if len(c.CancelledActivities) > 0 {
			insts := make([]string, len(c.CancelledActivities))
			execs := make([]int64, len(c.CancelledActivities))
			ids := make([]int64, len(c.CancelledActivities))
			for i, a := range c.CancelledActivities {
				insts[i], execs[i], ids[i] = a.Instance, int64(a.ExecutionID), int64(a.ID)
			}
			if _, err := tx.ExecContext(ctx, s.sql(`DELETE FROM {S}.worker_queue w
				USING unnest($1::text[], $2::bigint[], $3::bigint[]) AS c(i, e, a)
				WHERE w.instance_id = c.i AND w.execution_id = c.e AND w.activity_id = c.a`),
				pq.Array(insts), pq.Array(execs), pq.Array(ids)); err != nil {
				return err
			}
		}
		for _, m := range c.Messages {
			if m.Kind == history.MsgStartOrchestration {
				created, err := s.createInstanceRow(ctx, tx, m)
				if err != nil {
					return err
				}
				if !created {
					res.Rejected = append(res.Rejected, m)
					if m.ParentInstance != "" {
						if err := s.queueMessage(ctx, tx, history.ChildStartRejected(m), &ch); err != nil {
							return err
						}
					}
					continue
				}
				ch.instances = append(ch.instances, m.Instance)
			}
			if err := s.queueMessage(ctx, tx, m, &ch); err != nil {
				return err
			}
		}
		return s.releaseAndNotify(ctx, tx, lockToken, instance, &ch)
	})
	if err != nil {
		return history.CommitResult{}, err
	}
	s.fire(&ch)
	return res, nil
}

// commitInstance records the instance part of a commit: execution, history, status,
// custom status and KV.
// curExec is the instance's current execution id, read with the lock (invalid: the
// instance has no row).
func (s *Store) commitInstance(ctx context.Context, tx ptx, instance string, curExec sql.NullInt64, c history.Commit, ch *changes) error {
	started, custom := c.Started(), c.CustomStatusUpdate()
	cur := curExec.Int64
	created := false
	if !curExec.Valid {
		if started == nil {
			return nil // the instance is gone: nothing of it to record
		}
		cur = int64(max(c.ExecutionID, 1))
		if _, err := tx.ExecContext(ctx, s.sql(`INSERT INTO {S}.instances
			(instance_id, name, version, current_execution_id, status, parent_instance_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, 'Running', $5, {NOW}, {NOW})`),
			instance, started.Name, started.Version, cur, nullString(started.ParentInstance)); err != nil {
			return err
		}
		ch.instances = append(ch.instances, instance)
		created = true
	}
	exec := int64(c.ExecutionID)
	if exec == 0 {
		exec = cur
	}
	current := exec >= cur
	// One statement records the turn: the execution's row (created when the execution
	// can be new, its outcome when it ended: an upsert, as both may happen in one turn),
	// the history events, and the instance row. Data-modifying CTEs of one statement see
	// the same snapshot, so no two of them touch the same table.
	var ctes []string
	args := []any{instance}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	execArg := ""
	execRef := func() string { // the execution id's parameter, added when first used
		if execArg == "" {
			execArg = arg(exec)
		}
		return execArg
	}
	terminal := false
	var errDetails any
	switch c.Status {
	case "", history.StatusRunning:
	case history.StatusCompleted, history.StatusFailed, history.StatusContinuedAsNew:
		terminal = true
		e, err := encodeDetails(c.Error)
		if err != nil {
			return err
		}
		errDetails = e
	default:
		return invalid("commit of %q: unknown status %q", instance, c.Status)
	}
	switch {
	case terminal:
		ctes = append(ctes, `ex AS (INSERT INTO {S}.executions (instance_id, execution_id, status, output, error, started_at, completed_at)
			VALUES ($1, `+execRef()+`, `+arg(string(c.Status))+`, `+arg(rawArg(c.Output))+`::bytea, `+arg(errDetails)+`::text, {NOW}, {NOW})
			ON CONFLICT (instance_id, execution_id) DO UPDATE SET status = excluded.status, output = excluded.output,
				error = excluded.error, completed_at = excluded.completed_at)`)
	case exec != cur || started != nil || created:
		// The current execution's row exists already (made with the instance or by the
		// commit that moved to it); a new execution, or a first turn, may need it.
		ctes = append(ctes, `ex AS (INSERT INTO {S}.executions (instance_id, execution_id, status, started_at)
			VALUES ($1, `+execRef()+`, 'Running', {NOW}) ON CONFLICT DO NOTHING)`)
	}
	if len(c.Delta) > 0 {
		ids := make([]int64, len(c.Delta))
		kinds := make([]string, len(c.Delta))
		data := make([][]byte, len(c.Delta))
		for i, e := range c.Delta {
			if e.EventID == 0 {
				return invalid("append to %q execution %d: %s has event id 0", instance, exec, e.Describe())
			}
			b, err := history.EncodeEvent(e)
			if err != nil {
				return err
			}
			ids[i], kinds[i], data[i] = int64(e.EventID), string(e.Kind), b
		}
		ctes = append(ctes, `h AS (INSERT INTO {S}.history (instance_id, execution_id, event_id, kind, data, created_at)
			SELECT $1, `+execRef()+`, e.id, e.kind, e.data, {NOW}
			FROM unnest(`+arg(pq.Array(ids))+`::bigint[], `+arg(pq.Array(kinds))+`::text[], `+arg(pq.Array(data))+`::bytea[]) AS e(id, kind, data))`)
	}

	var sets []string
	set := func(col string, v any) { sets = append(sets, col+" = "+arg(v)) }
	var status, output, errArg any
	statusSet := false
	if exec > cur {
		set("current_execution_id", exec)
		status, output, errArg, statusSet = string(history.StatusRunning), nil, nil, true
		ch.instances = append(ch.instances, instance)
	}
	if started != nil {
		set("name", started.Name)
		set("version", started.Version)
		sets = append(sets, "parent_instance_id = COALESCE("+arg(nullString(started.ParentInstance))+", parent_instance_id)")
	}
	if terminal && current {
		status, output, errArg, statusSet = string(c.Status), rawArg(c.Output), errDetails, true
		ch.instances = append(ch.instances, instance)
		if c.Status.IsTerminal() {
			ch.pgInstances = append(ch.pgInstances, instance)
		}
	}
	if statusSet {
		set("status", status)
		sets = append(sets, "output = "+arg(output)+"::bytea")
		sets = append(sets, "error = "+arg(errArg)+"::text")
	}
	if custom != nil {
		var cs any
		if custom.Status != nil {
			cs = *custom.Status
		}
		set("custom_status", cs)
		sets = append(sets, "custom_status_version = custom_status_version + 1")
		ch.instances = append(ch.instances, instance)
		ch.pgInstances = append(ch.pgInstances, instance)
	}
	sets = append(sets, "updated_at = {NOW}")
	stmt := `UPDATE {S}.instances SET ` + strings.Join(sets, ", ") + ` WHERE instance_id = $1`
	if len(ctes) > 0 {
		stmt = "WITH " + strings.Join(ctes, ",\n") + "\n" + stmt
	}
	if _, err := tx.ExecContext(ctx, s.sql(stmt), args...); err != nil {
		return fmt.Errorf("record the turn of %q execution %d: %w", instance, exec, err)
	}

	if err := s.applyKV(ctx, tx, instance, c.Delta); err != nil {
		return err
	}
	if terminal {
		ch.mergeKV = true // with the lock's release: one round trip less
	}
	return nil
}

// applyKV records the delta's KV events in kv_delta, in order.
func (s *Store) applyKV(ctx context.Context, tx ptx, instance string, delta []history.Event) error {
	for _, e := range delta {
		var ts any
		if e.TimestampMs != 0 {
			ts = e.TimestampMs
		}
		var err error
		switch e.Kind {
		case history.KeyValueSet:
			_, err = tx.ExecContext(ctx, s.sql(`INSERT INTO {S}.kv_delta (instance_id, key, value, updated_at)
				VALUES ($1, $2, $3, COALESCE($4::bigint, {NOW}))
				ON CONFLICT (instance_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`),
				instance, e.Key, e.Value, ts)
		case history.KeyValueCleared:
			_, err = tx.ExecContext(ctx, s.sql(`INSERT INTO {S}.kv_delta (instance_id, key, value, updated_at)
				VALUES ($1, $2, NULL, COALESCE($3::bigint, {NOW}))
				ON CONFLICT (instance_id, key) DO UPDATE SET value = NULL, updated_at = excluded.updated_at`),
				instance, e.Key, ts)
		case history.KeyValuesCleared:
			_, err = tx.ExecContext(ctx, s.sql(`WITH upd AS (
					UPDATE {S}.kv_delta SET value = NULL, updated_at = COALESCE($2::bigint, {NOW}) WHERE instance_id = $1)
				INSERT INTO {S}.kv_delta (instance_id, key, value, updated_at)
				SELECT instance_id, key, NULL, COALESCE($2::bigint, {NOW}) FROM {S}.kv_store WHERE instance_id = $1
				ON CONFLICT (instance_id, key) DO NOTHING`),
				instance, ts)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// mergeKVSQL folds the current execution's KV changes of instance $4 into kv_store, as
// CTEs in front of the statement that releases the lock (releaseAndNotify).
const mergeKVSQL = `kvd AS (DELETE FROM {S}.kv_delta WHERE instance_id = $4 RETURNING key, value, updated_at),
	kvdel AS (DELETE FROM {S}.kv_store s USING kvd WHERE s.instance_id = $4 AND s.key = kvd.key AND kvd.value IS NULL),
	kvins AS (INSERT INTO {S}.kv_store (instance_id, key, value, updated_at)
		SELECT $4, key, value, updated_at FROM kvd WHERE value IS NOT NULL
		ON CONFLICT (instance_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at)`

// AbandonOrchestration releases the lock; the batch (and any other visible message of
// the instance) becomes visible again after delay.
func (s *Store) AbandonOrchestration(ctx context.Context, lockToken string, delay time.Duration, ignoreAttempt bool) error {
	d := durMs(delay)
	var notify bool
	err := s.write(ctx, "AbandonOrchestration", func(tx ptx) error {
		notify = false
		var instance string
		err := tx.QueryRowContext(ctx, s.sql(`DELETE FROM {S}.instance_locks WHERE lock_token = $1 RETURNING instance_id`),
			lockToken).Scan(&instance)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: abandon: unknown or released lock token", history.ErrLockLost)
		}
		if err != nil {
			return err
		}
		if d == 0 {
			// Whether other work was fetchable before the batch becomes so again (the
			// lock row's deletion is not seen through this instance's rows: they were
			// tagged, hence excluded, or belong to it).
			if err := tx.QueryRowContext(ctx, s.sql(`SELECT NOT EXISTS (SELECT 1 FROM {S}.orchestrator_queue q
				WHERE q.visible_at <= {NOW} AND q.instance_id <> $1
				AND NOT EXISTS (SELECT 1 FROM {S}.instance_locks l WHERE l.instance_id = q.instance_id AND l.locked_until > {NOW}))`),
				instance).Scan(&notify); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.sql(`UPDATE {S}.orchestrator_queue SET
				lock_token = CASE WHEN lock_token = $1 THEN NULL ELSE lock_token END,
				attempt_count = CASE WHEN lock_token = $1 AND $3::boolean THEN GREATEST(0, attempt_count - 1) ELSE attempt_count END,
				visible_at = CASE WHEN $4::bigint > 0 THEN {NOW} + $4::bigint ELSE visible_at END
			WHERE instance_id = $2 AND (lock_token = $1 OR ($4::bigint > 0 AND visible_at <= {NOW}))`),
			lockToken, instance, ignoreAttempt, d); err != nil {
			return err
		}
		if notify {
			return s.sendNotify(ctx, tx, &changes{pgOrch: true})
		}
		return nil
	})
	if err == nil {
		s.sig.Orchestrator()
	}
	return err
}

// RenewOrchestrationLock extends a live lock by extend from now.
func (s *Store) RenewOrchestrationLock(ctx context.Context, lockToken string, extend time.Duration) error {
	res, err := pdb(s).ExecContext(ctx, s.sql(`UPDATE {S}.instance_locks SET locked_until = {NOW} + $2::bigint
		WHERE lock_token = $1 AND locked_until > {NOW}`), lockToken, lockMs(extend))
	if err != nil {
		return wrap(ctx, "RenewOrchestrationLock", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrap(ctx, "RenewOrchestrationLock", err)
	} else if n == 0 {
		return fmt.Errorf("%w: renew: the lock expired or was released", history.ErrLockLost)
	}
	return nil
}
