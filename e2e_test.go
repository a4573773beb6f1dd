package duroxide_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

func echo(_ *duroxide.ActivityContext, in yield.Value) (any, error) { return in, nil }

func TestE2EHelloActivity(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		e.activity("Greet", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return "Hello, " + in.String() + "!", nil
		})
		e.orchestration("Hello", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			ctx.TraceInfo("greeting " + in.String())
			return ctx.Yield(ctx.ScheduleActivity("Greet", in))
		})
		e.start()
		completed(t, e.run("hello-1", "Hello", "world"), `"Hello, world!"`)
		hist, err := e.store.ReadHistory(e.ctx, "hello-1", 0)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, ev := range hist {
			kinds = append(kinds, string(ev.Kind))
		}
		want := "OrchestrationStarted ActivityScheduled ActivityCompleted OrchestrationCompleted"
		if got := strings.Join(kinds, " "); got != want {
			t.Fatalf("history %s, want %s", got, want)
		}
	})
}

func TestE2EFanOutFanIn(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{WorkerConcurrency: 4})
		e.activity("Square", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			var n int
			if err := in.Decode(&n); err != nil {
				return nil, err
			}
			if n == 3 {
				return nil, errors.New("three is unlucky")
			}
			return n * n, nil
		})
		e.orchestration("FanOut", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			var tasks []yield.Task
			for i := 1; i <= 5; i++ {
				tasks = append(tasks, ctx.ScheduleActivity("Square", i))
			}
			return ctx.Yield(ctx.All(tasks...))
		})
		e.start()
		completed(t, e.run("fan-1", "FanOut", nil),
			`[{"ok":1},{"ok":4},{"err":"Activity 'Square' call failed: three is unlucky"},{"ok":16},{"ok":25}]`)
	})
}

func TestE2ETimerEventAndRace(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		e.orchestration("Approval", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			if _, err := ctx.Yield(ctx.ScheduleTimer(10 * time.Millisecond)); err != nil {
				return nil, err
			}
			return ctx.Yield(ctx.Race(ctx.WaitForEvent("approve"), ctx.ScheduleTimer(time.Hour)))
		})
		e.start()
		// Raised before the orchestration waits: events are kept (DECISIONS 1).
		if err := e.client.StartOrchestration(e.ctx, "appr-1", "Approval", nil); err != nil {
			t.Fatal(err)
		}
		if err := e.client.RaiseEvent(e.ctx, "appr-1", "approve", map[string]any{"by": "ann"}); err != nil {
			t.Fatal(err)
		}
		completed(t, e.wait("appr-1"), `{"index":0,"value":{"by":"ann"}}`)
		// A race timer that wins.
		e2 := "appr-2"
		e.rt.RegisterOrchestration("Timeout", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.Race(ctx.WaitForEvent("never"), ctx.ScheduleTimer(30*time.Millisecond)))
		})
		completed(t, e.run(e2, "Timeout", nil), `{"index":1,"value":null}`)
	})
}

func TestE2ESubOrchestrationsAndDetached(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		e.activity("Echo", echo)
		e.orchestration("Child", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			v, err := ctx.Yield(ctx.ScheduleActivity("Echo", in))
			if err != nil {
				return nil, err
			}
			if v.String() == "fail" {
				return nil, errors.New("child says no")
			}
			return "child:" + v.String(), nil
		})
		e.orchestration("Background", func(ctx *yield.Ctx, in yield.Value) (any, error) { return "bg done", nil })
		e.orchestration("Parent", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			a, err := ctx.Yield(ctx.ScheduleSubOrchestration("Child", "a"))
			if err != nil {
				return nil, err
			}
			b, err := ctx.Yield(ctx.ScheduleSubOrchestrationWithID("Child", ctx.InstanceID()+"-explicit", "b"))
			if err != nil {
				return nil, err
			}
			_, cerr := ctx.Yield(ctx.ScheduleSubOrchestration("Child", "fail"))
			if _, err := ctx.Yield(ctx.StartOrchestration("Background", ctx.InstanceID()+"-bg", nil)); err != nil {
				return nil, err
			}
			return []string{a.String(), b.String(), cerr.Error()}, nil
		})
		e.start()
		completed(t, e.run("par-1", "Parent", nil), `["child:a","child:b","child says no"]`)
		child, err := e.client.GetStatus(e.ctx, "par-1::sub::2")
		if err != nil || child.Status != duroxide.StatusCompleted {
			t.Fatalf("auto child: %+v %v", child, err)
		}
		completed(t, e.wait("par-1-bg"), `"bg done"`)
	})
}

