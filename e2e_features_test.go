package duroxide_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/sqlitestore"
	"github.com/duroxide-go/duroxide/yield"
)

// End-to-end tests of composition, versioning, the step budget, cancellation across
// runtimes, at-least-once activities, two processes on one database file, bad outputs,
// early messages, status following and shutdown. Helpers here are prefixed ft.

// ftHistory reads one execution's history (0: the current one).
func ftHistory(t *testing.T, e *env, id string, execution uint64) []history.Event {
	t.Helper()
	h, err := e.store.ReadHistory(e.ctx, id, execution)
	if err != nil {
		t.Fatalf("ReadHistory(%q, %d): %v", id, execution, err)
	}
	return h
}

// ftCount counts the events of kind; src, when non-zero, must be their source event id.
func ftCount(h []history.Event, kind history.EventKind, src uint64) int {
	n := 0
	for _, ev := range h {
		if ev.Kind == kind && (src == 0 || ev.SourceEventID == src) {
			n++
		}
	}
	return n
}

// ftScheduled finds the ActivityScheduled event of the activity name (the first one).
func ftScheduled(t *testing.T, h []history.Event, name string) history.Event {
	t.Helper()
	for _, ev := range h {
		if ev.Kind == history.ActivityScheduled && ev.Name == name {
			return ev
		}
	}
	t.Fatalf("no ActivityScheduled(%q) in history %s", name, ftKinds(h))
	return history.Event{}
}

func ftKinds(h []history.Event) string {
	var ks []string
	for _, ev := range h {
		ks = append(ks, string(ev.Kind))
	}
	return strings.Join(ks, " ")
}

// ftRecv waits for a value on ch, failing the test after d.
func ftRecv[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// ftUntilCancelled is an activity that signals started, then polls IsCancelled (and its
// context) until it is cancelled, reports the moment it noticed, and returns a result
// that must never be recorded. It gives up after 20 s so that a failing test cannot
// leak its goroutine.
func ftUntilCancelled(started chan<- struct{}, noticed chan<- time.Time) duroxide.Activity {
	return func(ctx *duroxide.ActivityContext, _ yield.Value) (any, error) {
		select {
		case started <- struct{}{}:
		default:
		}
		giveUp := time.After(20 * time.Second)
		for !ctx.IsCancelled() {
			select {
			case <-ctx.Context().Done():
			case <-time.After(5 * time.Millisecond):
			case <-giveUp:
				return "gave up waiting for cancellation", nil
			}
		}
		select {
		case noticed <- time.Now():
		default:
		}
		return "late result", nil
	}
}

// 1. Nested composition with blocks.
func TestE2ENestedCompositionWithBlocks(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{WorkerConcurrency: 3})
		e.activity("Echo", echo)
		started := make(chan struct{}, 1)
		noticed := make(chan time.Time, 1)
		e.activity("Slow", ftUntilCancelled(started, noticed))
		// b, timer, c as a block: "b+c".
		steps := func(b *yield.Ctx) (any, error) {
			x, err := b.Yield(b.ScheduleActivity("Echo", "b"))
			if err != nil {
				return nil, err
			}
			if _, err := b.Yield(b.ScheduleTimer(10 * time.Millisecond)); err != nil {
				return nil, err
			}
			y, err := b.Yield(b.ScheduleActivity("Echo", "c"))
			if err != nil {
				return nil, err
			}
			return x.String() + "+" + y.String(), nil
		}
		e.orchestration("RaceOfAll", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			return ctx.Yield(ctx.Race(
				ctx.All(ctx.ScheduleActivity("Echo", "a"), ctx.Block(steps)),
				ctx.ScheduleTimer(time.Hour)))
		})
		e.orchestration("AllOfRace", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			return ctx.Yield(ctx.All(
				ctx.Race(ctx.ScheduleActivity("Echo", "fast"), ctx.ScheduleTimer(time.Hour)),
				ctx.Block(steps)))
		})
		// The All with a block running Slow loses to a block that waits to be armed,
		// then for a timer: Slow is cancelled while it runs.
		e.orchestration("BlockLoses", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			return ctx.Yield(ctx.Race(
				ctx.All(ctx.ScheduleActivity("Echo", "a"), ctx.Block(func(b *yield.Ctx) (any, error) {
					if _, err := b.Yield(b.ScheduleActivity("Echo", "b")); err != nil {
						return nil, err
					}
					if _, err := b.Yield(b.ScheduleActivity("Slow", nil)); err != nil {
						return nil, err
					}
					return "slow branch finished", nil
				})),
				ctx.Block(func(b *yield.Ctx) (any, error) {
					if _, err := b.Yield(b.WaitForEvent("armed")); err != nil {
						return nil, err
					}
					if _, err := b.Yield(b.ScheduleTimer(20 * time.Millisecond)); err != nil {
						return nil, err
					}
					return "timed out", nil
				})))
		})
		e.start()
		completed(t, e.run("nest-1", "RaceOfAll", nil), `{"index":0,"value":[{"ok":"a"},{"ok":"b+c"}]}`)
		completed(t, e.run("nest-2", "AllOfRace", nil), `[{"ok":{"index":0,"value":"fast"}},{"ok":"b+c"}]`)

		if err := e.client.StartOrchestration(e.ctx, "nest-3", "BlockLoses", nil); err != nil {
			t.Fatal(err)
		}
		ftRecv(t, started, 10*time.Second, "Slow to start")
		if err := e.client.RaiseEvent(e.ctx, "nest-3", "armed", nil); err != nil {
			t.Fatal(err)
		}
		completed(t, e.wait("nest-3"), `{"index":1,"value":"timed out"}`)
		ftRecv(t, noticed, 10*time.Second, "the losing block's activity to see IsCancelled")
		h := ftHistory(t, e, "nest-3", 0)
		slow := ftScheduled(t, h, "Slow")
		if n := ftCount(h, history.ActivityCancelRequested, slow.EventID); n != 1 {
			t.Errorf("%d ActivityCancelRequested for Slow#%d, want 1; history %s", n, slow.EventID, ftKinds(h))
		}
		if n := ftCount(h, history.ActivityCompleted, slow.EventID) + ftCount(h, history.ActivityFailed, slow.EventID); n != 0 {
			t.Errorf("the cancelled Slow#%d has %d completions in history", slow.EventID, n)
		}
		waitFor(t, "the cancelled activity to be counted", func() bool {
			return e.rt.MetricsSnapshot().ActivitiesCancelled >= 1
		})
	})
}

