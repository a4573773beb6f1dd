package duroxide_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/sqlitestore"
	"github.com/duroxide-go/duroxide/yield"
)

// sessionLog records which runtime ran each activity, by session.
type sessionLog struct {
	mu  sync.Mutex
	ran map[string][]string // session -> runtime names, in completion order
}

func newSessionLog() *sessionLog { return &sessionLog{ran: map[string][]string{}} }

// activity returns an activity that records its runtime under its session and echoes
// its input.
func (l *sessionLog) activity(runtime string) duroxide.Activity {
	return func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
		session, _ := ctx.SessionID()
		l.mu.Lock()
		l.ran[session] = append(l.ran[session], runtime)
		l.mu.Unlock()
		return in, nil
	}
}

func (l *sessionLog) runtimes(session string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ran[session]...)
}

// onOneRuntime fails unless every activity of session ran, n times in all, on one runtime,
// and returns that runtime.
func (l *sessionLog) onOneRuntime(t *testing.T, session string, n int) string {
	t.Helper()
	got := l.runtimes(session)
	if len(got) != n {
		t.Fatalf("session %s ran %d activities (%v), want %d", session, len(got), got, n)
	}
	for _, r := range got {
		if r != got[0] {
			t.Fatalf("session %s ran on several runtimes: %v", session, got)
		}
	}
	return got[0]
}

func TestSessionAffinityAcrossRuntimes(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		log := newSessionLog()
		var envs []*env
		for _, node := range []string{"node-a", "node-b"} {
			e := newEnv(duroxide.RuntimeOptions{WorkerNodeID: node, WorkerConcurrency: 2})
			e.activity("Where", log.activity(node))
			e.orchestration("Pinned", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
				for i := range 6 {
					if _, err := ctx.Yield(ctx.ScheduleActivityOnSession("Where", i, "s1")); err != nil {
						return nil, err
					}
				}
				var fan []yield.Task
				for i := range 4 {
					fan = append(fan, ctx.ScheduleActivityOnSession("Where", i, "s2"), ctx.ScheduleActivity("Where", i))
				}
				return ctx.Yield(ctx.All(fan...))
			})
			envs = append(envs, e.start())
		}
		if res := envs[0].run("pinned", "Pinned", nil); res.Status != duroxide.StatusCompleted {
			t.Fatalf("status %s: %s", res.Status, res.Error)
		}
		log.onOneRuntime(t, "s1", 6)
		log.onOneRuntime(t, "s2", 4)
		if got := log.runtimes(""); len(got) != 4 {
			t.Fatalf("activities outside sessions ran %d times, want 4", len(got))
		}
	})
}

func TestSessionPinnedAcrossRetries(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		var (
			mu       sync.Mutex
			attempts []string // "<runtime>/<session>"
		)
		var envs []*env
		for _, node := range []string{"node-a", "node-b"} {
			e := newEnv(duroxide.RuntimeOptions{WorkerNodeID: node})
			e.activity("Flaky", func(ctx *duroxide.ActivityContext, _ yield.Value) (any, error) {
				session, _ := ctx.SessionID()
				mu.Lock()
				defer mu.Unlock()
				attempts = append(attempts, node+"/"+session)
				if len(attempts) < 3 {
					return nil, fmt.Errorf("attempt %d failed", len(attempts))
				}
				return "ok", nil
			})
			e.orchestration("Retry", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
				policy := yield.RetryPolicy{MaxAttempts: 5, Backoff: yield.BackoffFixed, BaseDelay: 10 * time.Millisecond}
				return ctx.Yield(ctx.ScheduleActivityWithRetryOnSession("Flaky", nil, policy, "retry-s"))
			})
			envs = append(envs, e.start())
		}
		completed(t, envs[1].run("retry", "Retry", nil), `"ok"`)
		mu.Lock()
		defer mu.Unlock()
		if len(attempts) != 3 {
			t.Fatalf("attempts %v, want 3", attempts)
		}
		for _, a := range attempts {
			if a != attempts[0] || a[len(a)-len("/retry-s"):] != "/retry-s" {
				t.Fatalf("attempts ran on %v, want one runtime and session retry-s", attempts)
			}
		}
	})
}

// sessionTwoSteps runs an activity on session s1, waits for the event "next", and runs
// another on s1.
func sessionTwoSteps(ctx *yield.Ctx, _ yield.Value) (any, error) {
	if _, err := ctx.Yield(ctx.ScheduleActivityOnSession("Where", 1, "s1")); err != nil {
		return nil, err
	}
	if _, err := ctx.Yield(ctx.WaitForEvent("next")); err != nil {
		return nil, err
	}
	return ctx.Yield(ctx.ScheduleActivityOnSession("Where", 2, "s1"))
}