func TestE2ERetryContinueAsNewAndCustomStatus(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		var calls sync.Map // per instance attempt counter
		e.activity("Flaky", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			n, _ := calls.LoadOrStore(ctx.InstanceID(), new(atomic.Int32))
			if n.(*atomic.Int32).Add(1) < 3 {
				return nil, errors.New("not yet")
			}
			return "ok", nil
		})
		e.orchestration("Counter", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			var n int
			if err := in.Decode(&n); err != nil {
				return nil, err
			}
			ctx.SetCustomStatus(fmt.Sprintf("round %d", n))
			if n < 3 {
				return ctx.Yield(ctx.ContinueAsNew(n + 1))
			}
			v, err := ctx.Yield(ctx.ScheduleActivityWithRetry("Flaky", nil, yield.RetryPolicy{MaxAttempts: 5, Backoff: yield.BackoffFixed, BaseDelay: 5 * time.Millisecond}))
			if err != nil {
				return nil, err
			}
			return fmt.Sprintf("%s after %d executions", v, ctx.ExecutionID()), nil
		})
		e.start()
		res := e.run("cnt-1", "Counter", 0)
		completed(t, res, `"ok after 4 executions"`)
		if res.CustomStatus == nil || *res.CustomStatus != "round 3" || res.CustomStatusVersion != 4 {
			t.Fatalf("custom status %v version %d", res.CustomStatus, res.CustomStatusVersion)
		}
	})
}

func TestE2EVersionPinningAndUpgradeOnContinueAsNew(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		e.orchestration("Work", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			if _, err := ctx.Yield(ctx.WaitForEvent("go")); err != nil {
				return nil, err
			}
			return ctx.Yield(ctx.ContinueAsNew("again"))
		})
		e.start()
		if err := e.client.StartOrchestration(e.ctx, "ver-1", "Work", nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "first turn", func() bool {
			st, _ := e.client.GetStatus(e.ctx, "ver-1")
			return st.OrchestrationVersion == "1.0.0"
		})
		// A new version registered while ver-1 runs: ver-1 stays on 1.0.0 until it continues as new.
		if err := e.rt.RegisterOrchestrationVersioned("Work", "1.0.1", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return "v2:" + in.String() + ":" + ctx.OrchestrationVersion(), nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := e.client.RaiseEvent(e.ctx, "ver-1", "go", nil); err != nil {
			t.Fatal(err)
		}
		completed(t, e.wait("ver-1"), `"v2:again:1.0.1"`)
		// Pinned start.
		if err := e.client.StartOrchestrationVersioned(e.ctx, "ver-2", "Work", nil, "1.0.1"); err != nil {
			t.Fatal(err)
		}
		completed(t, e.wait("ver-2"), `"v2:null:1.0.1"`)
	})
}

func TestE2ECancellationCascadesToChildrenAndActivities(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{WorkerConcurrency: 2})
		started := make(chan struct{}, 1)
		sawCancel := make(chan struct{}, 1)
		e.activity("Slow", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			started <- struct{}{}
			select {
			case <-ctx.Context().Done():
				if ctx.IsCancelled() {
					sawCancel <- struct{}{}
				}
				return nil, ctx.Context().Err()
			case <-time.After(20 * time.Second):
				return "too late", nil
			}
		})
		e.orchestration("Child", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.WaitForEvent("never"))
		})
		e.orchestration("Parent", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.All(ctx.ScheduleSubOrchestration("Child", nil), ctx.ScheduleActivity("Slow", nil)))
		})
		e.start()
		if err := e.client.StartOrchestration(e.ctx, "can-1", "Parent", nil); err != nil {
			t.Fatal(err)
		}
		<-started
		waitFor(t, "child to start", func() bool {
			st, _ := e.client.GetStatus(e.ctx, "can-1::sub::2")
			return st.Status == duroxide.StatusRunning && st.OrchestrationVersion != ""
		})
		if err := e.client.CancelInstance(e.ctx, "can-1", "user asked"); err != nil {
			t.Fatal(err)
		}
		res := e.wait("can-1")
		if res.Status != duroxide.StatusFailed || res.ErrorKind != duroxide.ErrorKindCancelled || res.Error != "canceled: user asked" {
			t.Fatalf("parent: %+v", res)
		}
		child := e.wait("can-1::sub::2")
		if child.ErrorKind != duroxide.ErrorKindCancelled || child.Error != "canceled: parent canceled" {
			t.Fatalf("child: %+v", child)
		}
		select {
		case <-sawCancel:
		case <-time.After(10 * time.Second):
			t.Fatal("the running activity never saw IsCancelled")
		}
	})
}

