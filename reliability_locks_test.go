package duroxide_test

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/internal/faultstore"
	"github.com/duroxide-go/duroxide/yield"
)

// Lock expiry: work that outlives its lock is done again elsewhere, and whichever copy
// finishes second is refused by the store, so history records it once.

// countKind counts the events of kind in one execution's history.
func countKind(events []duroxide.Event, kind history.EventKind) int {
	n := 0
	for _, e := range events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// eachStore runs f on every store kind with a goroutine check.
func eachStore(t *testing.T, f func(t *testing.T, store history.Store)) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			base := runtime.NumGoroutine()
			store := openStore(t, kind)
			f(t, store)
			if err := store.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			waitGoroutines(t, base)
		})
	}
}

// TestLockActivityOutlivesItsLock: an activity whose lock renewals all fail runs past
// its lock; another worker takes it over. Its completion is recorded once, from the copy
// that still held the lock; the late copy's completion is refused.
func TestLockActivityOutlivesItsLock(t *testing.T) {
	eachStore(t, func(t *testing.T, inner history.Store) {
		inj := faultstore.New(inner, 1, faultstore.Rule{Op: faultstore.OpRenewActivityLock})
		e := newEnvOn(t, inj.Store(), duroxide.RuntimeOptions{WorkerConcurrency: 2, WorkerLockTimeout: 300 * time.Millisecond, Logger: reliabilityLogger(t)})
		defer func() { _ = e.rt.Shutdown(5 * time.Second) }()
		var runs atomic.Int32
		firstDone := make(chan struct{})
		e.activity("Slow", func(a *duroxide.ActivityContext, in yield.Value) (any, error) {
			n := runs.Add(1)
			if n == 1 {
				defer close(firstDone)
				time.Sleep(1500 * time.Millisecond) // far past the 300 ms lock, never renewed
			}
			return fmt.Sprintf("run %d", n), nil
		})
		e.orchestration("O", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.ScheduleActivity("Slow", nil))
		})
		e.start()
		res := e.run("slow-1", "O", nil)
		<-firstDone
		// Normally the second copy wins; on a machine so loaded that no worker took the
		// expired lock before the first copy returned, the first copy's completion stands.
		if got := string(res.Output.Raw()); got != `"run 2"` && got != `"run 1"` {
			completed(t, res, `"run 2"`)
		}
		// Give the late copy's completion time to be refused, then look at history.
		waitFor(t, "the late completion to be handled", func() bool {
			return runs.Load() == 1 || e.rt.MetricsSnapshot().ActivitiesCancelled >= 1
		})
		events, err := e.client.ReadExecutionHistory(e.ctx, "slow-1", 1)
		if err != nil {
			t.Fatal(err)
		}
		if n := countKind(events, history.ActivityCompleted); n != 1 {
			t.Fatalf("%d ActivityCompleted events, want 1", n)
		}
		if got := runs.Load(); got > 2 {
			t.Fatalf("activity ran %d times, want at most 2", got)
		}
		if d, _ := e.client.GetQueueDepths(e.ctx); d.WorkerQueue != 0 {
			t.Fatalf("worker queue holds %d items after the instance finished", d.WorkerQueue)
		}
		checkInstanceTrees(e.ctx, t, e.client, []string{"slow-1"}, map[string]yield.Orchestration{"O": func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.ScheduleActivity("Slow", nil))
		}})
	})
}