// 2. Versioned sub-orchestrations and ContinueAsNewVersioned.
func TestE2EVersionedSubOrchestrationAndContinueAsNew(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		e.orchestration("Child", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return "v1:" + in.String() + ":" + ctx.OrchestrationVersion(), nil
		})
		if err := e.rt.RegisterOrchestrationVersioned("Child", "2.0.0", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return "v2:" + in.String() + ":" + ctx.OrchestrationVersion(), nil
		}); err != nil {
			t.Fatal(err)
		}
		e.orchestration("Parent", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			var out []string
			for _, task := range []yield.Task{
				ctx.ScheduleSubOrchestrationVersioned("Child", "1.0.0", "a"),
				ctx.ScheduleSubOrchestrationVersionedWithID("Child", "2.0.0", ctx.InstanceID()+"-c2", "b"),
				ctx.ScheduleSubOrchestrationVersionedWithID("Child", "1.0.0", ctx.InstanceID()+"-c1", "c"),
				ctx.ScheduleSubOrchestration("Child", "d"), // latest: 2.0.0
			} {
				v, err := ctx.Yield(task)
				if err != nil {
					return nil, err
				}
				out = append(out, v.String())
			}
			return out, nil
		})
		// Loop 1.0.0 reports; Loop 2.0.0 (the latest) continues as new pinned to 1.0.0.
		e.orchestration("Loop", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return fmt.Sprintf("v1:%s:%s:exec%d", in.String(), ctx.OrchestrationVersion(), ctx.ExecutionID()), nil
		})
		if err := e.rt.RegisterOrchestrationVersioned("Loop", "2.0.0", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.ContinueAsNewVersioned("from "+ctx.OrchestrationVersion(), "1.0.0"))
		}); err != nil {
			t.Fatal(err)
		}
		e.start()
		completed(t, e.run("vpar-1", "Parent", nil), `["v1:a:1.0.0","v2:b:2.0.0","v1:c:1.0.0","v2:d:2.0.0"]`)
		for id, want := range map[string]string{
			"vpar-1::sub::2": "1.0.0", "vpar-1-c2": "2.0.0", "vpar-1-c1": "1.0.0",
		} {
			st, err := e.client.GetStatus(e.ctx, id)
			if err != nil || st.Status != duroxide.StatusCompleted || st.OrchestrationVersion != want {
				t.Errorf("child %s: status %s version %q (%v), want Completed %s", id, st.Status, st.OrchestrationVersion, err, want)
			}
		}
		res := e.run("vloop-1", "Loop", nil)
		completed(t, res, `"v1:from 2.0.0:1.0.0:exec2"`)
		if res.OrchestrationVersion != "1.0.0" || res.ExecutionID != 2 {
			t.Errorf("after ContinueAsNewVersioned: version %q execution %d, want 1.0.0 and 2", res.OrchestrationVersion, res.ExecutionID)
		}
		h1 := ftHistory(t, e, "vloop-1", 1)
		if last := h1[len(h1)-1]; last.Kind != history.OrchestrationContinuedAsNew || last.Version != "1.0.0" {
			t.Errorf("execution 1 ends with %s version %q, want OrchestrationContinuedAsNew 1.0.0", last.Kind, last.Version)
		}
		if h1[0].Version != "2.0.0" {
			t.Errorf("execution 1 started version %q, want 2.0.0 (the latest)", h1[0].Version)
		}
		if h2 := ftHistory(t, e, "vloop-1", 2); h2[0].Kind != history.OrchestrationStarted || h2[0].Version != "1.0.0" {
			t.Errorf("execution 2 starts with %s version %q, want OrchestrationStarted 1.0.0", h2[0].Kind, h2[0].Version)
		}
	})
}