func TestE2EUnregisteredOrchestrationBecomesPoison(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{MaxDeliveryAttempts: 2, UnregisteredBackoff: 5 * time.Millisecond})
		e.start()
		res := e.run("ghost-1", "NoSuchOrchestration", nil)
		if res.Status != duroxide.StatusFailed || res.ErrorKind != duroxide.ErrorKindPoison || !strings.Contains(res.Error, "poison") {
			t.Fatalf("%+v", res)
		}
		if !strings.Contains(res.Details.Message, "not registered") {
			t.Fatalf("details %+v", res.Details)
		}
	})
}

func TestE2EUnregisteredActivityBecomesPoison(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{MaxDeliveryAttempts: 2, UnregisteredBackoff: 5 * time.Millisecond})
		e.orchestration("CallsGhost", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.ScheduleActivity("Ghost", nil))
		})
		e.start()
		res := e.run("ghost-2", "CallsGhost", nil)
		if res.ErrorKind != duroxide.ErrorKindPoison || !strings.Contains(res.Error, "poison: activity Ghost#2 exceeded 3 attempts (max 2)") {
			t.Fatalf("%+v", res)
		}
	})
}

func TestE2ENondeterministicChangeFailsClearly(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e1 := newEnv(duroxide.RuntimeOptions{})
		e1.activity("A", echo)
		e1.orchestration("Changing", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			if _, err := ctx.Yield(ctx.ScheduleActivity("A", 1)); err != nil {
				return nil, err
			}
			return ctx.Yield(ctx.WaitForEvent("next"))
		})
		e1.start()
		if err := e1.client.StartOrchestration(e1.ctx, "nd-1", "Changing", nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "activity recorded", func() bool {
			h, _ := e1.store.ReadHistory(e1.ctx, "nd-1", 0)
			return len(h) >= 4
		})
		if err := e1.rt.Shutdown(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		// The code changes: a timer where history has an activity.
		e2 := newEnv(duroxide.RuntimeOptions{})
		e2.activity("A", echo)
		e2.orchestration("Changing", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			if _, err := ctx.Yield(ctx.ScheduleTimer(time.Millisecond)); err != nil {
				return nil, err
			}
			return ctx.Yield(ctx.WaitForEvent("next"))
		})
		e2.start()
		if err := e2.client.RaiseEvent(e2.ctx, "nd-1", "next", nil); err != nil {
			t.Fatal(err)
		}
		res := e2.wait("nd-1")
		if res.ErrorKind != duroxide.ErrorKindNondeterminism || !strings.Contains(res.Error, "step 1") || !strings.Contains(res.Error, `ActivityScheduled(name="A"`) {
			t.Fatalf("%+v", res)
		}
		if !errors.Is(res.Details, duroxide.ErrNondeterminism) {
			t.Fatal("details should be ErrNondeterminism")
		}
	})
}

func TestE2ERuntimeStoppedMidOrchestrationAnotherFinishes(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e1 := newEnv(duroxide.RuntimeOptions{})
		e1.activity("Step", echo)
		orch := func(ctx *yield.Ctx, in yield.Value) (any, error) {
			var out []string
			for i := 0; i < 3; i++ {
				v, err := ctx.Yield(ctx.ScheduleActivity("Step", fmt.Sprint(i)))
				if err != nil {
					return nil, err
				}
				out = append(out, v.String())
				if i == 0 {
					if _, err := ctx.Yield(ctx.WaitForEvent("continue")); err != nil {
						return nil, err
					}
				}
			}
			return out, nil
		}
		e1.orchestration("Steps", orch)
		e1.start()
		if err := e1.client.StartOrchestration(e1.ctx, "stop-1", "Steps", nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "first step", func() bool {
			h, _ := e1.store.ReadHistory(e1.ctx, "stop-1", 0)
			return len(h) >= 4 // started, scheduled, completed, subscribed
		})
		if err := e1.rt.Shutdown(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		if err := e1.rt.Shutdown(time.Second); !errors.Is(err, duroxide.ErrRuntimeStopped) {
			t.Fatalf("second Shutdown: %v", err)
		}
		e2 := newEnv(duroxide.RuntimeOptions{})
		e2.activity("Step", echo)
		e2.orchestration("Steps", orch)
		e2.start()
		if err := e2.client.RaiseEvent(e2.ctx, "stop-1", "continue", nil); err != nil {
			t.Fatal(err)
		}
		completed(t, e2.wait("stop-1"), `["0","1","2"]`)
	})
}

