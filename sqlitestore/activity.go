package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/duroxide-go/duroxide/history"
)

// FetchActivity locks the oldest visible, unlocked activity.
func (s *Store) FetchActivity(ctx context.Context, req history.FetchActivityRequest) (*history.ActivityLease, error) {
	if req.Tags.Mode() == history.TagNone {
		return nil, nil
	}
	timeout := lockMs(req.LockTimeout)
	pred, tagArgs := tagPredicate(req.Tags)
	var lease *history.ActivityLease
	var decodeErr error
	err := s.write(ctx, "FetchActivity", func(tx *sql.Tx, now int64) error {
		lease, decodeErr = nil, nil
		var id int64
		var data string
		var attempt int
		err := tx.QueryRowContext(ctx, `SELECT id, message, attempt_count FROM worker_queue
			WHERE visible_at <= ?1 AND (lock_token IS NULL OR locked_until <= ?1) AND `+pred+`
			ORDER BY id LIMIT 1`, append([]any{now}, tagArgs...)...).Scan(&id, &data, &attempt)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		token := newToken()
		if _, err := tx.ExecContext(ctx, `UPDATE worker_queue SET lock_token = ?, locked_until = ?,
			attempt_count = attempt_count + 1 WHERE id = ?`, token, now+timeout, id); err != nil {
			return err
		}
		w, err := decodeWork(data)
		if err != nil {
			// Keep the row locked so that it does not block the activities behind it.
			decodeErr = corrupt("worker queue row %d: %w", id, err)
			return nil
		}
		lease = &history.ActivityLease{LockToken: token, Work: w, Attempt: attempt + 1}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if decodeErr != nil {
		return nil, wrap("FetchActivity", decodeErr)
	}
	return lease, nil
}

// CompleteActivity deletes a live-locked activity and queues its completion.
func (s *Store) CompleteActivity(ctx context.Context, lockToken string, completion *history.Message) error {
	err := s.write(ctx, "CompleteActivity", func(tx *sql.Tx, now int64) error {
		var id int64
		err := tx.QueryRowContext(ctx, `DELETE FROM worker_queue WHERE lock_token = ? AND locked_until > ? RETURNING id`,
			lockToken, now).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: complete activity: withdrawn, expired or unknown lock", history.ErrLockLost)
		}
		if err != nil {
			return err
		}
		if completion == nil {
			return nil
		}
		return queueMessage(ctx, tx, *completion, now)
	})
	if err == nil && completion != nil {
		s.sig.Orchestrator()
	}
	return err
}

// AbandonActivity unlocks a live-locked activity; it becomes visible again after delay.
func (s *Store) AbandonActivity(ctx context.Context, lockToken string, delay time.Duration, ignoreAttempt bool) error {
	err := s.write(ctx, "AbandonActivity", func(tx *sql.Tx, now int64) error {
		res, err := tx.ExecContext(ctx, `UPDATE worker_queue SET lock_token = NULL, locked_until = NULL, visible_at = ?,
			attempt_count = CASE WHEN ? THEN MAX(0, attempt_count - 1) ELSE attempt_count END
			WHERE lock_token = ? AND locked_until > ?`, now+durMs(delay), ignoreAttempt, lockToken, now)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: abandon activity: withdrawn, expired or unknown lock", history.ErrLockLost)
		}
		return nil
	})
	if err == nil {
		s.sig.Worker()
	}
	return err
}

// RenewActivityLock extends a live activity lock by extend from now.
func (s *Store) RenewActivityLock(ctx context.Context, lockToken string, extend time.Duration) error {
	return s.write(ctx, "RenewActivityLock", func(tx *sql.Tx, now int64) error {
		res, err := tx.ExecContext(ctx, `UPDATE worker_queue SET locked_until = ? WHERE lock_token = ? AND locked_until > ?`,
			now+lockMs(extend), lockToken, now)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: renew activity: withdrawn, expired or unknown lock", history.ErrLockLost)
		}
		return nil
	})
}

// tagPredicate renders the worker fetch's tag condition on the tag column (NULL for an
// untagged activity), with the filter's tags (sorted) bound as parameters ?2, ?3, ...
// after the clock (?1).
func tagPredicate(f history.TagFilter) (string, []any) {
	tags := f.Tags()
	args := make([]any, len(tags))
	marks := make([]string, len(tags))
	for i, t := range tags {
		args[i] = t
		marks[i] = "?" + strconv.Itoa(i+2)
	}
	in := "tag IN (" + strings.Join(marks, ", ") + ")"
	switch f.Mode() {
	case history.TagOnly:
		return in, args
	case history.TagDefaultAnd:
		return "(tag IS NULL OR " + in + ")", args
	case history.TagAny:
		return "1", nil
	case history.TagNone:
		return "0", nil
	default:
		return "tag IS NULL", nil
	}
}