// 3. The step budget splits a long loop over many turns.
func TestE2EStepBudgetSplitsLongTurns(t *testing.T) {
	const n, budget = 1000, 50
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{StepBudget: budget})
		e.orchestration("Summer", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			ctx.SetCustomStatus("waiting for go")
			if _, err := ctx.Yield(ctx.WaitForEvent("go")); err != nil {
				return nil, err
			}
			sum := 0
			for i := 1; i <= n; i++ {
				var v int
				m, err := ctx.Yield(ctx.DequeueEvent("numbers"))
				if err != nil {
					return nil, err
				}
				if err := m.Decode(&v); err != nil {
					return nil, err
				}
				if v != i {
					return nil, fmt.Errorf("message %d is %d: queue not FIFO", i, v)
				}
				sum += v
			}
			return sum, nil
		})
		// Queued before the first turn (DECISIONS 3), so that one turn records them all
		// instead of a turn per message, each replaying the history so far.
		if err := e.client.StartOrchestration(e.ctx, "sum-1", "Summer", nil); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= n; i++ {
			if err := e.client.EnqueueEvent(e.ctx, "sum-1", "numbers", i); err != nil {
				t.Fatal(err)
			}
		}
		e.start()
		if _, err := e.client.WaitForStatusChange(e.ctx, "sum-1", 0, 10*time.Millisecond, 10*time.Second); err != nil {
			t.Fatalf("first turn: %v", err)
		}
		// Every message is recorded (as an arrival) before "go" is raised.
		waitFor(t, "all messages recorded", func() bool {
			h, err := e.store.ReadHistory(e.ctx, "sum-1", 0)
			return err == nil && ftCount(h, history.QueueEventDelivered, 0) == n
		})
		before := e.rt.MetricsSnapshot().Turns
		if err := e.client.RaiseEvent(e.ctx, "sum-1", "go", nil); err != nil {
			t.Fatal(err)
		}
		res := e.wait("sum-1")
		completed(t, res, fmt.Sprint(n*(n+1)/2))
		turns := e.rt.MetricsSnapshot().Turns - before
		// Each turn records at most `budget` QueueSubscribed steps.
		if turns < n/budget {
			t.Fatalf("%d turns after go for %d dequeues with step budget %d, want at least %d", turns, n, budget, n/budget)
		}
		t.Logf("%d turns after go", turns)
		if h := ftHistory(t, e, "sum-1", 0); ftCount(h, history.QueueSubscribed, 0) != n {
			t.Fatalf("%d QueueSubscribed events, want %d", ftCount(h, history.QueueSubscribed, 0), n)
		}
	})
}