func TestE2ETwoRuntimesShareOneStore(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		var perRuntime [2]atomic.Int32
		var envs []*env
		for i := range 2 {
			e := newEnv(duroxide.RuntimeOptions{})
			e.activity("Work", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				perRuntime[i].Add(1)
				return in, nil
			})
			e.orchestration("Job", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				var tasks []yield.Task
				for j := range 4 {
					tasks = append(tasks, ctx.ScheduleActivity("Work", j))
				}
				return ctx.Yield(ctx.All(tasks...))
			})
			envs = append(envs, e.start())
		}
		for i := range 10 {
			if err := envs[0].client.StartOrchestration(envs[0].ctx, fmt.Sprintf("job-%d", i), "Job", nil); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 10 {
			completed(t, envs[1].wait(fmt.Sprintf("job-%d", i)), `[{"ok":0},{"ok":1},{"ok":2},{"ok":3}]`)
		}
		if total := perRuntime[0].Load() + perRuntime[1].Load(); total < 40 {
			t.Fatalf("%d activity runs for 40 activities", total)
		}
	})
}

func TestE2EActivityCancelledByRaceLoss(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		cancelled := make(chan bool, 1)
		e.activity("Slow", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			select {
			case <-ctx.Context().Done():
				cancelled <- ctx.IsCancelled()
				return nil, nil
			case <-time.After(20 * time.Second):
				return "slow", nil
			}
		})
		e.orchestration("RaceIt", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.Race(ctx.ScheduleActivity("Slow", nil), ctx.ScheduleTimer(50*time.Millisecond)))
		})
		e.start()
		completed(t, e.run("race-1", "RaceIt", nil), `{"index":1,"value":null}`)
		select {
		case c := <-cancelled:
			if !c {
				t.Fatal("context done but IsCancelled false")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("losing activity never cancelled")
		}
	})
}

func TestE2EClientBadInput(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		e.orchestration("Wait", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.WaitForEvent("x"))
		})
		e.start()
		c := e.client
		cases := []struct {
			name string
			err  error
			want error
		}{
			{"empty instance id", c.StartOrchestration(e.ctx, "", "Wait", nil), duroxide.ErrInvalidInput},
			{"empty name", c.StartOrchestration(e.ctx, "x", "", nil), duroxide.ErrInvalidInput},
			{"control chars", c.StartOrchestration(e.ctx, "a\nb", "Wait", nil), duroxide.ErrInvalidInput},
			{"unmarshalable input", c.StartOrchestration(e.ctx, "x", "Wait", make(chan int)), duroxide.ErrInvalidInput},
			{"bad version", c.StartOrchestrationVersioned(e.ctx, "x", "Wait", nil, "v1"), duroxide.ErrInvalidInput},
			{"raise to unknown", c.RaiseEvent(e.ctx, "nobody", "x", nil), duroxide.ErrNotFound},
			{"enqueue to unknown", c.EnqueueEvent(e.ctx, "nobody", "q", nil), duroxide.ErrNotFound},
			{"cancel unknown", c.CancelInstance(e.ctx, "nobody", "r"), duroxide.ErrNotFound},
		}
		for _, tc := range cases {
			if !errors.Is(tc.err, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, tc.err, tc.want)
			}
		}
		if err := c.StartOrchestration(e.ctx, "dup", "Wait", 1); err != nil {
			t.Fatal(err)
		}
		if err := c.StartOrchestration(e.ctx, "dup", "Wait", 2); !errors.Is(err, duroxide.ErrAlreadyExists) {
			t.Fatalf("duplicate start: %v", err)
		}
		if _, err := c.WaitForOrchestration(e.ctx, "nobody", time.Second); !errors.Is(err, duroxide.ErrNotFound) {
			t.Fatalf("wait unknown: %v", err)
		}
		if _, err := c.WaitForOrchestration(e.ctx, "dup", 20*time.Millisecond); !errors.Is(err, duroxide.ErrTimeout) {
			t.Fatalf("wait timeout: %v", err)
		}
		st, err := c.GetStatus(e.ctx, "nobody")
		if err != nil || st.Status != duroxide.StatusNotFound {
			t.Fatalf("status unknown: %+v %v", st, err)
		}
		if err := e.rt.RegisterActivity("", echo); !errors.Is(err, duroxide.ErrInvalidInput) {
			t.Fatalf("empty activity name: %v", err)
		}
		if err := e.rt.RegisterActivity(yield.SysGetKVActivity, echo); !errors.Is(err, duroxide.ErrInvalidInput) {
			t.Fatalf("reserved activity name: %v", err)
		}
		if err := e.rt.RegisterOrchestration("Wait", nil); err == nil {
			t.Fatal("nil orchestration accepted")
		}
		if err := e.rt.RegisterOrchestrationVersioned("Wait", "1.0.0", func(*yield.Ctx, yield.Value) (any, error) { return nil, nil }); !errors.Is(err, duroxide.ErrAlreadyExists) {
			t.Fatalf("duplicate version: %v", err)
		}
		if err := e.rt.RegisterOrchestrationVersioned("Wait", "not-semver", func(*yield.Ctx, yield.Value) (any, error) { return nil, nil }); !errors.Is(err, duroxide.ErrInvalidInput) {
			t.Fatalf("bad version: %v", err)
		}
		if err := e.rt.Start(e.ctx); !errors.Is(err, duroxide.ErrRuntimeStarted) {
			t.Fatalf("second Start: %v", err)
		}
		// Messages to a finished instance are ignored.
		if err := c.RaiseEvent(e.ctx, "dup", "x", "done"); err != nil {
			t.Fatal(err)
		}
		completed(t, e.wait("dup"), `"done"`)
		if err := c.RaiseEvent(e.ctx, "dup", "x", "late"); err != nil {
			t.Fatalf("raise to finished instance: %v", err)
		}
	})
}

