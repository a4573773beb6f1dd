package sqlitestore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/duroxide-go/duroxide/history"
)

const instanceCols = `instance_id, name, version, current_execution_id, status, output, error,
	custom_status, custom_status_version, parent_instance_id, created_at, updated_at`

// loadInstance reads an instance row; ok is false when there is none.
func loadInstance(ctx context.Context, tx *sql.Tx, id string) (st history.InstanceState, ok bool, err error) {
	var status string
	var output, errJSON, custom, parent sql.NullString
	var exec, csv int64
	err = tx.QueryRowContext(ctx, `SELECT `+instanceCols+` FROM instances WHERE instance_id = ?`, id).Scan(
		&st.Instance, &st.Name, &st.Version, &exec, &status, &output, &errJSON,
		&custom, &csv, &parent, &st.CreatedAtMs, &st.UpdatedAtMs)
	if errors.Is(err, sql.ErrNoRows) {
		return history.InstanceState{}, false, nil
	}
	if err != nil {
		return history.InstanceState{}, false, err
	}
	st.ExecutionID = uint64(exec)
	st.Status = history.ExecStatus(status)
	if output.Valid {
		st.Output = json.RawMessage(output.String)
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

// rawArg stores a raw JSON payload as TEXT, byte for byte (NULL when empty).
func rawArg(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	return string(raw)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// createInstanceRow inserts the instance row (status Running, execution 1) and its
// first execution for a start message; false when the id is taken.
func createInstanceRow(ctx context.Context, tx *sql.Tx, start history.Message, now int64) (bool, error) {
	if start.Instance == "" {
		return false, invalid("start message without an instance id")
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO instances
		(instance_id, name, version, current_execution_id, status, parent_instance_id, created_at, updated_at)
		VALUES (?, ?, ?, 1, ?, ?, ?, ?) ON CONFLICT(instance_id) DO NOTHING`,
		start.Instance, start.Name, start.Version, string(history.StatusRunning), nullString(start.ParentInstance), now, now)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO executions (instance_id, execution_id, status, started_at)
		VALUES (?, 1, ?, ?) ON CONFLICT DO NOTHING`, start.Instance, string(history.StatusRunning), now)
	return err == nil, err
}

// queueMessage appends a message to the orchestrator queue of its instance; a
// TimerFired becomes visible at FireAtMs, anything else at once.
func queueMessage(ctx context.Context, tx *sql.Tx, m history.Message, now int64) error {
	if m.Instance == "" {
		return invalid("%s message without an instance id", m.Kind)
	}
	b, err := history.EncodeMessage(m)
	if err != nil {
		return err
	}
	visible := now
	if m.Kind == history.MsgTimerFired && m.FireAtMs != 0 {
		visible = m.FireAtMs
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO orchestrator_queue (instance_id, kind, message, visible_at, created_at)
		VALUES (?, ?, ?, ?, ?)`, m.Instance, string(m.Kind), string(b), visible, now)
	return err
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

func decodeWork(s string) (history.ActivityWork, error) {
	var w history.ActivityWork
	if err := json.Unmarshal([]byte(s), &w); err != nil {
		return history.ActivityWork{}, fmt.Errorf("%w: decode activity: %w", history.ErrCodec, err)
	}
	return w, nil
}
