package pgstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lib/pq"

	"github.com/duroxide-go/duroxide/history"
)

var _ history.Admin = (*Store)(nil)

func idsArray(ids []string) any {
	if ids == nil {
		ids = []string{}
	}
	return pq.Array(ids)
}

func queryStrings(ctx context.Context, tx ptx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func affected(r sql.Result, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	n, err := r.RowsAffected()
	return int(n), err
}

// ListInstances lists instance ids by current status ("" for all), newest first.
func (s *Store) ListInstances(ctx context.Context, status history.ExecStatus) ([]string, error) {
	var out []string
	err := s.write(ctx, "ListInstances", func(tx ptx) error {
		var err error
		out, err = queryStrings(ctx, tx, s.sql(`SELECT instance_id FROM {S}.instances WHERE ($1 = '' OR status = $1)
			ORDER BY created_at DESC, instance_id DESC`), string(status))
		return err
	})
	return out, err
}

// ListExecutions lists an instance's execution ids, ascending.
func (s *Store) ListExecutions(ctx context.Context, instance string) ([]uint64, error) {
	out := []uint64{}
	err := s.write(ctx, "ListExecutions", func(tx ptx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, s.sql(`SELECT execution_id FROM {S}.executions WHERE instance_id = $1 ORDER BY execution_id`), instance)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out = append(out, uint64(id))
		}
		return rows.Err()
	})
	return out, err
}

// ExecutionInfo describes one execution.
func (s *Store) ExecutionInfo(ctx context.Context, instance string, executionID uint64) (history.ExecutionInfo, error) {
	var info history.ExecutionInfo
	err := s.write(ctx, "ExecutionInfo", func(tx ptx) error {
		info = history.ExecutionInfo{}
		var status string
		var output []byte
		var errJSON sql.NullString
		var completed sql.NullInt64
		err := tx.QueryRowContext(ctx, s.sql(`SELECT status, output, error, started_at, completed_at,
			(SELECT COUNT(*) FROM {S}.history h WHERE h.instance_id = e.instance_id AND h.execution_id = e.execution_id)
			FROM {S}.executions e WHERE instance_id = $1 AND execution_id = $2`), instance, int64(executionID)).Scan(
			&status, &output, &errJSON, &info.StartedAtMs, &completed, &info.EventCount)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: instance %q execution %d", history.ErrNotFound, instance, executionID)
		}
		if err != nil {
			return err
		}
		info.ExecutionID = executionID
		info.Status = history.ExecStatus(status)
		if output != nil {
			info.Output = json.RawMessage(output)
		}
		if info.Error, err = decodeDetails(errJSON); err != nil {
			return corrupt("instance %q execution %d: error details: %w", instance, executionID, err)
		}
		info.CompletedAtMs = completed.Int64
		return nil
	})
	return info, err
}

// Children lists an instance's direct sub-orchestrations.
func (s *Store) Children(ctx context.Context, instance string) ([]string, error) {
	var out []string
	err := s.write(ctx, "Children", func(tx ptx) error {
		var err error
		out, err = queryStrings(ctx, tx, s.sql(`SELECT instance_id FROM {S}.instances WHERE parent_instance_id = $1
			ORDER BY created_at, instance_id`), instance)
		return err
	})
	return out, err
}

// DeleteInstances deletes instances atomically (see history.Admin).
func (s *Store) DeleteInstances(ctx context.Context, ids []string, force bool) (history.DeleteResult, error) {
	var res history.DeleteResult
	if len(ids) == 0 {
		return res, nil
	}
	err := s.write(ctx, "DeleteInstances", func(tx ptx) error {
		var err error
		res, err = s.deleteInstancesTx(ctx, tx, ids, force)
		return err
	})
	if err != nil {
		return history.DeleteResult{}, err
	}
	s.fire(&changes{instances: ids})
	return res, nil
}

