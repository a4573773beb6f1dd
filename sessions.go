package duroxide

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/duroxide-go/duroxide/history"
)

// Sessions: activities scheduled on a session (ScheduleActivityOnSession) all run on the
// worker node that owns the session. The store records the owner when a worker of the
// node first fetches one of the session's activities; this file keeps the runtime's
// sessions owned while they are in use, bounds how many are in flight at once, and
// cleans up sessions nobody holds any more.

// sessionCleanupInterval is how often a runtime removes expired, unused sessions.
const sessionCleanupInterval = 5 * time.Minute

// sessionTracker counts the activities of each session running in this runtime.
type sessionTracker struct {
	owner string // the worker node id that owns this runtime's sessions
	max   int

	mu       sync.Mutex
	inFlight map[string]int
}

func newSessionTracker(nodeID string, max int) *sessionTracker {
	if nodeID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		nodeID = "node-" + hex.EncodeToString(b[:])
	}
	return &sessionTracker{owner: nodeID, max: max, inFlight: map[string]int{}}
}

// full reports whether the runtime runs activities of as many sessions as it may.
func (s *sessionTracker) full() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.inFlight) >= s.max
}

// enter counts an activity of session as running; false (counting nothing) when that
// would exceed the limit of sessions in flight.
func (s *sessionTracker) enter(session string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inFlight[session] == 0 && len(s.inFlight) >= s.max {
		return false
	}
	s.inFlight[session]++
	return true
}

// leave undoes enter.
func (s *sessionTracker) leave(session string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inFlight[session]--; s.inFlight[session] <= 0 {
		delete(s.inFlight, session)
	}
}

// sessionFetch is the session part of a worker's fetch: nil (no session activities) while
// the runtime is at its limit of sessions in flight.
func (rt *Runtime) sessionFetch() *history.SessionFetch {
	if rt.sessions.full() {
		return nil
	}
	return &history.SessionFetch{Owner: rt.sessions.owner, LockTimeout: rt.opts.WorkerLockTimeout}
}

// sessionManager renews the locks of the runtime's sessions while they are in use (idle
// sessions are left to expire, which frees them for other nodes) and periodically
// removes expired sessions that no activity refers to.
func (rt *Runtime) sessionManager(ctx context.Context) {
	defer rt.workDone.Done()
	lock := rt.opts.WorkerLockTimeout
	renew := time.NewTicker(max(lock/2, 10*time.Millisecond))
	defer renew.Stop()
	cleanup := time.NewTicker(min(sessionCleanupInterval, max(rt.opts.SessionIdleTimeout, time.Second)))
	defer cleanup.Stop()
	owners := []string{rt.sessions.owner}
	for {
		select {
		case <-ctx.Done():
			return
		case <-renew.C:
			if _, err := rt.store.RenewSessionLocks(ctx, owners, lock, rt.opts.SessionIdleTimeout); err != nil && ctx.Err() == nil {
				rt.metrics.providerErrors.Add(1)
				rt.log.runtime.Warn().Err(err).Str("worker_node_id", rt.sessions.owner).Msg("renewing session locks failed")
			}
		case <-cleanup.C:
			n, err := rt.store.CleanupSessions(ctx)
			if err != nil && ctx.Err() == nil {
				rt.metrics.providerErrors.Add(1)
				rt.log.runtime.Warn().Err(err).Msg("cleaning up sessions failed")
			} else if n > 0 {
				rt.log.runtime.Debug().Int("sessions", n).Msg("removed expired sessions")
			}
		}
	}
}
