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

// FetchActivity locks the oldest visible, unlocked activity the request may take; an
// activity of a session nobody holds claims the session for the request's owner.
func (s *Store) FetchActivity(ctx context.Context, req history.FetchActivityRequest) (*history.ActivityLease, error) {
	if req.Tags.Mode() == history.TagNone {
		return nil, nil
	}
	timeout := lockMs(req.LockTimeout)
	pred, args := tagPredicate(req.Tags)
	args = append([]any{nil}, args...) // ?1 is the clock, set per attempt
	sessionPred := "w.session_id IS NULL"
	if req.Session != nil {
		args = append(args, req.Session.Owner)
		sessionPred = "(w.session_id IS NULL OR s.session_id IS NULL OR s.owner = ?" + strconv.Itoa(len(args)) + ")"
	}
	var lease *history.ActivityLease
	err := s.write(ctx, "FetchActivity", func(tx *sql.Tx, now int64) error {
		lease = nil
		args[0] = now
		var id, exec, activityID int64
		var instance, data string
		var attempt int
		var session sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT w.id, w.instance_id, w.execution_id, w.activity_id, w.message, w.attempt_count, w.session_id FROM worker_queue w
			LEFT JOIN sessions s ON s.session_id = w.session_id AND s.locked_until > ?1
			WHERE w.visible_at <= ?1 AND (w.lock_token IS NULL OR w.locked_until <= ?1) AND `+pred+` AND `+sessionPred+`
			ORDER BY w.id LIMIT 1`, args...).Scan(&id, &instance, &exec, &activityID, &data, &attempt, &session)
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
		if session.Valid {
			// The writer lock serialises fetches, so the claim cannot lose a race here.
			if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (session_id, owner, locked_until, last_activity_at)
				VALUES (?1, ?2, ?3, ?4)
				ON CONFLICT (session_id) DO UPDATE SET owner = excluded.owner, locked_until = excluded.locked_until,
					last_activity_at = excluded.last_activity_at`,
				session.String, req.Session.Owner, now+lockMs(req.Session.LockTimeout), now); err != nil {
				return err
			}
		}
		lease = &history.ActivityLease{LockToken: token, Attempt: attempt + 1}
		if lease.Work, err = decodeWork(data); err != nil {
			// The caller fails the activity; the ids come from the row's columns.
			lease.Work = history.ActivityWork{Instance: instance, ExecutionID: uint64(exec), ID: uint64(activityID)}
			lease.WorkErr = wrap("FetchActivity", corrupt("worker queue row %d: %w", id, err))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return lease, nil
}

// touchSession records activity on a live session, so that its owner keeps renewing it.
func touchSession(ctx context.Context, tx *sql.Tx, session sql.NullString, now int64) error {
	if !session.Valid {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_activity_at = ?2 WHERE session_id = ?1 AND locked_until > ?2`,
		session.String, now)
	return err
}

// RenewSessionLocks extends the live, recently active sessions of owners.
func (s *Store) RenewSessionLocks(ctx context.Context, owners []string, extend, idleTimeout time.Duration) (int, error) {
	if len(owners) == 0 {
		return 0, nil
	}
	var n int64
	err := s.write(ctx, "RenewSessionLocks", func(tx *sql.Tx, now int64) error {
		args := []any{now, now + lockMs(extend), now - durMs(idleTimeout)}
		marks := make([]string, len(owners))
		for i, o := range owners {
			args = append(args, o)
			marks[i] = "?" + strconv.Itoa(len(args))
		}
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET locked_until = ?2
			WHERE owner IN (`+strings.Join(marks, ", ")+`) AND locked_until > ?1 AND last_activity_at > ?3`, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// CleanupSessions removes expired sessions that no queued activity refers to.
func (s *Store) CleanupSessions(ctx context.Context) (int, error) {
	var n int64
	err := s.write(ctx, "CleanupSessions", func(tx *sql.Tx, now int64) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE locked_until <= ?1
			AND NOT EXISTS (SELECT 1 FROM worker_queue w WHERE w.session_id = sessions.session_id)`, now)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// CompleteActivity deletes a live-locked activity and queues its completion.
func (s *Store) CompleteActivity(ctx context.Context, lockToken string, completion *history.Message) error {
	err := s.write(ctx, "CompleteActivity", func(tx *sql.Tx, now int64) error {
		var session sql.NullString
		err := tx.QueryRowContext(ctx, `DELETE FROM worker_queue WHERE lock_token = ? AND locked_until > ? RETURNING session_id`,
			lockToken, now).Scan(&session)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: complete activity: withdrawn, expired or unknown lock", history.ErrLockLost)
		}
		if err != nil {
			return err
		}
		if err := touchSession(ctx, tx, session, now); err != nil {
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
		var session sql.NullString
		err := tx.QueryRowContext(ctx, `UPDATE worker_queue SET locked_until = ? WHERE lock_token = ? AND locked_until > ?
			RETURNING session_id`, now+lockMs(extend), lockToken, now).Scan(&session)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: renew activity: withdrawn, expired or unknown lock", history.ErrLockLost)
		}
		if err != nil {
			return err
		}
		return touchSession(ctx, tx, session, now)
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