func TestSessionOwnershipSurvivesRestartWithNodeID(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		log := newSessionLog()
		first := newEnv(duroxide.RuntimeOptions{WorkerNodeID: "node-a"})
		first.activity("Where", log.activity("a"))
		first.orchestration("TwoSteps", sessionTwoSteps)
		first.start()
		if err := first.client.StartOrchestration(first.ctx, "two", "TwoSteps", nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the first session activity", func() bool { return len(log.runtimes("s1")) == 1 })
		if err := first.rt.Shutdown(5 * time.Second); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		// Another node comes up first; then node-a restarts. The session is still held
		// by node-a, so only the restarted runtime may run its next activity.
		other := newEnv(duroxide.RuntimeOptions{WorkerNodeID: "node-b"})
		other.activity("Where", log.activity("b"))
		other.orchestration("TwoSteps", sessionTwoSteps)
		other.start()
		restarted := newEnv(duroxide.RuntimeOptions{WorkerNodeID: "node-a"})
		restarted.activity("Where", log.activity("a"))
		restarted.orchestration("TwoSteps", sessionTwoSteps)
		restarted.start()
		if err := other.client.RaiseEvent(other.ctx, "two", "next", nil); err != nil {
			t.Fatal(err)
		}
		completed(t, other.wait("two"), "2")
		if got := log.onOneRuntime(t, "s1", 2); got != "a" {
			t.Fatalf("session ran on %s, want a", got)
		}
	})
}

func TestSessionMovesWhenOwnerDies(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		log := newSessionLog()
		// A short lock: the dead node's session expires quickly.
		opts := func(node string) duroxide.RuntimeOptions {
			return duroxide.RuntimeOptions{WorkerNodeID: node, WorkerLockTimeout: 300 * time.Millisecond}
		}
		owner := newEnv(opts("node-a"))
		owner.activity("Where", log.activity("a"))
		owner.orchestration("TwoSteps", sessionTwoSteps)
		owner.start()
		if err := owner.client.StartOrchestration(owner.ctx, "two", "TwoSteps", nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the first session activity", func() bool { return len(log.runtimes("s1")) == 1 })
		if err := owner.rt.Shutdown(5 * time.Second); err != nil { // node-a is gone for good
			t.Fatalf("Shutdown: %v", err)
		}
		heir := newEnv(opts("node-b"))
		heir.activity("Where", log.activity("b"))
		heir.orchestration("TwoSteps", sessionTwoSteps)
		heir.start()
		if err := heir.client.RaiseEvent(heir.ctx, "two", "next", nil); err != nil {
			t.Fatal(err)
		}
		completed(t, heir.wait("two"), "2")
		if got := log.runtimes("s1"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
			t.Fatalf("session s1 ran on %v, want [a b]", got)
		}
	})
}

func TestSessionLimitPerRuntime(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		var (
			mu          sync.Mutex
			inFlight    = map[string]int{}
			maxSessions int
		)
		e := newEnv(duroxide.RuntimeOptions{MaxSessionsPerRuntime: 1, WorkerConcurrency: 4})
		e.activity("Hold", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			session, _ := ctx.SessionID()
			mu.Lock()
			inFlight[session]++
			maxSessions = max(maxSessions, len(inFlight))
			mu.Unlock()
			time.Sleep(20 * time.Millisecond) // overlap with the others, if they may run
			mu.Lock()
			if inFlight[session]--; inFlight[session] == 0 {
				delete(inFlight, session)
			}
			mu.Unlock()
			return in, nil
		})
		e.orchestration("TwoSessions", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			return ctx.Yield(ctx.All(
				ctx.ScheduleActivityOnSession("Hold", 1, "s1"), ctx.ScheduleActivityOnSession("Hold", 2, "s2"),
				ctx.ScheduleActivityOnSession("Hold", 3, "s1"), ctx.ScheduleActivityOnSession("Hold", 4, "s2")))
		})
		e.start()
		completed(t, e.run("limit", "TwoSessions", nil), `[{"ok":1},{"ok":2},{"ok":3},{"ok":4}]`)
		mu.Lock()
		defer mu.Unlock()
		if maxSessions != 1 {
			t.Fatalf("%d sessions ran at once, want at most 1", maxSessions)
		}
	})
}

func TestSessionOptionsValidated(t *testing.T) {
	s, err := sqlitestore.InMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, opts := range []duroxide.RuntimeOptions{
		{MaxSessionsPerRuntime: -1},
		{WorkerNodeID: string(make([]byte, duroxide.MaxNameBytes+1))},
	} {
		if _, err := duroxide.NewRuntime(s, opts); !errors.Is(err, duroxide.ErrInvalidInput) {
			t.Errorf("NewRuntime(%+v): %v, want ErrInvalidInput", opts.MaxSessionsPerRuntime, err)
		}
	}
}