func (s *Store) deleteInstancesTx(ctx context.Context, tx ptx, ids []string, force bool) (history.DeleteResult, error) {
	var res history.DeleteResult
	arr := idsArray(ids)
	// The lock rows go first: a commit holding one (FOR UPDATE) finishes before, and a
	// later commit finds its lock gone (ErrLockLost).
	if _, err := tx.ExecContext(ctx, s.sql(`DELETE FROM {S}.instance_locks WHERE instance_id = ANY($1::text[])`), arr); err != nil {
		return res, err
	}
	// Lock the instance rows against concurrent changes of their status and children.
	if _, err := tx.ExecContext(ctx, s.sql(`SELECT 1 FROM {S}.instances WHERE instance_id = ANY($1::text[]) ORDER BY instance_id FOR UPDATE`), arr); err != nil {
		return res, err
	}
	if !force {
		running, err := queryStrings(ctx, tx, s.sql(`SELECT instance_id FROM {S}.instances
			WHERE instance_id = ANY($1::text[]) AND status <> ALL($2::text[]) LIMIT 1`),
			arr, pq.Array([]string{string(history.StatusCompleted), string(history.StatusFailed)}))
		if err != nil {
			return res, err
		}
		if len(running) > 0 {
			return res, fmt.Errorf("%w: instance %q is still running; use force or cancel it first", history.ErrStillRunning, running[0])
		}
	}
	orphans, err := queryStrings(ctx, tx, s.sql(`SELECT instance_id FROM {S}.instances
		WHERE parent_instance_id = ANY($1::text[]) AND NOT (instance_id = ANY($1::text[])) LIMIT 1`), arr)
	if err != nil {
		return res, err
	}
	if len(orphans) > 0 {
		return res, fmt.Errorf("%w: child %q would be orphaned; delete the whole tree", history.ErrHasChildren, orphans[0])
	}
	const in = ` WHERE instance_id = ANY($1::text[])`
	if res.EventsDeleted, err = affected(tx.ExecContext(ctx, s.sql(`DELETE FROM {S}.history`+in), arr)); err != nil {
		return res, err
	}
	if res.ExecutionsDeleted, err = affected(tx.ExecContext(ctx, s.sql(`DELETE FROM {S}.executions`+in), arr)); err != nil {
		return res, err
	}
	for _, table := range []string{"orchestrator_queue", "worker_queue"} {
		n, err := affected(tx.ExecContext(ctx, s.sql(`DELETE FROM {S}.`+table+in), arr))
		if err != nil {
			return res, err
		}
		res.QueueMessagesDeleted += n
	}
	for _, table := range []string{"kv_store", "kv_delta"} {
		if _, err := tx.ExecContext(ctx, s.sql(`DELETE FROM {S}.`+table+in), arr); err != nil {
			return res, err
		}
	}
	res.InstancesDeleted, err = affected(tx.ExecContext(ctx, s.sql(`DELETE FROM {S}.instances`+in), arr))
	return res, err
}

// filterQuery selects the instances matching f (optionally roots with a terminal
// status only), oldest first.
func (s *Store) filterQuery(f history.InstanceFilter, terminalRoots bool) (string, []any) {
	q := `SELECT i.instance_id FROM {S}.instances i
		LEFT JOIN {S}.executions e ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id WHERE TRUE`
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if terminalRoots {
		q += ` AND i.parent_instance_id IS NULL AND i.status = ANY(` + arg(pq.Array([]string{
			string(history.StatusCompleted), string(history.StatusFailed)})) + `::text[])`
	}
	if f.InstanceIDs != nil {
		q += ` AND i.instance_id = ANY(` + arg(idsArray(f.InstanceIDs)) + `::text[])`
	}
	if f.CompletedBeforeMs != 0 {
		q += ` AND e.completed_at < ` + arg(f.CompletedBeforeMs)
	}
	q += ` ORDER BY i.created_at, i.instance_id LIMIT ` + arg(f.EffectiveLimit())
	return s.sql(q), args
}

