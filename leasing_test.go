package duroxide_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

// fetchCounter counts the activities a store's FetchActivity handed out, keeping the
// store's notifications.
type fetchCounter struct {
	history.Store
	fetched atomic.Int64
}

func (s *fetchCounter) FetchActivity(ctx context.Context, req history.FetchActivityRequest) (*history.ActivityLease, error) {
	l, err := s.Store.FetchActivity(ctx, req)
	if l != nil {
		s.fetched.Add(1)
	}
	return l, err
}

type notifyingFetchCounter struct {
	*fetchCounter
	history.Notifier
}

func countFetches(s history.Store) (history.Store, *fetchCounter) {
	c := &fetchCounter{Store: s}
	if n, ok := s.(history.Notifier); ok {
		return notifyingFetchCounter{c, n}, c
	}
	return c, c
}

// A turn's activities go to the runtime's own workers with the commit, up to the worker
// count; the rest are fetched. Every activity runs once and its result is recorded.
func TestCommitDispatchesActivitiesToLocalWorkers(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		probe := newEnv(duroxide.RuntimeOptions{})
		store, counter := countFetches(probe.store)
		e := newEnvOn(t, store, duroxide.RuntimeOptions{WorkerConcurrency: 4, InstanceCacheSize: -1})
		defer func() { _ = e.rt.Shutdown(5 * time.Second) }()
		var runs atomic.Int64
		e.activity("Square", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			runs.Add(1)
			var n int
			if err := in.Decode(&n); err != nil {
				return nil, err
			}
			return n * n, nil
		})
		e.orchestration("Squares", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			var n int
			if err := in.Decode(&n); err != nil {
				return nil, err
			}
			tasks := make([]yield.Task, n)
			for i := range tasks {
				tasks[i] = ctx.ScheduleActivity("Square", i+1)
			}
			out, err := ctx.Yield(ctx.All(tasks...))
			if err != nil {
				return nil, err
			}
			return out, nil
		})
		e.start()
		// The workers are idle between these runs: the activities are handed over (a
		// worker still on its way back to idle when a commit comes is the exception).
		for i := range 10 {
			completed(t, e.run(fmt.Sprintf("one-%d", i), "Squares", 1), `[{"ok":1}]`)
		}
		if n := counter.fetched.Load(); n >= 10 {
			t.Errorf("all %d activities scheduled while the workers were idle were fetched, want them handed over", n)
		}
		before := counter.fetched.Load()
		completed(t, e.run("six", "Squares", 6), `[{"ok":1},{"ok":4},{"ok":9},{"ok":16},{"ok":25},{"ok":36}]`)
		if n := counter.fetched.Load() - before; n < 2 {
			t.Errorf("%d of 6 activities fetched, want at least 2 (no more leases than the 4 workers)", n)
		}
		for i := range 5 {
			completed(t, e.run(fmt.Sprintf("again-%d", i), "Squares", 3), `[{"ok":1},{"ok":4},{"ok":9}]`)
		}
		if n := runs.Load(); n != 31 {
			t.Errorf("activities ran %d times, want 31 (each once)", n)
		}
		if m := e.rt.MetricsSnapshot(); m.ActivitySuccess != 31 || m.WorkerDispatcherItemsFetched != 31 {
			t.Errorf("ActivitySuccess %d, WorkerDispatcherItemsFetched %d; want 31 and 31", m.ActivitySuccess, m.WorkerDispatcherItemsFetched)
		}
	})
}