// 4. An activity running in another runtime sees the cancellation through its lock.
func TestE2ECooperativeCancellationAcrossRuntimes(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		const lockTimeout = 400 * time.Millisecond
		a := newEnv(duroxide.RuntimeOptions{OrchestrationConcurrency: -1, WorkerLockTimeout: lockTimeout})
		b := newEnv(duroxide.RuntimeOptions{WorkerConcurrency: -1})
		started := make(chan struct{}, 1)
		noticed := make(chan time.Time, 1)
		a.activity("Long", ftUntilCancelled(started, noticed))
		b.orchestration("RaceRemote", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			return ctx.Yield(ctx.Race(
				ctx.ScheduleActivity("Long", nil),
				ctx.Block(func(b *yield.Ctx) (any, error) {
					// Armed once Long runs, so that the timer cannot win before A has it.
					if _, err := b.Yield(b.WaitForEvent("armed")); err != nil {
						return nil, err
					}
					return b.Yield(b.ScheduleTimer(50 * time.Millisecond))
				})))
		})
		a.start()
		b.start()
		if err := b.client.StartOrchestration(b.ctx, "xrt-1", "RaceRemote", nil); err != nil {
			t.Fatal(err)
		}
		ftRecv(t, started, 10*time.Second, "Long to start on A")
		armed := time.Now()
		if err := b.client.RaiseEvent(b.ctx, "xrt-1", "armed", nil); err != nil {
			t.Fatal(err)
		}
		completed(t, b.wait("xrt-1"), `{"index":1,"value":null}`)
		at := ftRecv(t, noticed, 10*time.Second, "Long on A to see IsCancelled")
		lat := at.Sub(armed)
		t.Logf("cancellation seen %s after arming (A renews every %s)", lat, lockTimeout/2)
		if lat > 3*time.Second {
			t.Fatalf("cancellation seen after %s, want about %s", lat, lockTimeout/2)
		}
		waitFor(t, "A to drop the result", func() bool { return a.rt.MetricsSnapshot().ActivitiesCancelled >= 1 })
		if m := a.rt.MetricsSnapshot(); m.ActivitySuccess != 0 || m.ActivityAppErrors != 0 {
			t.Fatalf("A recorded a result of the cancelled activity: %+v", m)
		}
		h := ftHistory(t, b, "xrt-1", 0)
		long := ftScheduled(t, h, "Long")
		if n := ftCount(h, history.ActivityCompleted, long.EventID) + ftCount(h, history.ActivityFailed, long.EventID); n != 0 {
			t.Fatalf("the cancelled activity has %d completions in history %s", n, ftKinds(h))
		}
		if n := ftCount(h, history.ActivityCancelRequested, long.EventID); n != 1 {
			t.Fatalf("%d ActivityCancelRequested for Long, want 1", n)
		}
	})
}

// 5. At-least-once activities, exactly-once results.
func TestE2EActivityRerunAfterLostLockRecordedOnce(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		orch := newEnv(duroxide.RuntimeOptions{WorkerConcurrency: -1})
		orch.orchestration("Once", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			r, err := ctx.Yield(ctx.ScheduleActivity("Work", "input"))
			if err != nil {
				return nil, err
			}
			if _, err := ctx.Yield(ctx.WaitForEvent("finish")); err != nil {
				return nil, err
			}
			return r, nil
		})
		orch.start()
		if err := orch.client.StartOrchestration(orch.ctx, "once-1", "Once", nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the activity to be scheduled", func() bool {
			h, _ := orch.store.ReadHistory(orch.ctx, "once-1", 0)
			return ftCount(h, history.ActivityScheduled, 0) == 1
		})
		// A "crashed worker": it takes the activity with a short lock and never finishes.
		fetchedAt := time.Now()
		stale, err := orch.store.FetchActivity(orch.ctx, history.FetchActivityRequest{LockTimeout: 150 * time.Millisecond})
		if err != nil || stale == nil {
			t.Fatalf("FetchActivity: %v %v", stale, err)
		}
		if stale.Work.Name != "Work" || stale.Work.Instance != "once-1" || stale.Attempt != 1 {
			t.Fatalf("stale lease %+v", stale)
		}

		type run struct {
			at                            time.Time
			instance, name, orchestration string
			execution, id                 uint64
			workerID                      string
		}
		var (
			mu   sync.Mutex
			runs []run
		)
		worker := newEnv(duroxide.RuntimeOptions{OrchestrationConcurrency: -1, WorkerConcurrency: 1})
		worker.activity("Work", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			mu.Lock()
			runs = append(runs, run{time.Now(), ctx.InstanceID(), ctx.ActivityName(), ctx.OrchestrationName(),
				ctx.ExecutionID(), ctx.ActivityID(), ctx.WorkerID()})
			n := len(runs)
			mu.Unlock()
			return fmt.Sprintf("%s done by run %d", in.String(), n), nil
		})
		worker.start()
		waitFor(t, "the rerun's result to be recorded", func() bool {
			h, _ := orch.store.ReadHistory(orch.ctx, "once-1", 0)
			return ftCount(h, history.ActivityCompleted, 0) == 1
		})
		mu.Lock()
		got := append([]run(nil), runs...)
		mu.Unlock()
		if len(got) != 1 {
			t.Fatalf("the activity ran %d times in the runtime, want 1", len(got))
		}
		r := got[0]
		if r.instance != "once-1" || r.name != "Work" || r.orchestration != "Once" || r.execution != 1 ||
			r.id != stale.Work.ID || !strings.HasPrefix(r.workerID, "work-") {
			t.Fatalf("activity context %+v, want once-1/Work/Once execution 1 id %d", r, stale.Work.ID)
		}
		if waited := r.at.Sub(fetchedAt); waited < 100*time.Millisecond {
			t.Fatalf("the worker ran the activity %s after the stale fetch, before its 150ms lock expired", waited)
		}

		// The crashed worker comes back: its lease is gone, its result is refused.
		err = orch.store.CompleteActivity(orch.ctx, stale.LockToken, &history.Message{
			Kind: history.MsgActivityCompleted, Instance: "once-1", ExecutionID: 1, ID: stale.Work.ID, Result: []byte(`"stale result"`)})
		if !errors.Is(err, history.ErrLockLost) {
			t.Fatalf("CompleteActivity on the stale lease: %v, want ErrLockLost", err)
		}
		// Duplicate completions (either kind) reaching the instance are discarded.
		for _, dup := range []history.Message{
			{Kind: history.MsgActivityCompleted, Instance: "once-1", ExecutionID: 1, ID: stale.Work.ID, Result: []byte(`"duplicate"`)},
			{Kind: history.MsgActivityFailed, Instance: "once-1", ExecutionID: 1, ID: stale.Work.ID,
				Error: history.Application(history.KindActivityFailed, "duplicate failure")},
		} {
			if err := orch.store.SendMessage(orch.ctx, dup); err != nil {
				t.Fatal(err)
			}
		}
		if err := orch.client.RaiseEvent(orch.ctx, "once-1", "finish", nil); err != nil {
			t.Fatal(err)
		}
		completed(t, orch.wait("once-1"), `"input done by run 1"`)
		h := ftHistory(t, orch, "once-1", 0)
		if c, f := ftCount(h, history.ActivityCompleted, stale.Work.ID), ftCount(h, history.ActivityFailed, 0); c != 1 || f != 0 {
			t.Fatalf("%d ActivityCompleted and %d ActivityFailed for activity %d, want 1 and 0; history %s", c, f, stale.Work.ID, ftKinds(h))
		}
		for _, ev := range h {
			if ev.Kind == history.ActivityCompleted && string(ev.Result) != `"input done by run 1"` {
				t.Fatalf("recorded result %s", ev.Result)
			}
		}
	})
}