// DeleteInstancesBulk deletes matching terminal root instances with their trees.
func (s *Store) DeleteInstancesBulk(ctx context.Context, filter history.InstanceFilter) (history.DeleteResult, error) {
	var res history.DeleteResult
	var all []string
	err := s.write(ctx, "DeleteInstancesBulk", func(tx ptx) error {
		res, all = history.DeleteResult{}, nil
		q, args := s.filterQuery(filter, true)
		roots, err := queryStrings(ctx, tx, q, args...)
		if err != nil {
			return err
		}
		for _, root := range roots {
			tree, err := queryStrings(ctx, tx, s.sql(`WITH RECURSIVE tree(id) AS (
				SELECT $1::text UNION SELECT i.instance_id FROM {S}.instances i JOIN tree t ON i.parent_instance_id = t.id)
				SELECT id FROM tree`), root)
			if err != nil {
				return err
			}
			r, err := s.deleteInstancesTx(ctx, tx, tree, true)
			if err != nil {
				return err
			}
			res = res.Add(r)
			all = append(all, tree...)
		}
		return nil
	})
	if err != nil {
		return history.DeleteResult{}, err
	}
	s.fire(&changes{instances: all})
	return res, nil
}

// PruneExecutions deletes an instance's old executions (see history.Admin).
func (s *Store) PruneExecutions(ctx context.Context, instance string, opts history.PruneOptions) (history.PruneResult, error) {
	var res history.PruneResult
	err := s.write(ctx, "PruneExecutions", func(tx ptx) error {
		var err error
		res, err = s.pruneTx(ctx, tx, instance, opts)
		return err
	})
	return res, err
}

func (s *Store) pruneTx(ctx context.Context, tx ptx, instance string, opts history.PruneOptions) (history.PruneResult, error) {
	var res history.PruneResult
	var current int64
	err := tx.QueryRowContext(ctx, s.sql(`SELECT current_execution_id FROM {S}.instances WHERE instance_id = $1 FOR UPDATE`), instance).Scan(&current)
	if errors.Is(err, sql.ErrNoRows) {
		return res, fmt.Errorf("%w: instance %q", history.ErrNotFound, instance)
	}
	if err != nil {
		return res, err
	}
	keep := max(opts.KeepLast, 1)
	var execs []int64
	err = func() error {
		rows, err := tx.QueryContext(ctx, s.sql(`SELECT execution_id FROM {S}.executions
			WHERE instance_id = $1 AND execution_id <> $2 AND status <> $3
			AND execution_id NOT IN (SELECT execution_id FROM {S}.executions WHERE instance_id = $1 ORDER BY execution_id DESC LIMIT $4)
			AND ($5::bigint = 0 OR completed_at < $5::bigint)`), instance, current, string(history.StatusRunning), keep, opts.CompletedBeforeMs)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			execs = append(execs, id)
		}
		return rows.Err()
	}()
	if err != nil {
		return res, err
	}
	res.InstancesProcessed = 1
	if len(execs) == 0 {
		return res, nil
	}
	if res.EventsDeleted, err = affected(tx.ExecContext(ctx, s.sql(`DELETE FROM {S}.history
		WHERE instance_id = $1 AND execution_id = ANY($2::bigint[])`), instance, pq.Array(execs))); err != nil {
		return res, err
	}
	res.ExecutionsDeleted, err = affected(tx.ExecContext(ctx, s.sql(`DELETE FROM {S}.executions
		WHERE instance_id = $1 AND execution_id = ANY($2::bigint[])`), instance, pq.Array(execs)))
	return res, err
}

// PruneExecutionsBulk prunes every instance matching filter.
func (s *Store) PruneExecutionsBulk(ctx context.Context, filter history.InstanceFilter, opts history.PruneOptions) (history.PruneResult, error) {
	var res history.PruneResult
	err := s.write(ctx, "PruneExecutionsBulk", func(tx ptx) error {
		res = history.PruneResult{}
		q, args := s.filterQuery(filter, false)
		ids, err := queryStrings(ctx, tx, q, args...)
		if err != nil {
			return err
		}
		for _, id := range ids {
			r, err := s.pruneTx(ctx, tx, id, opts)
			if err != nil {
				return err
			}
			res.InstancesProcessed += r.InstancesProcessed
			res.ExecutionsDeleted += r.ExecutionsDeleted
			res.EventsDeleted += r.EventsDeleted
		}
		return nil
	})
	return res, err
}