// TestLockRuntimePausedPastOrchestrationLock: runtime A fetches an instance, runs the turn
// and then stalls before its commit (a delay injected on the commit, longer than the
// lock). Runtime B takes the instance over and records the turn; A's late commit is
// refused (lock lost), so nothing is recorded twice.
func TestLockRuntimePausedPastOrchestrationLock(t *testing.T) {
	eachStore(t, func(t *testing.T, inner history.Store) {
		inj := faultstore.New(inner, 1, faultstore.Rule{Op: faultstore.OpCommitOrchestration, Nth: 1, Action: faultstore.Delay, Delay: 2 * time.Second})
		opts := duroxide.RuntimeOptions{OrchestratorLockTimeout: 300 * time.Millisecond, OrchestrationConcurrency: 1, Logger: reliabilityLogger(t)}
		a := newEnvOn(t, inj.Store(), opts)
		b := newEnvOn(t, inner, opts)
		defer func() {
			_ = a.rt.Shutdown(5 * time.Second)
			_ = b.rt.Shutdown(5 * time.Second)
		}()
		var runs atomic.Int32
		orch := func(ctx *yield.Ctx, in yield.Value) (any, error) {
			r, err := yield.Await[int](ctx, ctx.ScheduleActivity("Once", nil))
			if err != nil {
				return nil, err
			}
			return r + 1, nil
		}
		for _, e := range []*env{a, b} {
			e.activity("Once", func(*duroxide.ActivityContext, yield.Value) (any, error) {
				return runs.Add(1) * 10, nil
			})
			e.orchestration("O", orch)
		}
		a.start()
		if err := b.client.StartOrchestration(b.ctx, "paused-1", "O", nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "runtime A to stall in its commit", func() bool { return inj.Calls(faultstore.OpCommitOrchestration) >= 1 })
		b.start()
		res := b.wait("paused-1")
		completed(t, res, `11`)
		waitFor(t, "A's late commit to be refused", func() bool {
			return a.rt.MetricsSnapshot().ProviderErrors >= 1
		})
		events, err := b.client.ReadExecutionHistory(b.ctx, "paused-1", 1)
		if err != nil {
			t.Fatal(err)
		}
		for kind, want := range map[history.EventKind]int{
			history.OrchestrationStarted: 1, history.ActivityScheduled: 1, history.ActivityCompleted: 1, history.OrchestrationCompleted: 1,
		} {
			if n := countKind(events, kind); n != want {
				t.Errorf("%d %s events, want %d", n, kind, want)
			}
		}
		if got := runs.Load(); got != 1 {
			t.Errorf("activity ran %d times, want 1 (A's turn was never recorded)", got)
		}
		checkInstanceTrees(b.ctx, t, b.client, []string{"paused-1"}, map[string]yield.Orchestration{"O": orch})
	})
}

// TestLockRuntimesRaceForInstances: three runtimes with short locks share one store;
// many instances, and one instance flooded with events, are processed by whichever
// runtime gets there first. Every instance completes correctly, each event is consumed
// once, and every history replays cleanly.
func TestLockRuntimesRaceForInstances(t *testing.T) {
	const events = 40
	eachStore(t, func(t *testing.T, store history.Store) {
		var runs activityRuns
		var envs []*env
		for range 3 {
			e := newEnvOn(t, store, duroxide.RuntimeOptions{
				OrchestrationConcurrency: 3, WorkerConcurrency: 3,
				OrchestratorLockTimeout: 500 * time.Millisecond, WorkerLockTimeout: time.Second,
				Logger: reliabilityLogger(t),
			})
			registerMixed(t, e.rt, &runs)
			if err := e.rt.RegisterOrchestration("Sum", sumEvents); err != nil {
				t.Fatal(err)
			}
			envs = append(envs, e)
		}
		defer func() {
			for _, e := range envs {
				_ = e.rt.Shutdown(5 * time.Second)
			}
		}()
		for _, e := range envs {
			e.start()
		}
		c := envs[0].client
		ctx := envs[0].ctx
		if err := c.StartOrchestration(ctx, "sum", "Sum", events); err != nil {
			t.Fatal(err)
		}
		ids := make([]string, 10)
		for i := range ids {
			ids[i] = fmt.Sprintf("race-%d", i)
			startMixed(ctx, t, c, ids[i], i)
		}
		for i := 1; i <= events; i++ {
			if err := c.RaiseEvent(ctx, "sum", "n", i); err != nil {
				t.Fatal(err)
			}
		}
		completed(t, envs[0].wait("sum"), fmt.Sprint(events*(events+1)/2))
		for i, id := range ids {
			completed(t, envs[0].wait(id), mixedWant(i))
		}
		orchs := map[string]yield.Orchestration{"Sum": sumEvents}
		for k, v := range mixedOrchestrations {
			orchs[k] = v
		}
		checkInstanceTrees(ctx, t, c, append(ids, "sum"), orchs)
		turns := make([]int64, len(envs))
		for i, e := range envs {
			turns[i] = e.rt.MetricsSnapshot().Turns
		}
		t.Logf("turns per runtime: %v", turns)
	})
}

// sumEvents waits for n events named "n" and returns their sum.
func sumEvents(ctx *yield.Ctx, in yield.Value) (any, error) {
	var n int
	if err := in.Decode(&n); err != nil {
		return nil, err
	}
	sum := 0
	for range n {
		v, err := yield.Await[int](ctx, ctx.WaitForEvent("n"))
		if err != nil {
			return nil, err
		}
		sum += v
	}
	return sum, nil
}