// 6. Two processes (two Store values, no shared notifications) on one SQLite file.
func TestE2ETwoProcessesOneSQLiteFile(t *testing.T) {
	for _, kind := range storeKinds {
		for _, mode := range cacheModes {
			t.Run(kind+"/"+mode.name, func(t *testing.T) {
				if kind != "sqlite-file" {
					t.Skip("two processes share a database file; an in-memory SQLite database is private to its Store")
				}
				base := runtime.NumGoroutine()
				path := filepath.Join(t.TempDir(), "db", "duroxide.db")
				var stores []*sqlitestore.Store
				var envs []*env
				defer func() {
					for _, e := range envs {
						_ = e.rt.Shutdown(5 * time.Second)
					}
					for _, s := range stores {
						if err := s.Close(); err != nil {
							t.Errorf("closing store: %v", err)
						}
					}
					waitGoroutines(t, base)
				}()
				var (
					perProcess [2]atomic.Int32
					both       = make(chan struct{})
					bothOnce   sync.Once
				)
				for i := range 2 {
					s, err := sqlitestore.Open(path, sqlitestore.WithSynchronousNormal())
					if err != nil {
						t.Fatalf("open process %d's store: %v", i, err)
					}
					stores = append(stores, s)
					e := newEnvOn(t, s, duroxide.RuntimeOptions{InstanceCacheSize: mode.size})
					envs = append(envs, e)
					e.activity("Work", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
						perProcess[i].Add(1)
						if perProcess[0].Load() > 0 && perProcess[1].Load() > 0 {
							bothOnce.Do(func() { close(both) })
						}
						// Hold the worker until the other process has run an activity too:
						// it can only find work by polling the file.
						select {
						case <-both:
							return in, nil
						case <-ctx.Context().Done():
							return nil, ctx.Context().Err()
						case <-time.After(15 * time.Second):
							return nil, errors.New("the other process never ran an activity")
						}
					})
					e.orchestration("Job", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
						var tasks []yield.Task
						for j := range 4 {
							tasks = append(tasks, ctx.ScheduleActivity("Work", j))
						}
						return ctx.Yield(ctx.All(tasks...))
					})
				}
				for _, e := range envs {
					e.start()
				}
				for i := range 10 {
					if err := envs[0].client.StartOrchestration(envs[0].ctx, fmt.Sprintf("job-%d", i), "Job", nil); err != nil {
						t.Fatal(err)
					}
				}
				for i := range 10 {
					completed(t, envs[1].wait(fmt.Sprintf("job-%d", i)), `[{"ok":0},{"ok":1},{"ok":2},{"ok":3}]`)
				}
				a, b := perProcess[0].Load(), perProcess[1].Load()
				t.Logf("activities: %d in process 0, %d in process 1; turns %d and %d", a, b,
					envs[0].rt.MetricsSnapshot().Turns, envs[1].rt.MetricsSnapshot().Turns)
				if a == 0 || b == 0 || a+b < 40 {
					t.Fatalf("activity runs %d + %d, want both > 0 and at least 40 in all", a, b)
				}
			})
		}
	}
}

