package duroxide_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/sqlitestore"
	"github.com/duroxide-go/duroxide/yield"
)

// stateCounter counts InstanceState reads and says, when crossProcess is set, that its
// notifications cover other processes.
type stateCounter struct {
	history.Store
	history.Notifier
	crossProcess bool
	reads        atomic.Int64
}

func (s *stateCounter) InstanceState(ctx context.Context, instance string) (history.InstanceState, error) {
	s.reads.Add(1)
	return s.Store.InstanceState(ctx, instance)
}

func (s *stateCounter) WatchesAcrossProcesses() bool { return s.crossProcess }

// A client waiting for completion on a store whose signals cover other processes does
// not poll every few milliseconds: it reads the status when signalled (and at most every
// 250 ms as a safety net). On other stores it polls, backing off from 5 ms.
func TestWaitPollsOnlyWhenSignalsDoNotCoverOtherProcesses(t *testing.T) {
	for _, crossProcess := range []bool{true, false} {
		s, err := sqlitestore.InMemory()
		if err != nil {
			t.Fatal(err)
		}
		counted := &stateCounter{Store: s, Notifier: s, crossProcess: crossProcess}
		e := newEnvOn(t, counted, duroxide.RuntimeOptions{})
		e.orchestration("WaitGo", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.WaitForEvent("go"))
		})
		e.start()
		if err := e.client.StartOrchestration(e.ctx, "w", "WaitGo", nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the first turn", func() bool { return e.rt.MetricsSnapshot().OrchDispatcherItemsFetched >= 1 })
		counted.reads.Store(0)
		done := make(chan duroxide.OrchestrationResult, 1)
		go func() {
			res, _ := e.client.WaitForOrchestration(e.ctx, "w", 10*time.Second)
			done <- res
		}()
		// The window in which a polling waiter reads several times: the assertion is on
		// how many reads happen while the instance waits, not on any timing.
		time.Sleep(150 * time.Millisecond)
		if err := e.client.RaiseEvent(e.ctx, "w", "go", 1); err != nil {
			t.Fatal(err)
		}
		completed(t, <-done, `1`)
		n := counted.reads.Load()
		switch {
		case crossProcess && n > 4:
			t.Errorf("covered by signals: %d status reads while waiting, want at most 4", n)
		case !crossProcess && n < 3:
			// 5, 10, 20, 40, 80 ms: five reads and the first one in 150 ms on an idle
			// machine; three is the least a loaded one gives.
			t.Errorf("not covered by signals: %d status reads in 150 ms, want the back-off poll", n)
		}
		if err := e.rt.Shutdown(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
}