// A runtime stopping with activities running and queued: the running ones are
// cancelled and released, and another runtime runs all of them at once (not after
// their locks expire). (Leases waiting for a worker at Shutdown: leasing_internal_test.go.)
func TestLeasesReleasedAtShutdown(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		first := newEnv(duroxide.RuntimeOptions{WorkerConcurrency: 2, WorkerLockTimeout: time.Minute})
		var firstRuns atomic.Int64
		first.activity("Hold", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			firstRuns.Add(1)
			<-ctx.Context().Done() // until Shutdown cancels it: it runs again elsewhere
			return nil, ctx.Context().Err()
		})
		pair := func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.All(ctx.ScheduleActivity("Hold", 1), ctx.ScheduleActivity("Hold", 2)))
		}
		first.orchestration("Pair", pair)
		first.start()
		if err := first.client.StartOrchestration(first.ctx, "a", "Pair", nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "both workers busy", func() bool { return firstRuns.Load() == 2 })
		// b's activities find no idle worker: they are queued for fetching.
		if err := first.client.StartOrchestration(first.ctx, "b", "Pair", nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "b's turn", func() bool {
			h, err := first.client.ReadExecutionHistory(first.ctx, "b", 1)
			return err == nil && len(h) >= 3 // started and two activities scheduled
		})
		_ = first.rt.Shutdown(200 * time.Millisecond) // cancels a's two activities
		if n := firstRuns.Load(); n != 2 {
			t.Errorf("the stopping runtime ran %d activities, want 2", n)
		}

		second := newEnv(duroxide.RuntimeOptions{WorkerConcurrency: 4})
		second.activity("Hold", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) { return in, nil })
		second.orchestration("Pair", pair)
		second.start()
		ctx, cancel := context.WithTimeout(second.ctx, 20*time.Second) // well before the 1 min locks expire
		defer cancel()
		for _, id := range []string{"a", "b"} {
			res, err := second.client.WaitForOrchestration(ctx, id, 0)
			if err != nil {
				t.Fatalf("%s did not finish on the second runtime: %v", id, err)
			}
			completed(t, res, `[{"ok":1},{"ok":2}]`)
		}
	})
}

// With polling out of the picture (an hour), every wake-up comes from signals: messages
// that arrive for an instance while its turn runs, completions racing each other,
// children finishing and events must all be fetched without waiting for a poll.
func TestProgressWithoutPolling(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{DispatcherPollInterval: time.Hour, OrchestrationConcurrency: 3, WorkerConcurrency: 3})
		e.activity("Echo", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) { return in, nil })
		e.orchestration("Leaf", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			tasks := make([]yield.Task, 8)
			for i := range tasks {
				tasks[i] = ctx.ScheduleActivity("Echo", i)
			}
			if _, err := ctx.Yield(ctx.All(tasks...)); err != nil {
				return nil, err
			}
			ev, err := ctx.Yield(ctx.WaitForEvent("go"))
			if err != nil {
				return nil, err
			}
			return ev, nil
		})
		e.orchestration("Root", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			var n int
			if err := in.Decode(&n); err != nil {
				return nil, err
			}
			tasks := make([]yield.Task, n)
			for i := range tasks {
				tasks[i] = ctx.ScheduleSubOrchestrationWithID("Leaf", fmt.Sprintf("%s-leaf-%d", ctx.InstanceID(), i), nil)
			}
			out, err := ctx.Yield(ctx.All(tasks...))
			if err != nil {
				return nil, err
			}
			return out, nil
		})
		e.start()
		ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
		defer cancel()
		const roots, leaves = 3, 4
		for r := range roots {
			if err := e.client.StartOrchestration(ctx, fmt.Sprintf("root-%d", r), "Root", leaves); err != nil {
				t.Fatal(err)
			}
		}
		for r := range roots {
			for l := range leaves {
				// Raised as soon as the leaf exists: events are kept until it waits for them.
				leaf := fmt.Sprintf("root-%d-leaf-%d", r, l)
				waitFor(t, leaf+" created", func() bool {
					st, err := e.client.GetStatus(ctx, leaf)
					return err == nil && st.Status != duroxide.StatusNotFound
				})
				if err := e.client.RaiseEvent(ctx, leaf, "go", l); err != nil {
					t.Fatal(err)
				}
			}
		}
		for r := range roots {
			res, err := e.client.WaitForOrchestration(ctx, fmt.Sprintf("root-%d", r), 0)
			if err != nil {
				t.Fatalf("root-%d did not finish without polling: %v", r, err)
			}
			completed(t, res, `[{"ok":0},{"ok":1},{"ok":2},{"ok":3}]`)
		}
	})
}