// 7. Outputs that JSON cannot encode fail clearly.
func TestE2EUnencodableOutputs(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		e.activity("BadOut", func(*duroxide.ActivityContext, yield.Value) (any, error) { return make(chan int), nil })
		e.orchestration("ReturnsChan", func(ctx *yield.Ctx, _ yield.Value) (any, error) { return make(chan int), nil })
		e.orchestration("CallsBadOut", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			_, err := ctx.Yield(ctx.ScheduleActivity("BadOut", nil))
			var te *yield.TaskError
			if !errors.As(err, &te) || te.Kind != yield.TaskErrActivity {
				return nil, fmt.Errorf("want an activity TaskError, got %v", err)
			}
			return "seen: " + err.Error(), nil
		})
		e.start()
		res := e.run("bad-1", "ReturnsChan", nil)
		if res.Status != duroxide.StatusFailed || res.ErrorKind != duroxide.ErrorKindApplication ||
			!strings.Contains(res.Error, "output") || !strings.Contains(res.Error, "chan int") {
			t.Fatalf("orchestration returning a channel: %s %s %q", res.Status, res.ErrorKind, res.Error)
		}
		res = e.run("bad-2", "CallsBadOut", nil)
		if res.Status != duroxide.StatusCompleted {
			t.Fatalf("%s: %s", res.Status, res.Error)
		}
		var msg string
		if err := res.Output.Decode(&msg); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(msg, "seen: Activity 'BadOut' call failed: ") || !strings.Contains(msg, "chan int") {
			t.Fatalf("orchestration saw %q", msg)
		}
	})
}

// 8. Messages sent before the first turn, FIFO queues, and an immediate cancel.
func TestE2EEarlyMessagesFIFOAndImmediateCancel(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		// No worker: a withdrawn activity must stay visible to nobody.
		e := newEnv(duroxide.RuntimeOptions{WorkerConcurrency: -1})
		e.orchestration("WaitHello", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			return ctx.Yield(ctx.WaitForEvent("hello"))
		})
		e.orchestration("Drain", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			var out []string
			for range 6 {
				v, err := ctx.Yield(ctx.DequeueEvent("inbox"))
				if err != nil {
					return nil, err
				}
				out = append(out, v.String())
			}
			return out, nil
		})
		e.orchestration("Cancellable", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			return ctx.Yield(ctx.ScheduleActivity("Never", nil))
		})
		c := e.client
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		// Before the runtime runs any turn.
		must(c.StartOrchestration(e.ctx, "early-1", "WaitHello", nil))
		must(c.RaiseEvent(e.ctx, "early-1", "hello", "before the first turn"))
		must(c.StartOrchestration(e.ctx, "fifo-1", "Drain", nil))
		for i := range 3 {
			must(c.EnqueueEvent(e.ctx, "fifo-1", "inbox", fmt.Sprintf("m%d", i)))
		}
		must(c.StartOrchestration(e.ctx, "cxl-1", "Cancellable", nil))
		must(c.CancelInstance(e.ctx, "cxl-1", "stop now"))
		e.start()
		// While it runs.
		must(c.StartOrchestration(e.ctx, "early-2", "WaitHello", nil))
		must(c.RaiseEvent(e.ctx, "early-2", "hello", "right after start"))
		for i := 3; i < 6; i++ {
			must(c.EnqueueEvent(e.ctx, "fifo-1", "inbox", fmt.Sprintf("m%d", i)))
		}
		must(c.StartOrchestration(e.ctx, "cxl-2", "Cancellable", nil))
		must(c.CancelInstance(e.ctx, "cxl-2", "stop now"))

		completed(t, e.wait("early-1"), `"before the first turn"`)
		completed(t, e.wait("early-2"), `"right after start"`)
		completed(t, e.wait("fifo-1"), `["m0","m1","m2","m3","m4","m5"]`)
		for _, id := range []string{"cxl-1", "cxl-2"} {
			res := e.wait(id)
			if res.Status != duroxide.StatusFailed || res.ErrorKind != duroxide.ErrorKindCancelled || res.Error != "canceled: stop now" {
				t.Errorf("%s: %s %s %q, want Failed cancelled %q", id, res.Status, res.ErrorKind, res.Error, "canceled: stop now")
			}
			h := ftHistory(t, e, id, 0)
			if n := ftCount(h, history.OrchestrationCancelRequested, 0); n != 1 {
				t.Errorf("%s: %d OrchestrationCancelRequested, want 1; history %s", id, n, ftKinds(h))
			}
		}
		// Whatever the cancelled instances scheduled was withdrawn.
		if lease, err := e.store.FetchActivity(e.ctx, history.FetchActivityRequest{LockTimeout: time.Second}); err != nil || lease != nil {
			t.Fatalf("an activity of a cancelled instance is still queued: %+v %v", lease, err)
		}
		// Messages to a cancelled instance are a no-op.
		must(c.RaiseEvent(e.ctx, "cxl-1", "late", nil))
	})
}

