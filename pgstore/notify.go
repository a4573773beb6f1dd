package pgstore

import (
	"context"
	"errors"
	"strings"

	"github.com/lib/pq"
)

// OrchestratorWork signals that orchestrator messages may have been queued, by this
// Store or (through NOTIFY) by another process.
func (s *Store) OrchestratorWork() <-chan struct{} { return s.sig.OrchestratorWork() }

// WorkerWork signals that activities may have been queued.
func (s *Store) WorkerWork() <-chan struct{} { return s.sig.WorkerWork() }

// WatchInstance signals changes of the instance's status or custom status (and its
// creation) until stop is called; stop may be called more than once. Changes made by
// other processes are signalled when an execution completes or fails and when the
// custom status changes.
func (s *Store) WatchInstance(instance string) (<-chan struct{}, func()) {
	return s.sig.WatchInstance(instance)
}

// WatchesAcrossProcesses reports true: completions, failures and custom status changes
// committed by other processes reach WatchInstance through NOTIFY.
func (s *Store) WatchesAcrossProcesses() bool { return true }

// maxNotifyPayload keeps an instance id within NOTIFY's payload limit (8000 bytes); a
// longer id is sent as an empty payload, which wakes every watcher.
const maxNotifyPayload = 7000

// changes collects what a transaction did: in-process signals to fire once it has
// committed, and whether to NOTIFY other processes (sent inside the transaction).
type changes struct {
	orch, work bool
	instances  []string

	// Whether the transaction has seen the queue's state before its first fetchable
	// insert; pg* say whether to NOTIFY.
	orchChecked, workChecked bool
	pgOrch, pgWork           bool
	pgInstances              []string

	// mergeKV: the commit ended the execution, its KV changes are merged.
	mergeKV bool
}

func (s *Store) fire(c *changes) {
	if c.orch {
		s.sig.Orchestrator()
	}
	if c.work {
		s.sig.Worker()
	}
	for _, id := range c.instances {
		s.sig.Instance(id)
	}
}

// sendNotify sends the transaction's NOTIFYs (delivered if and when it commits). Each
// payload starts with the Store's origin, so that its own listener ignores what the
// Store already signalled in process (fire): a commit wakes its own dispatchers once,
// not twice. An instance channel's payload is the origin, a colon and the instance id.
func (s *Store) sendNotify(ctx context.Context, tx ptx, c *changes) error {
	chans, payloads := s.notifications(c)
	if len(chans) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS t(c, p)`,
		pq.Array(chans), pq.Array(payloads))
	return err
}

// notifications lists the channels and payloads of c's NOTIFYs.
func (s *Store) notifications(c *changes) (chans, payloads []string) {
	if c.pgOrch {
		chans, payloads = append(chans, s.chOrch), append(payloads, s.origin)
	}
	if c.pgWork {
		chans, payloads = append(chans, s.chWork), append(payloads, s.origin)
	}
	seen := map[string]bool{}
	for _, id := range c.pgInstances {
		if len(id) > maxNotifyPayload {
			id = ""
		}
		if !seen[id] {
			seen[id] = true
			chans, payloads = append(chans, s.chInst), append(payloads, s.origin+":"+id)
		}
	}
	return chans, payloads
}

// releaseAndNotify deletes the instance lock lockToken names, merges instance's KV
// changes when its execution ended (c.mergeKV), and sends the transaction's NOTIFYs, in
// one statement. It also reads whether messages for instance arrived during the turn
// (visible, not of the batch): their senders saw the instance locked and woke nobody, so
// the commit signals this process's dispatchers once it is done (c.orch).
func (s *Store) releaseAndNotify(ctx context.Context, tx ptx, lockToken, instance string, c *changes) error {
	chans, payloads := s.notifications(c)
	ctes := []string{`rl AS (DELETE FROM {S}.instance_locks WHERE lock_token = $1)`}
	if c.mergeKV {
		ctes = append(ctes, mergeKVSQL)
	}
	var pending bool
	err := tx.QueryRowContext(ctx, s.sql(`WITH `+strings.Join(ctes, ",\n")+`
		SELECT EXISTS (SELECT 1 FROM {S}.orchestrator_queue q
				WHERE q.instance_id = $4 AND q.lock_token IS NULL AND q.visible_at <= {NOW}),
			(SELECT count(pg_notify(c, p)) FROM unnest($2::text[], $3::text[]) AS t(c, p))`),
		lockToken, pq.Array(chans), pq.Array(payloads), instance).Scan(&pending, new(int64))
	if pending {
		c.orch = true
	}
	return err
}

// splitPayload splits a NOTIFY payload into the sending Store's origin and the rest (an
// instance id). A payload without an origin (an empty one) has an empty origin.
func splitPayload(p string) (origin, rest string) {
	const n = 32 // hex length of an origin token
	if len(p) >= n && (len(p) == n || p[n] == ':') {
		if len(p) == n {
			return p, ""
		}
		return p[:n], p[n+1:]
	}
	return "", p
}

// startListener LISTENs on the store's channels through a pq.Listener, which keeps
// reconnecting by itself, and dispatches notifications to the in-process channels.
func (s *Store) startListener(ctx context.Context, url string) error {
	l := pq.NewListener(url, s.reconnectMin, s.reconnectMax, nil)
	done := make(chan error, 1)
	go func() {
		for _, ch := range []string{s.chOrch, s.chWork, s.chInst} {
			if err := l.Listen(ch); err != nil && !errors.Is(err, pq.ErrChannelAlreadyOpen) {
				done <- err
				return
			}
		}
		done <- nil
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = l.Close() // unblocks Listen
		<-done
		err = context.Cause(ctx)
	}
	if err != nil {
		_ = l.Close()
		go drainListener(l)
		return err
	}
	s.listener = l
	go s.dispatch(l)
	return nil
}

// drainListener reads a closed listener's channel until its goroutine ends.
func drainListener(l *pq.Listener) {
	for range l.Notify {
	}
}

func (s *Store) dispatch(l *pq.Listener) {
	for n := range l.Notify {
		if n == nil { // reconnected: anything may have been missed
			s.sig.All()
			continue
		}
		origin, id := splitPayload(n.Extra)
		if origin == s.origin {
			continue // fired in process when the transaction committed
		}
		switch n.Channel {
		case s.chOrch:
			s.sig.Orchestrator()
		case s.chWork:
			s.sig.Worker()
		case s.chInst:
			if id == "" {
				s.sig.All()
			} else {
				s.sig.Instance(id)
			}
		}
	}
}
