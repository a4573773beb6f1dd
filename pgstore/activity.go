package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/duroxide-go/duroxide/history"
	"github.com/lib/pq"
)

// FetchActivity locks the oldest visible, unlocked activity. Concurrent fetchers pass
// over each other's rows (FOR UPDATE SKIP LOCKED), so no two take the same activity.
func (s *Store) FetchActivity(ctx context.Context, req history.FetchActivityRequest) (*history.ActivityLease, error) {
	if req.Tags.Mode() == history.TagNone {
		return nil, nil
	}
	pred, tagArgs := tagPredicate(req.Tags)
	token := newToken()
	var id int64
	var data []byte
	var attempt int
	err := s.db.QueryRowContext(ctx, s.sql(`WITH c AS MATERIALIZED (
			SELECT id FROM {S}.worker_queue
			WHERE visible_at <= {NOW} AND (lock_token IS NULL OR locked_until <= {NOW}) AND `+pred+`
			ORDER BY id LIMIT 1
			FOR UPDATE SKIP LOCKED)
		UPDATE {S}.worker_queue w SET lock_token = $1, locked_until = {NOW} + $2::bigint, attempt_count = w.attempt_count + 1
		FROM c WHERE w.id = c.id
		RETURNING w.id, w.message, w.attempt_count`), append([]any{token, lockMs(req.LockTimeout)}, tagArgs...)...).Scan(&id, &data, &attempt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap(ctx, "FetchActivity", err)
	}
	w, err := decodeWork(data)
	if err != nil {
		// The row stays locked so that it does not block the activities behind it.
		return nil, wrap(ctx, "FetchActivity", corrupt("worker queue row %d: %w", id, err))
	}
	return &history.ActivityLease{LockToken: token, Work: w, Attempt: attempt}, nil
}

// CompleteActivity deletes a live-locked activity and queues its completion.
func (s *Store) CompleteActivity(ctx context.Context, lockToken string, completion *history.Message) error {
	var ch changes
	err := s.write(ctx, "CompleteActivity", func(tx *sql.Tx) error {
		ch = changes{}
		var id int64
		err := tx.QueryRowContext(ctx, s.sql(`DELETE FROM {S}.worker_queue WHERE lock_token = $1 AND locked_until > {NOW} RETURNING id`),
			lockToken).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: complete activity: withdrawn, expired or unknown lock", history.ErrLockLost)
		}
		if err != nil {
			return err
		}
		if completion == nil {
			return nil
		}
		if err := s.queueMessage(ctx, tx, *completion, &ch); err != nil {
			return err
		}
		return s.sendNotify(ctx, tx, &ch)
	})
	if err == nil {
		s.fire(&ch)
	}
	return err
}

// AbandonActivity unlocks a live-locked activity; it becomes visible again after delay.
func (s *Store) AbandonActivity(ctx context.Context, lockToken string, delay time.Duration, ignoreAttempt bool) error {
	d := durMs(delay)
	err := s.write(ctx, "AbandonActivity", func(tx *sql.Tx) error {
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
	res, err := s.db.ExecContext(ctx, s.sql(`UPDATE {S}.worker_queue SET locked_until = {NOW} + $2::bigint
		WHERE lock_token = $1 AND locked_until > {NOW}`), lockToken, lockMs(extend))
	if err != nil {
		return wrap(ctx, "RenewActivityLock", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrap(ctx, "RenewActivityLock", err)
	} else if n == 0 {
		return fmt.Errorf("%w: renew activity: withdrawn, expired or unknown lock", history.ErrLockLost)
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