// 9. Following custom status changes.
func TestE2EWaitForStatusChangeFollowsEachUpdate(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		e.orchestration("Stages", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			for i := 1; i <= 3; i++ {
				ctx.SetCustomStatus(fmt.Sprintf("stage %d", i))
				if _, err := ctx.Yield(ctx.WaitForEvent(fmt.Sprintf("next%d", i))); err != nil {
					return nil, err
				}
			}
			return "all stages", nil
		})
		e.start()
		c := e.client
		if _, err := c.WaitForStatusChange(e.ctx, "nobody", 0, 10*time.Millisecond, time.Second); !errors.Is(err, duroxide.ErrNotFound) {
			t.Fatalf("WaitForStatusChange on an unknown instance: %v", err)
		}
		if err := c.StartOrchestration(e.ctx, "stages-1", "Stages", nil); err != nil {
			t.Fatal(err)
		}
		var seen uint64
		for i := 1; i <= 3; i++ {
			res, err := c.WaitForStatusChange(e.ctx, "stages-1", seen, 10*time.Millisecond, 10*time.Second)
			if err != nil {
				t.Fatalf("stage %d: %v", i, err)
			}
			want := fmt.Sprintf("stage %d", i)
			if res.Status != duroxide.StatusRunning || res.CustomStatus == nil || *res.CustomStatus != want || res.CustomStatusVersion != uint64(i) {
				t.Fatalf("stage %d: status %s custom %v version %d, want Running %q version %d",
					i, res.Status, res.CustomStatus, res.CustomStatusVersion, want, i)
			}
			seen = res.CustomStatusVersion
			if i == 1 {
				// Nothing changes until the event: the wait times out.
				start := time.Now()
				if _, err := c.WaitForStatusChange(e.ctx, "stages-1", seen, 10*time.Millisecond, 100*time.Millisecond); !errors.Is(err, duroxide.ErrTimeout) {
					t.Fatalf("wait without a change: %v, want ErrTimeout", err)
				}
				if d := time.Since(start); d < 90*time.Millisecond {
					t.Fatalf("timed out after %s, before the 100ms timeout", d)
				}
			}
			if err := c.RaiseEvent(e.ctx, "stages-1", fmt.Sprintf("next%d", i), nil); err != nil {
				t.Fatal(err)
			}
		}
		res, err := c.WaitForStatusChange(e.ctx, "stages-1", seen, 10*time.Millisecond, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		completed(t, res, `"all stages"`)
		if res.CustomStatus == nil || *res.CustomStatus != "stage 3" || res.CustomStatusVersion != 3 {
			t.Fatalf("final custom status %v version %d, want \"stage 3\" version 3", res.CustomStatus, res.CustomStatusVersion)
		}
	})
}

// 10. Shutdown with an activity outliving its timeout; another runtime finishes the work.
func TestE2EShutdownTimeoutActivityRerunsElsewhere(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		var runs atomic.Int32
		started := make(chan struct{}, 1)
		noticed := make(chan time.Time, 1)
		long := ftUntilCancelled(started, noticed)
		activity := func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			if runs.Add(1) == 1 {
				return long(ctx, in)
			}
			return "finished by run " + fmt.Sprint(runs.Load()), nil
		}
		orch := func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			return ctx.Yield(ctx.ScheduleActivity("Long", nil))
		}
		// A short lock, so that the rerun does not wait 30 s if the lock is left to expire.
		e1 := newEnv(duroxide.RuntimeOptions{WorkerLockTimeout: 500 * time.Millisecond})
		e1.activity("Long", activity)
		e1.orchestration("Outlives", orch)
		e1.start()
		if err := e1.client.StartOrchestration(e1.ctx, "sd-1", "Outlives", nil); err != nil {
			t.Fatal(err)
		}
		ftRecv(t, started, 10*time.Second, "the activity to start")
		err := e1.rt.Shutdown(100 * time.Millisecond)
		if !errors.Is(err, duroxide.ErrTimeout) {
			t.Fatalf("Shutdown with a running activity: %v, want an error wrapping ErrTimeout", err)
		}
		ftRecv(t, noticed, 5*time.Second, "the running activity to see IsCancelled")
		if h := ftHistory(t, e1, "sd-1", 0); ftCount(h, history.ActivityCompleted, 0) != 0 {
			t.Fatalf("the cancelled run's result was recorded: %s", ftKinds(h))
		}

		e2 := newEnv(duroxide.RuntimeOptions{})
		e2.activity("Long", activity)
		e2.orchestration("Outlives", orch)
		e2.start()
		res, err := e2.client.WaitForOrchestration(e2.ctx, "sd-1", 2*time.Second)
		if err != nil {
			t.Fatalf("the instance never finished on the new runtime (%v): the activity ran %d time(s); "+
				"the run cancelled by Shutdown must stay queued to run again", err, runs.Load())
		}
		completed(t, res, `"finished by run 2"`)
		if n := runs.Load(); n != 2 {
			t.Fatalf("the activity ran %d times, want 2", n)
		}
	})
}