func TestE2EActivityPanicAndOrchestrationPanic(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		e.activity("Boom", func(*duroxide.ActivityContext, yield.Value) (any, error) { panic("kaboom") })
		e.orchestration("CatchIt", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			_, err := ctx.Yield(ctx.ScheduleActivity("Boom", nil))
			var te *yield.TaskError
			if !errors.As(err, &te) || te.Kind != yield.TaskErrActivity {
				return nil, fmt.Errorf("unexpected error %v", err)
			}
			return err.Error(), nil
		})
		e.orchestration("Panics", func(ctx *yield.Ctx, in yield.Value) (any, error) { panic("oops") })
		e.start()
		completed(t, e.run("p-1", "CatchIt", nil), `"Activity 'Boom' call failed: panic: kaboom"`)
		res := e.run("p-2", "Panics", nil)
		if res.Status != duroxide.StatusFailed || res.Error != "orchestration panicked: oops" || res.Details.Stack == "" {
			t.Fatalf("%+v", res)
		}
	})
}

func TestE2EKVAndGuidAndNow(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		e.orchestration("KV", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			ctx.SetKVValue("greeting", "hi")
			g, err := ctx.Yield(ctx.NewGUID())
			if err != nil {
				return nil, err
			}
			now, err := yield.Now(ctx)
			if err != nil {
				return nil, err
			}
			other, err := ctx.Yield(ctx.GetKVValueFromInstance(ctx.InstanceID(), "greeting"))
			if err != nil {
				return nil, err
			}
			return map[string]any{"guid_len": len(g.String()), "now_ms": now.UnixMilli(), "self": other}, nil
		})
		e.start()
		before := time.Now().UnixMilli()
		res := e.run("kv-1", "KV", nil)
		var out struct {
			GUIDLen int    `json:"guid_len"`
			NowMs   int64  `json:"now_ms"`
			Self    string `json:"self"`
		}
		if err := res.Output.Decode(&out); err != nil || res.Status != duroxide.StatusCompleted {
			t.Fatalf("result %s %s: %v", res.Status, res.Output.Raw(), err)
		}
		// The recorded time is the time of the turn: between the start and now.
		if out.GUIDLen != 36 || out.Self != "hi" || out.NowMs < before || out.NowMs > time.Now().UnixMilli() {
			t.Fatalf("output %+v (started at %d)", out, before)
		}
		v, ok, err := e.client.GetKVValue(e.ctx, "kv-1", "greeting")
		if err != nil || !ok || v != "hi" {
			t.Fatalf("GetKVValue: %q %v %v", v, ok, err)
		}
		if v, err := e.client.WaitForKVValue(e.ctx, "kv-1", "greeting", time.Second); err != nil || v != "hi" {
			t.Fatalf("WaitForKVValue: %q %v", v, err)
		}
		if _, err := e.client.WaitForKVValue(e.ctx, "nobody", "greeting", time.Second); !errors.Is(err, duroxide.ErrNotFound) {
			t.Fatalf("WaitForKVValue on an unknown instance: %v", err)
		}
		if _, err := e.client.WaitForKVValue(e.ctx, "kv-1", "absent", 30*time.Millisecond); !errors.Is(err, duroxide.ErrTimeout) {
			t.Fatalf("WaitForKVValue for an absent key: %v", err)
		}
		var _ history.Store = e.store
	})
}
