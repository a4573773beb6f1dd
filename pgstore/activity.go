package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/duroxide-go/duroxide/history"
	"github.com/lib/pq"
)

// FetchActivity locks the oldest visible, unlocked activity the request may take.
// Concurrent fetchers pass over each other's rows (FOR UPDATE SKIP LOCKED), so no two take
// the same activity. An activity of a session nobody holds claims the session for the
// request's owner; of two owners claiming one session at once, one wins and the other
// gets nothing this time.
func (s *Store) FetchActivity(ctx context.Context, req history.FetchActivityRequest) (*history.ActivityLease, error) {
	if req.Tags.Mode() == history.TagNone {
		return nil, nil
	}
	pred, tagArgs := tagPredicate(req.Tags)
	token := newToken()
	args := append([]any{token, lockMs(req.LockTimeout)}, tagArgs...)
	if req.Session == nil {
		return s.fetchActivity(ctx, `SELECT id FROM {S}.worker_queue
			WHERE visible_at <= {NOW} AND (lock_token IS NULL OR locked_until <= {NOW}) AND `+pred+` AND session_id IS NULL
			ORDER BY id LIMIT 1
			FOR UPDATE SKIP LOCKED`, token, args, nil)
	}
	args = append(args, req.Session.Owner)
	owner := "$" + strconv.Itoa(len(args))
	return s.fetchActivity(ctx, `SELECT w.id FROM {S}.worker_queue w
			LEFT JOIN {S}.sessions s ON s.session_id = w.session_id AND s.locked_until > {NOW}
			WHERE w.visible_at <= {NOW} AND (w.lock_token IS NULL OR w.locked_until <= {NOW}) AND `+pred+`
				AND (w.session_id IS NULL OR s.session_id IS NULL OR s.owner = `+owner+`)
			ORDER BY w.id LIMIT 1
			FOR UPDATE OF w SKIP LOCKED`, token, args, req.Session)
}

// fetchActivity locks with token the row that candidate selects and, for a session activity,
// claims or refreshes the session for session.Owner in the same transaction.
func (s *Store) fetchActivity(ctx context.Context, candidate, token string, args []any, session *history.SessionFetch) (*history.ActivityLease, error) {
	var (
		id, exec, activityID int64
		instance             string
		data                 []byte
		attempt              int
		sessionID            sql.NullString
		found                bool
	)
	err := s.write(ctx, "FetchActivity", func(tx ptx) error {
		found = false
		// Walk the queue in id order through an index and stop at the first activity that
		// can be taken, rather than sort every visible one: a fresh or bursty queue has
		// statistics that make the planner expect a handful of rows and pick the sort,
		// whose cost grows with the queue (measured: 2.4 ms per fetch at 800 queued).
		if _, err := tx.ExecContext(ctx, `SET LOCAL enable_sort = off`); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, s.sql(`WITH c AS MATERIALIZED (`+candidate+`)
			UPDATE {S}.worker_queue w SET lock_token = $1, locked_until = {NOW} + $2::bigint, attempt_count = w.attempt_count + 1
			FROM c WHERE w.id = c.id
			RETURNING w.id, w.instance_id, w.execution_id, w.activity_id, w.message, w.attempt_count, w.session_id, `+asyncCommitSQL),
			args...).Scan(&id, &instance, &exec, &activityID, &data, &attempt, &sessionID, new(string))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if sessionID.Valid && session != nil {
			res, err := tx.ExecContext(ctx, s.sql(`INSERT INTO {S}.sessions AS s (session_id, owner, locked_until, last_activity_at)
				VALUES ($1, $2, {NOW} + $3::bigint, {NOW})
				ON CONFLICT (session_id) DO UPDATE SET owner = EXCLUDED.owner, locked_until = EXCLUDED.locked_until,
					last_activity_at = EXCLUDED.last_activity_at
				WHERE s.locked_until <= {NOW} OR s.owner = EXCLUDED.owner`),
				sessionID.String, session.Owner, lockMs(session.LockTimeout))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return errRetryTx // another owner claimed the session first
			}
		}
		found = true
		return nil
	})
	if errors.Is(err, errRetryTx) || (err == nil && !found) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	lease := &history.ActivityLease{LockToken: token, Attempt: attempt}
	if lease.Work, err = decodeWork(data); err != nil {
		// The caller fails the activity; the ids come from the row's columns.
		lease.Work = history.ActivityWork{Instance: instance, ExecutionID: uint64(exec), ID: uint64(activityID)}
		lease.WorkErr = wrap(ctx, "FetchActivity", corrupt("worker queue row %d: %w", id, err))
	}
	return lease, nil
}

