package duroxide_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

//go:noinline
func stuckBusyLoop(stop *atomic.Bool) int {
	n := 0
	for !stop.Load() {
		n++
	}
	return n
}

// TestStuckCodeFailsInstance: orchestration code that neither yields nor returns within
// StuckCodeTimeout fails its instance (infrastructure, with the stack), frees its
// dispatcher slot for other instances, is counted, is not retried, and cascades to the
// parent.
func TestStuckCodeFailsInstance(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(opts duroxide.RuntimeOptions) *env) {
		var stop atomic.Bool
		defer stop.Store(true)
		var calls atomic.Int32
		e := newEnv(duroxide.RuntimeOptions{OrchestrationConcurrency: 1, StuckCodeTimeout: 300 * time.Millisecond, Logger: reliabilityLogger(t)})
		e.orchestration("Stuck", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			calls.Add(1)
			if _, err := ctx.Yield(ctx.ScheduleTimer(time.Millisecond)); err != nil {
				return nil, err
			}
			return stuckBusyLoop(&stop), nil
		})
		e.orchestration("Parent", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.ScheduleSubOrchestrationWithID("Stuck", "stuck-child", nil))
		})
		e.orchestration("Fine", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return "fine", nil
		})
		e.start()
		res := e.run("stuck-1", "Stuck", nil)
		if res.Status != duroxide.StatusFailed || res.ErrorKind != duroxide.ErrorKindInfrastructure ||
			!strings.Contains(res.Error, "neither yielded nor returned within 300ms") {
			t.Fatalf("stuck instance: %s %s %q", res.Status, res.ErrorKind, res.Error)
		}
		// The only dispatcher slot is free again.
		completed(t, e.run("fine-1", "Fine", nil), `"fine"`)
		events, err := e.client.ReadExecutionHistory(e.ctx, "stuck-1", 1)
		if err != nil {
			t.Fatal(err)
		}
		last := events[len(events)-1]
		if last.Kind != history.OrchestrationFailed || last.Error == nil || last.Error.Kind != history.KindStuckCode ||
			!strings.Contains(last.Error.Stack, "stuckBusyLoop") {
			t.Fatalf("terminal event %s with %+v, want a stuck_code failure whose stack shows stuckBusyLoop", last, last.Error)
		}
		// The failure cascades to a parent.
		res = e.run("parent-1", "Parent", nil)
		if res.Status != duroxide.StatusFailed || res.ErrorKind != duroxide.ErrorKindInfrastructure ||
			!strings.Contains(res.Error, "neither yielded") {
			t.Fatalf("parent of a stuck child: %s %s %q", res.Status, res.ErrorKind, res.Error)
		}
		// Replaying the stuck history ends at the replay's own bound instead of hanging.
		rep, err := e.client.ReplayInstance(e.ctx, "stuck-1", 1, func(ctx *yield.Ctx, in yield.Value) (any, error) {
			if _, err := ctx.Yield(ctx.ScheduleTimer(time.Millisecond)); err != nil {
				return nil, err
			}
			return stuckBusyLoop(&stop), nil
		}, duroxide.ReplayWithStuckTimeout(200*time.Millisecond))
		if err != nil || rep.Outcome != yield.OutcomeFailed || !strings.Contains(rep.Error, "neither yielded nor returned within 200ms") {
			t.Errorf("replay of the stuck history: outcome %v error %q (%v)", rep.Outcome, rep.Error, err)
		}
		if got := e.rt.MetricsSnapshot().StuckCoroutines; got != 2 {
			t.Errorf("StuckCoroutines = %d, want 2", got)
		}
		// Not retried: each instance ran its code once per turn (two turns: start, timer).
		if got := calls.Load(); got > 4 {
			t.Errorf("stuck code ran %d times for 2 instances, want no retries", got)
		}
		stop.Store(true) // lets the abandoned goroutines end before the leak check
	})
}

// TestStuckCodeTimeoutDefault: the default is generous, and a negative value turns the
// check off.
func TestStuckCodeTimeoutDefault(t *testing.T) {
	if duroxide.DefaultStuckCodeTimeout != 60*time.Second {
		t.Fatalf("DefaultStuckCodeTimeout = %v", duroxide.DefaultStuckCodeTimeout)
	}
	eachMode(t, func(t *testing.T, newEnv func(opts duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{StuckCodeTimeout: -1})
		e.orchestration("Slow", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			time.Sleep(50 * time.Millisecond) // blocking, but the check is off
			return "slow", nil
		})
		e.start()
		completed(t, e.run("slow-1", "Slow", nil), `"slow"`)
	})
}
