package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/duroxide-go/duroxide/history"
)

// CreateInstance records a new instance (status Running, execution 1) and queues its
// start message, atomically; ErrAlreadyExists if the id is taken.
func (s *Store) CreateInstance(ctx context.Context, start history.Message) error {
	if start.Kind != history.MsgStartOrchestration {
		return wrap("CreateInstance", invalid("CreateInstance needs a %s message, got %q", history.MsgStartOrchestration, start.Kind))
	}
	err := s.write(ctx, "CreateInstance", func(tx *sql.Tx, now int64) error {
		created, err := createInstanceRow(ctx, tx, start, now)
		if err != nil {
			return err
		}
		if !created {
			return fmt.Errorf("%w: instance %q", history.ErrAlreadyExists, start.Instance)
		}
		return queueMessage(ctx, tx, start, now)
	})
	if err == nil {
		s.fire(&changes{orch: true, instances: []string{start.Instance}})
	}
	return err
}

// SendMessage queues a message for an existing instance; ErrNotFound for an unknown
// one, and nothing (nil) for a completed or failed one.
func (s *Store) SendMessage(ctx context.Context, msg history.Message) error {
	queued := false
	err := s.write(ctx, "SendMessage", func(tx *sql.Tx, now int64) error {
		queued = false
		var status string
		err := tx.QueryRowContext(ctx, `SELECT status FROM instances WHERE instance_id = ?`, msg.Instance).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: instance %q", history.ErrNotFound, msg.Instance)
		}
		if err != nil {
			return err
		}
		if history.ExecStatus(status).IsTerminal() {
			return nil
		}
		queued = true
		return queueMessage(ctx, tx, msg, now)
	})
	if err == nil && queued {
		s.sig.Orchestrator()
	}
	return err
}

// InstanceState reads an instance's row.
func (s *Store) InstanceState(ctx context.Context, instance string) (history.InstanceState, error) {
	var st history.InstanceState
	err := s.read(ctx, "InstanceState", func(tx *sql.Tx, _ int64) error {
		var ok bool
		var err error
		st, ok, err = loadInstance(ctx, tx, instance)
		if err == nil && !ok {
			err = fmt.Errorf("%w: instance %q", history.ErrNotFound, instance)
		}
		return err
	})
	return st, err
}

// ReadHistory reads one execution's events (0: the current execution).
func (s *Store) ReadHistory(ctx context.Context, instance string, executionID uint64) ([]history.Event, error) {
	var events []history.Event
	err := s.read(ctx, "ReadHistory", func(tx *sql.Tx, _ int64) error {
		exec := int64(executionID)
		var err error
		if exec == 0 {
			err = tx.QueryRowContext(ctx, `SELECT current_execution_id FROM instances WHERE instance_id = ?`,
				instance).Scan(&exec)
		} else {
			var one int
			err = tx.QueryRowContext(ctx, `SELECT 1 FROM executions WHERE instance_id = ? AND execution_id = ?`,
				instance, exec).Scan(&one)
		}
		if errors.Is(err, sql.ErrNoRows) {
			if executionID == 0 {
				return fmt.Errorf("%w: instance %q", history.ErrNotFound, instance)
			}
			return fmt.Errorf("%w: instance %q execution %d", history.ErrNotFound, instance, executionID)
		}
		if err != nil {
			return err
		}
		var decodeErr error
		events, decodeErr, err = loadHistory(ctx, tx, instance, uint64(exec), 0)
		if err != nil {
			return err
		}
		if decodeErr != nil {
			return corrupt("%w", decodeErr)
		}
		if events == nil {
			events = []history.Event{}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return events, nil
}

// GetKV reads a key: the current execution's change if any, else the merged value.
func (s *Store) GetKV(ctx context.Context, instance, key string) (value string, ok bool, err error) {
	err = s.read(ctx, "GetKV", func(tx *sql.Tx, _ int64) error {
		value, ok = "", false
		var v sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT value FROM kv_delta WHERE instance_id = ? AND key = ?`,
			instance, key).Scan(&v)
		if err == nil {
			value, ok = v.String, v.Valid
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		err = tx.QueryRowContext(ctx, `SELECT value FROM kv_store WHERE instance_id = ? AND key = ?`,
			instance, key).Scan(&value)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		ok = err == nil
		return err
	})
	if err != nil {
		return "", false, err
	}
	return value, ok, nil
}

// GetAllKV reads every key of an instance, the current execution's changes included.
func (s *Store) GetAllKV(ctx context.Context, instance string) (map[string]string, error) {
	out := map[string]string{}
	err := s.read(ctx, "GetAllKV", func(tx *sql.Tx, _ int64) error {
		clear(out)
		rows, err := tx.QueryContext(ctx, `
			SELECT key, value FROM kv_store s WHERE instance_id = ?1 AND NOT EXISTS
				(SELECT 1 FROM kv_delta d WHERE d.instance_id = s.instance_id AND d.key = s.key)
			UNION ALL
			SELECT key, value FROM kv_delta WHERE instance_id = ?1 AND value IS NOT NULL`, instance)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				return err
			}
			out[k] = v
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