func TestE2EMetricsSnapshotCounts(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		e.activity("Echo", echo)
		e.activity("Fail", func(*duroxide.ActivityContext, yield.Value) (any, error) { return nil, errors.New("no") })
		e.orchestration("Child", func(ctx *yield.Ctx, in yield.Value) (any, error) { return in, nil })
		e.orchestration("M", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			if _, err := ctx.Yield(ctx.ScheduleActivity("Echo", 1)); err != nil {
				return nil, err
			}
			if _, err := ctx.Yield(ctx.ScheduleSubOrchestration("Child", 2)); err != nil {
				return nil, err
			}
			if in.String() == "again" {
				return ctx.Yield(ctx.ScheduleActivity("Fail", nil))
			}
			return ctx.Yield(ctx.ContinueAsNew("again"))
		})
		e.start()
		res := e.run("met-1", "M", nil)
		if res.Status != duroxide.StatusFailed {
			t.Fatalf("%+v", res)
		}
		// The runtime counts after its commit, which the client may see first.
		waitFor(t, "the executions to be counted", func() bool {
			m := e.rt.MetricsSnapshot()
			return m.OrchFailures == 1 && m.OrchCompletions == 2 && m.OrchStarts == 4
		})
		m := e.rt.MetricsSnapshot()
		// Two executions of M and two children started; one child each execution.
		checks := []struct {
			name      string
			got, want int64
		}{
			{"OrchStarts", m.OrchStarts, 4},
			{"OrchCompletions", m.OrchCompletions, 2},
			{"OrchFailures", m.OrchFailures, 1},
			{"OrchApplicationErrors", m.OrchApplicationErrors, 1},
			{"OrchContinueAsNew", m.OrchContinueAsNew, 1},
			{"SuborchestrationCalls", m.SuborchestrationCalls, 2},
			{"ActivitySuccess", m.ActivitySuccess, 2},
			{"ActivityAppErrors", m.ActivityAppErrors, 1},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %d, want %d (snapshot %+v)", c.name, c.got, c.want, m)
			}
		}
		if m.OrchDispatcherItemsFetched < 6 || m.WorkerDispatcherItemsFetched < 3 || m.Turns < 6 {
			t.Errorf("fetch counters too low: %+v", m)
		}
	})
}

func TestE2EPayloadLimits(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{MaxPayloadBytes: 1024})
		e.activity("Huge", func(*duroxide.ActivityContext, yield.Value) (any, error) { return strings.Repeat("y", 2000), nil })
		e.orchestration("CallsHuge", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			_, err := ctx.Yield(ctx.ScheduleActivity("Huge", nil))
			return nil, err
		})
		e.start()
		res := e.run("pl-1", "CallsHuge", nil)
		if res.Status != duroxide.StatusFailed || !strings.Contains(res.Error, "result is 2002 bytes (limit 1024)") {
			t.Fatalf("%+v", res)
		}
		small := e.client.WithMaxPayloadBytes(10)
		if err := small.StartOrchestration(e.ctx, "pl-2", "CallsHuge", strings.Repeat("z", 20)); !errors.Is(err, duroxide.ErrInvalidInput) {
			t.Fatalf("oversized input: %v", err)
		}
		if _, err := e.client.GetStatus(e.ctx, "pl-2"); err != nil {
			t.Fatal(err)
		}
		if st, _ := e.client.GetStatus(e.ctx, "pl-2"); st.Status != duroxide.StatusNotFound {
			t.Fatalf("a refused start stored something: %+v", st)
		}
	})
}
