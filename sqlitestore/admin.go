package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/duroxide-go/duroxide/history"
)

var _ history.Admin = (*Store)(nil)

// idsArg renders ids as a JSON array for json_each.
func idsArg(ids []string) string {
	if ids == nil {
		ids = []string{}
	}
	b, _ := json.Marshal(ids)
	return string(b)
}

func queryStrings(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
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

func countRows(ctx context.Context, tx *sql.Tx, query string, args ...any) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, query, args...).Scan(&n)
	return n, err
}

// ListInstances lists instance ids by current status ("" for all), newest first.
func (s *Store) ListInstances(ctx context.Context, status history.ExecStatus) ([]string, error) {
	var out []string
	err := s.read(ctx, "ListInstances", func(tx *sql.Tx, _ int64) error {
		var err error
		out, err = queryStrings(ctx, tx, `SELECT instance_id FROM instances WHERE (?1 = '' OR status = ?1)
			ORDER BY created_at DESC, rowid DESC`, string(status))
		return err
	})
	return out, err
}

// ListExecutions lists an instance's execution ids, ascending.
func (s *Store) ListExecutions(ctx context.Context, instance string) ([]uint64, error) {
	out := []uint64{}
	err := s.read(ctx, "ListExecutions", func(tx *sql.Tx, _ int64) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, `SELECT execution_id FROM executions WHERE instance_id = ? ORDER BY execution_id`, instance)
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
	err := s.read(ctx, "ExecutionInfo", func(tx *sql.Tx, _ int64) error {
		var status string
		var output, errJSON sql.NullString
		var completed sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT status, output, error, started_at, completed_at FROM executions
			WHERE instance_id = ? AND execution_id = ?`, instance, int64(executionID)).Scan(
			&status, &output, &errJSON, &info.StartedAtMs, &completed)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: instance %q execution %d", history.ErrNotFound, instance, executionID)
		}
		if err != nil {
			return err
		}
		info.ExecutionID = executionID
		info.Status = history.ExecStatus(status)
		if output.Valid {
			info.Output = json.RawMessage(output.String)
		}
		if info.Error, err = decodeDetails(errJSON); err != nil {
			return corrupt("instance %q execution %d: error details: %w", instance, executionID, err)
		}
		info.CompletedAtMs = completed.Int64
		info.EventCount, err = countRows(ctx, tx, `SELECT COUNT(*) FROM history WHERE instance_id = ? AND execution_id = ?`,
			instance, int64(executionID))
		return err
	})
	return info, err
}

// Children lists an instance's direct sub-orchestrations.
func (s *Store) Children(ctx context.Context, instance string) ([]string, error) {
	var out []string
	err := s.read(ctx, "Children", func(tx *sql.Tx, _ int64) error {
		var err error
		out, err = queryStrings(ctx, tx, `SELECT instance_id FROM instances WHERE parent_instance_id = ?
			ORDER BY created_at, instance_id`, instance)
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
	err := s.write(ctx, "DeleteInstances", func(tx *sql.Tx, _ int64) error {
		var err error
		res, err = deleteInstancesTx(ctx, tx, ids, force)
		return err
	})
	if err != nil {
		return history.DeleteResult{}, err
	}
	s.fire(&changes{instances: ids})
	return res, nil
}

func deleteInstancesTx(ctx context.Context, tx *sql.Tx, ids []string, force bool) (history.DeleteResult, error) {
	var res history.DeleteResult
	arg := idsArg(ids)
	if !force {
		running, err := queryStrings(ctx, tx, `SELECT instance_id FROM instances
			WHERE instance_id IN (SELECT value FROM json_each(?)) AND status NOT IN (?, ?) LIMIT 1`,
			arg, string(history.StatusCompleted), string(history.StatusFailed))
		if err != nil {
			return res, err
		}
		if len(running) > 0 {
			return res, fmt.Errorf("%w: instance %q is still running; use force or cancel it first", history.ErrStillRunning, running[0])
		}
	}
	orphans, err := queryStrings(ctx, tx, `SELECT instance_id FROM instances
		WHERE parent_instance_id IN (SELECT value FROM json_each(?1))
		AND instance_id NOT IN (SELECT value FROM json_each(?1)) LIMIT 1`, arg)
	if err != nil {
		return res, err
	}
	if len(orphans) > 0 {
		return res, fmt.Errorf("%w: child %q would be orphaned; delete the whole tree", history.ErrHasChildren, orphans[0])
	}
	const in = ` WHERE instance_id IN (SELECT value FROM json_each(?))`
	if res.ExecutionsDeleted, err = countRows(ctx, tx, `SELECT COUNT(*) FROM executions`+in, arg); err != nil {
		return res, err
	}
	if res.EventsDeleted, err = countRows(ctx, tx, `SELECT COUNT(*) FROM history`+in, arg); err != nil {
		return res, err
	}
	if res.QueueMessagesDeleted, err = countRows(ctx, tx, `SELECT (SELECT COUNT(*) FROM orchestrator_queue`+in+`)
		+ (SELECT COUNT(*) FROM worker_queue`+in+`)`, arg, arg); err != nil {
		return res, err
	}
	for _, table := range []string{"history", "executions", "orchestrator_queue", "worker_queue", "instance_locks", "kv_store", "kv_delta"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+in, arg); err != nil {
			return res, err
		}
	}
	r, err := tx.ExecContext(ctx, `DELETE FROM instances`+in, arg)
	if err != nil {
		return res, err
	}
	n, err := r.RowsAffected()
	res.InstancesDeleted = int(n)
	return res, err
}

// filterQuery selects the instances matching f (optionally roots with a terminal
// status only), oldest first.
func filterQuery(f history.InstanceFilter, terminalRoots bool) (string, []any) {
	q := `SELECT i.instance_id FROM instances i
		LEFT JOIN executions e ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id WHERE 1=1`
	var args []any
	if terminalRoots {
		q += ` AND i.parent_instance_id IS NULL AND i.status IN (?, ?)`
		args = append(args, string(history.StatusCompleted), string(history.StatusFailed))
	}
	if f.InstanceIDs != nil {
		q += ` AND i.instance_id IN (SELECT value FROM json_each(?))`
		args = append(args, idsArg(f.InstanceIDs))
	}
	if f.CompletedBeforeMs != 0 {
		q += ` AND e.completed_at < ?`
		args = append(args, f.CompletedBeforeMs)
	}
	q += ` ORDER BY i.created_at, i.instance_id LIMIT ?`
	args = append(args, f.EffectiveLimit())
	return q, args
}

// DeleteInstancesBulk deletes matching terminal root instances with their trees.
func (s *Store) DeleteInstancesBulk(ctx context.Context, filter history.InstanceFilter) (history.DeleteResult, error) {
	var res history.DeleteResult
	var all []string
	err := s.write(ctx, "DeleteInstancesBulk", func(tx *sql.Tx, _ int64) error {
		res, all = history.DeleteResult{}, nil
		q, args := filterQuery(filter, true)
		roots, err := queryStrings(ctx, tx, q, args...)
		if err != nil {
			return err
		}
		for _, root := range roots {
			tree, err := queryStrings(ctx, tx, `WITH RECURSIVE tree(id) AS (
				SELECT ? UNION SELECT i.instance_id FROM instances i JOIN tree t ON i.parent_instance_id = t.id)
				SELECT id FROM tree`, root)
			if err != nil {
				return err
			}
			r, err := deleteInstancesTx(ctx, tx, tree, true)
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
	err := s.write(ctx, "PruneExecutions", func(tx *sql.Tx, _ int64) error {
		var err error
		res, err = pruneTx(ctx, tx, instance, opts)
		return err
	})
	return res, err
}

func pruneTx(ctx context.Context, tx *sql.Tx, instance string, opts history.PruneOptions) (history.PruneResult, error) {
	var res history.PruneResult
	var current int64
	err := tx.QueryRowContext(ctx, `SELECT current_execution_id FROM instances WHERE instance_id = ?`, instance).Scan(&current)
	if errors.Is(err, sql.ErrNoRows) {
		return res, fmt.Errorf("%w: instance %q", history.ErrNotFound, instance)
	}
	if err != nil {
		return res, err
	}
	keep := max(opts.KeepLast, 1)
	rows, err := tx.QueryContext(ctx, `SELECT execution_id FROM executions
		WHERE instance_id = ?1 AND execution_id <> ?2 AND status <> ?3
		AND execution_id NOT IN (SELECT execution_id FROM executions WHERE instance_id = ?1 ORDER BY execution_id DESC LIMIT ?4)
		AND (?5 = 0 OR completed_at < ?5)`, instance, current, string(history.StatusRunning), keep, opts.CompletedBeforeMs)
	if err != nil {
		return res, err
	}
	var execs []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return res, err
		}
		execs = append(execs, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, err
	}
	res.InstancesProcessed = 1
	for _, id := range execs {
		r, err := tx.ExecContext(ctx, `DELETE FROM history WHERE instance_id = ? AND execution_id = ?`, instance, id)
		if err != nil {
			return res, err
		}
		n, _ := r.RowsAffected()
		res.EventsDeleted += int(n)
		if _, err := tx.ExecContext(ctx, `DELETE FROM executions WHERE instance_id = ? AND execution_id = ?`, instance, id); err != nil {
			return res, err
		}
		res.ExecutionsDeleted++
	}
	return res, nil
}

// PruneExecutionsBulk prunes every instance matching filter.
func (s *Store) PruneExecutionsBulk(ctx context.Context, filter history.InstanceFilter, opts history.PruneOptions) (history.PruneResult, error) {
	var res history.PruneResult
	err := s.write(ctx, "PruneExecutionsBulk", func(tx *sql.Tx, _ int64) error {
		res = history.PruneResult{}
		q, args := filterQuery(filter, false)
		ids, err := queryStrings(ctx, tx, q, args...)
		if err != nil {
			return err
		}
		for _, id := range ids {
			r, err := pruneTx(ctx, tx, id, opts)
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
	err := s.read(ctx, "SystemMetrics", func(tx *sql.Tx, _ int64) error {
		return tx.QueryRowContext(ctx, `SELECT
			(SELECT COUNT(*) FROM instances),
			(SELECT COUNT(*) FROM executions),
			(SELECT COUNT(*) FROM instances WHERE status = ?),
			(SELECT COUNT(*) FROM instances WHERE status = ?),
			(SELECT COUNT(*) FROM instances WHERE status = ?),
			(SELECT COUNT(*) FROM history)`,
			string(history.StatusRunning), string(history.StatusCompleted), string(history.StatusFailed)).Scan(
			&m.TotalInstances, &m.TotalExecutions, &m.RunningInstances, &m.CompletedInstances, &m.FailedInstances, &m.TotalEvents)
	})
	return m, err
}

// QueueDepths counts unlocked queue messages.
func (s *Store) QueueDepths(ctx context.Context) (history.QueueDepths, error) {
	var d history.QueueDepths
	err := s.read(ctx, "QueueDepths", func(tx *sql.Tx, now int64) error {
		return tx.QueryRowContext(ctx, `SELECT
			(SELECT COUNT(*) FROM orchestrator_queue WHERE lock_token IS NULL AND visible_at <= ?1),
			(SELECT COUNT(*) FROM worker_queue WHERE lock_token IS NULL),
			(SELECT COUNT(*) FROM orchestrator_queue WHERE lock_token IS NULL AND visible_at > ?1)`, now).Scan(
			&d.OrchestratorQueue, &d.WorkerQueue, &d.TimerQueue)
	})
	return d, err
}

// InstanceStats measures one instance.
func (s *Store) InstanceStats(ctx context.Context, instance string) (history.InstanceStats, error) {
	var st history.InstanceStats
	err := s.read(ctx, "InstanceStats", func(tx *sql.Tx, _ int64) error {
		var current int64
		err := tx.QueryRowContext(ctx, `SELECT current_execution_id FROM instances WHERE instance_id = ?`, instance).Scan(&current)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: instance %q", history.ErrNotFound, instance)
		}
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `SELECT
			(SELECT COUNT(*) FROM history WHERE instance_id = ?1 AND execution_id = ?2),
			(SELECT COALESCE(SUM(LENGTH(CAST(data AS BLOB))), 0) FROM history WHERE instance_id = ?1 AND execution_id = ?2),
			(SELECT COUNT(*) FROM orchestrator_queue WHERE instance_id = ?1)`, instance, current).Scan(
			&st.HistoryEventCount, &st.HistorySizeBytes, &st.QueuePendingCount)
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(LENGTH(CAST(v AS BLOB))), 0) FROM (
				SELECT value AS v FROM kv_store s WHERE instance_id = ?1 AND NOT EXISTS
					(SELECT 1 FROM kv_delta d WHERE d.instance_id = s.instance_id AND d.key = s.key)
				UNION ALL
				SELECT value FROM kv_delta WHERE instance_id = ?1 AND value IS NOT NULL)`, instance).Scan(
			&st.KVUserKeyCount, &st.KVTotalValueBytes)
	})
	return st, err
}