// SystemMetrics counts instances, executions and events.
func (s *Store) SystemMetrics(ctx context.Context) (history.SystemMetrics, error) {
	var m history.SystemMetrics
	err := s.write(ctx, "SystemMetrics", func(tx ptx) error {
		return tx.QueryRowContext(ctx, s.sql(`SELECT
			(SELECT COUNT(*) FROM {S}.instances),
			(SELECT COUNT(*) FROM {S}.executions),
			(SELECT COUNT(*) FROM {S}.instances WHERE status = $1),
			(SELECT COUNT(*) FROM {S}.instances WHERE status = $2),
			(SELECT COUNT(*) FROM {S}.instances WHERE status = $3),
			(SELECT COUNT(*) FROM {S}.history)`),
			string(history.StatusRunning), string(history.StatusCompleted), string(history.StatusFailed)).Scan(
			&m.TotalInstances, &m.TotalExecutions, &m.RunningInstances, &m.CompletedInstances, &m.FailedInstances, &m.TotalEvents)
	})
	return m, err
}

// QueueDepths counts unlocked queue messages.
func (s *Store) QueueDepths(ctx context.Context) (history.QueueDepths, error) {
	var d history.QueueDepths
	err := s.write(ctx, "QueueDepths", func(tx ptx) error {
		return tx.QueryRowContext(ctx, s.sql(`SELECT
			(SELECT COUNT(*) FROM {S}.orchestrator_queue WHERE lock_token IS NULL AND visible_at <= {NOW}),
			(SELECT COUNT(*) FROM {S}.worker_queue WHERE lock_token IS NULL),
			(SELECT COUNT(*) FROM {S}.orchestrator_queue WHERE lock_token IS NULL AND visible_at > {NOW})`)).Scan(
			&d.OrchestratorQueue, &d.WorkerQueue, &d.TimerQueue)
	})
	return d, err
}

// InstanceStats measures one instance.
func (s *Store) InstanceStats(ctx context.Context, instance string) (history.InstanceStats, error) {
	var st history.InstanceStats
	err := s.write(ctx, "InstanceStats", func(tx ptx) error {
		st = history.InstanceStats{}
		var current int64
		err := tx.QueryRowContext(ctx, s.sql(`SELECT current_execution_id FROM {S}.instances WHERE instance_id = $1`), instance).Scan(&current)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: instance %q", history.ErrNotFound, instance)
		}
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, s.sql(`WITH kv(v) AS (
				SELECT value FROM {S}.kv_store ks WHERE instance_id = $1 AND NOT EXISTS
					(SELECT 1 FROM {S}.kv_delta d WHERE d.instance_id = ks.instance_id AND d.key = ks.key)
				UNION ALL
				SELECT value FROM {S}.kv_delta WHERE instance_id = $1 AND value IS NOT NULL)
			SELECT
			(SELECT COUNT(*) FROM {S}.history WHERE instance_id = $1 AND execution_id = $2),
			(SELECT COALESCE(SUM(octet_length(data)), 0) FROM {S}.history WHERE instance_id = $1 AND execution_id = $2),
			(SELECT COUNT(*) FROM {S}.orchestrator_queue WHERE instance_id = $1),
			(SELECT COUNT(*) FROM kv),
			(SELECT COALESCE(SUM(octet_length(v)), 0) FROM kv)`), instance, current).Scan(
			&st.HistoryEventCount, &st.HistorySizeBytes, &st.QueuePendingCount, &st.KVUserKeyCount, &st.KVTotalValueBytes)
	})
	return st, err
}