// touchSession records activity on a live session, so that its owner keeps renewing it.
func (s *Store) touchSession(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, session sql.NullString) error {
	if !session.Valid {
		return nil
	}
	_, err := q.ExecContext(ctx, s.sql(`UPDATE {S}.sessions SET last_activity_at = {NOW}
		WHERE session_id = $1 AND locked_until > {NOW}`), session.String)
	return err
}

// RenewSessionLocks extends the live, recently active sessions of owners.
func (s *Store) RenewSessionLocks(ctx context.Context, owners []string, extend, idleTimeout time.Duration) (int, error) {
	if len(owners) == 0 {
		return 0, nil
	}
	res, err := pdb(s).ExecContext(ctx, s.sql(`UPDATE {S}.sessions SET locked_until = {NOW} + $2::bigint
		WHERE owner = ANY($1::text[]) AND locked_until > {NOW} AND last_activity_at > {NOW} - $3::bigint`),
		pq.Array(owners), lockMs(extend), durMs(idleTimeout))
	if err != nil {
		return 0, wrap(ctx, "RenewSessionLocks", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap(ctx, "RenewSessionLocks", err)
	}
	return int(n), nil
}

// CleanupSessions removes expired sessions that no queued activity refers to.
func (s *Store) CleanupSessions(ctx context.Context) (int, error) {
	res, err := pdb(s).ExecContext(ctx, s.sql(`DELETE FROM {S}.sessions s WHERE s.locked_until <= {NOW}
		AND NOT EXISTS (SELECT 1 FROM {S}.worker_queue w WHERE w.session_id = s.session_id)`))
	if err != nil {
		return 0, wrap(ctx, "CleanupSessions", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap(ctx, "CleanupSessions", err)
	}
	return int(n), nil
}

// CompleteActivity deletes a live-locked activity and queues its completion. With a
// completion it is one statement in its own transaction (one round trip): delete the
// activity, refresh its session, queue the completion, and NOTIFY when the completion is
// the only fetchable work. Without one (a cancelled activity) it deletes the activity
// and refreshes its session.
func (s *Store) CompleteActivity(ctx context.Context, lockToken string, completion *history.Message) error {
	if completion != nil {
		return s.completeActivity(ctx, lockToken, *completion)
	}
	return s.write(ctx, "CompleteActivity", func(tx ptx) error {
		var session sql.NullString
		err := tx.QueryRowContext(ctx, s.sql(`DELETE FROM {S}.worker_queue WHERE lock_token = $1 AND locked_until > {NOW} RETURNING session_id`),
			lockToken).Scan(&session)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: complete activity: withdrawn, expired or unknown lock", history.ErrLockLost)
		}
		if err != nil {
			return err
		}
		return s.touchSession(ctx, tx, session)
	})
}

// AbandonActivity unlocks a live-locked activity; it becomes visible again after delay.
func (s *Store) AbandonActivity(ctx context.Context, lockToken string, delay time.Duration, ignoreAttempt bool) error {
	d := durMs(delay)
	err := s.write(ctx, "AbandonActivity", func(tx ptx) error {
		var idle bool
		err := tx.QueryRowContext(ctx, s.sql(`WITH idle AS MATERIALIZED (SELECT `+
			workIdleSQL(`ARRAY(SELECT COALESCE(tag, '') FROM {S}.worker_queue WHERE lock_token = $1)`)+` AS idle),
			upd AS (UPDATE {S}.worker_queue SET lock_token = NULL, locked_until = NULL, visible_at = {NOW} + $2::bigint,
					attempt_count = CASE WHEN $3::boolean THEN GREATEST(0, attempt_count - 1) ELSE attempt_count END
				WHERE lock_token = $1 AND locked_until > {NOW} RETURNING id)
			SELECT idle FROM idle, upd`), lockToken, d, ignoreAttempt).Scan(&idle)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: abandon activity: withdrawn, expired or unknown lock", history.ErrLockLost)
		}
		if err != nil {
			return err
		}
		if idle && d == 0 {
			return s.sendNotify(ctx, tx, &changes{pgWork: true})
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
	var session sql.NullString
	err := pdb(s).QueryRowContext(ctx, s.sql(`UPDATE {S}.worker_queue SET locked_until = {NOW} + $2::bigint
		WHERE lock_token = $1 AND locked_until > {NOW} RETURNING session_id`), lockToken, lockMs(extend)).Scan(&session)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: renew activity: withdrawn, expired or unknown lock", history.ErrLockLost)
	}
	if err != nil {
		return wrap(ctx, "RenewActivityLock", err)
	}
	if err := s.touchSession(ctx, s.db, session); err != nil {
		return wrap(ctx, "RenewActivityLock", err)
	}
	return nil
}

// tagPredicate renders the worker fetch's tag condition on the tag column (NULL for an
// untagged activity), with the filter's tags (sorted) bound as the text array $3 when it
// names some.
func tagPredicate(f history.TagFilter) (string, []any) {
	switch f.Mode() {
	case history.TagOnly:
		return "tag = ANY($3::text[])", []any{pq.Array(f.Tags())}
	case history.TagDefaultAnd:
		return "(tag IS NULL OR tag = ANY($3::text[]))", []any{pq.Array(f.Tags())}
	case history.TagAny:
		return "TRUE", nil
	case history.TagNone:
		return "FALSE", nil
	default:
		return "tag IS NULL", nil
	}
}

func (s *Store) completeActivity(ctx context.Context, lockToken string, m history.Message) error {
	if m.Instance == "" {
		return wrap(ctx, "CompleteActivity", invalid("%s message without an instance id", m.Kind))
	}
	b, err := history.EncodeMessage(m)
	if err != nil {
		return wrap(ctx, "CompleteActivity", err)
	}
	// The idle check reads the queue as it was before the insert (one snapshot for the
	// whole statement), as queueMessage's does.
	var notified bool
	err = pdb(s).QueryRowContext(ctx, s.sql(`WITH d AS (DELETE FROM {S}.worker_queue
				WHERE lock_token = $1 AND locked_until > {NOW} RETURNING session_id),
			t AS (UPDATE {S}.sessions SET last_activity_at = {NOW}
				WHERE session_id IN (SELECT session_id FROM d) AND locked_until > {NOW}),
			i AS (INSERT INTO {S}.orchestrator_queue (instance_id, kind, message, visible_at, created_at)
				SELECT $2, $3, $4, {NOW}, {NOW} FROM d
				RETURNING NOT EXISTS (SELECT 1 FROM {S}.instance_locks l
					WHERE l.instance_id = $2 AND l.locked_until > {NOW}) AS fetchable),
			f AS MATERIALIZED (SELECT i.fetchable AND `+orchIdleSQL+` AS notify FROM i)
		SELECT f.notify, (SELECT count(*) FROM (SELECT pg_notify($5, $6) WHERE f.notify) n) FROM f`),
		lockToken, m.Instance, string(m.Kind), b, s.chOrch, s.origin).Scan(&notified, new(int64))
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: complete activity: withdrawn, expired or unknown lock", history.ErrLockLost)
	}
	if err != nil {
		return wrap(ctx, "CompleteActivity", err)
	}
	s.fire(&changes{orch: true})
	return nil
}
