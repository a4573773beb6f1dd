package pgstore

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
		return wrap(ctx, "CreateInstance", invalid("CreateInstance needs a %s message, got %q", history.MsgStartOrchestration, start.Kind))
	}
	var ch changes
	err := s.write(ctx, "CreateInstance", func(tx ptx) error {
		ch = changes{}
		created, err := s.createInstanceRow(ctx, tx, start)
		if err != nil {
			return err
		}
		if !created {
			return fmt.Errorf("%w: instance %q", history.ErrAlreadyExists, start.Instance)
		}
		ch.instances = append(ch.instances, start.Instance)
		if err := s.queueMessage(ctx, tx, start, &ch); err != nil {
			return err
		}
		return s.sendNotify(ctx, tx, &ch)
	})
	if err == nil {
		s.fire(&ch)
	}
	return err
}

// SendMessage queues a message for an existing instance; ErrNotFound for an unknown
// one, and nothing (nil) for a completed or failed one.
func (s *Store) SendMessage(ctx context.Context, msg history.Message) error {
	var ch changes
	err := s.write(ctx, "SendMessage", func(tx ptx) error {
		ch = changes{}
		var status string
		err := tx.QueryRowContext(ctx, s.sql(`SELECT status FROM {S}.instances WHERE instance_id = $1`), msg.Instance).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: instance %q", history.ErrNotFound, msg.Instance)
		}
		if err != nil {
			return err
		}
		if history.ExecStatus(status).IsTerminal() {
			return nil
		}
		if err := s.queueMessage(ctx, tx, msg, &ch); err != nil {
			return err
		}
		return s.sendNotify(ctx, tx, &ch)
	})
	if err == nil {
		s.fire(&ch)
	}
	return err
}

// InstanceState reads an instance's row.
func (s *Store) InstanceState(ctx context.Context, instance string) (history.InstanceState, error) {
	st, ok, err := s.loadInstance(ctx, pdb(s), instance)
	if err != nil {
		return history.InstanceState{}, wrap(ctx, "InstanceState", err)
	}
	if !ok {
		return history.InstanceState{}, fmt.Errorf("%w: instance %q", history.ErrNotFound, instance)
	}
	return st, nil
}

// ReadHistory reads one execution's events (0: the current execution), in one
// statement (one snapshot).
func (s *Store) ReadHistory(ctx context.Context, instance string, executionID uint64) ([]history.Event, error) {
	rows, err := pdb(s).QueryContext(ctx, s.sql(`WITH ex AS (
			SELECT CASE WHEN $2::bigint = 0
				THEN (SELECT current_execution_id FROM {S}.instances WHERE instance_id = $1)
				ELSE (SELECT execution_id FROM {S}.executions WHERE instance_id = $1 AND execution_id = $2::bigint)
			END AS id)
		SELECT ex.id, h.event_id, h.data FROM ex
		LEFT JOIN {S}.history h ON h.instance_id = $1 AND h.execution_id = ex.id
		ORDER BY h.event_id`), instance, int64(executionID))
	if err != nil {
		return nil, wrap(ctx, "ReadHistory", err)
	}
	defer rows.Close()
	events := []history.Event{}
	found := false
	for rows.Next() {
		var exec, id sql.NullInt64
		var data []byte
		if err := rows.Scan(&exec, &id, &data); err != nil {
			return nil, wrap(ctx, "ReadHistory", err)
		}
		if !exec.Valid {
			break
		}
		found = true
		if !id.Valid {
			continue
		}
		e, err := history.DecodeEvent(data)
		if err != nil {
			return nil, wrap(ctx, "ReadHistory", corrupt("history of %q execution %d, event %d: %w", instance, exec.Int64, id.Int64, err))
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(ctx, "ReadHistory", err)
	}
	if !found {
		if executionID == 0 {
			return nil, fmt.Errorf("%w: instance %q", history.ErrNotFound, instance)
		}
		return nil, fmt.Errorf("%w: instance %q execution %d", history.ErrNotFound, instance, executionID)
	}
	return events, nil
}

// GetKV reads a key: the current execution's change if any, else the merged value.
func (s *Store) GetKV(ctx context.Context, instance, key string) (string, bool, error) {
	var v sql.NullString
	err := pdb(s).QueryRowContext(ctx, s.sql(`SELECT value FROM {S}.kv_delta WHERE instance_id = $1 AND key = $2
		UNION ALL
		SELECT value FROM {S}.kv_store s WHERE instance_id = $1 AND key = $2 AND NOT EXISTS
			(SELECT 1 FROM {S}.kv_delta d WHERE d.instance_id = s.instance_id AND d.key = s.key)`),
		instance, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, wrap(ctx, "GetKV", err)
	}
	return v.String, v.Valid, nil
}

// GetAllKV reads every key of an instance, the current execution's changes included.
func (s *Store) GetAllKV(ctx context.Context, instance string) (map[string]string, error) {
	rows, err := pdb(s).QueryContext(ctx, s.sql(`
		SELECT key, value FROM {S}.kv_store s WHERE instance_id = $1 AND NOT EXISTS
			(SELECT 1 FROM {S}.kv_delta d WHERE d.instance_id = s.instance_id AND d.key = s.key)
		UNION ALL
		SELECT key, value FROM {S}.kv_delta WHERE instance_id = $1 AND value IS NOT NULL`), instance)
	if err != nil {
		return nil, wrap(ctx, "GetAllKV", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, wrap(ctx, "GetAllKV", err)
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(ctx, "GetAllKV", err)
	}
	return out, nil
}
