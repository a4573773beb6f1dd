package duroxide_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/sqlitestore"
	"github.com/duroxide-go/duroxide/yield"
)

// replayStores are the stores the replay tests record their histories on.
func replayStores() []string {
	return slices.DeleteFunc(slices.Clone(storeKinds), func(k string) bool { return k == "sqlite-file" })
}

// stepsOrch builds an orchestration from a list of steps: "A", "B", "C" call the activity
// Double with 1, 2, 3; "T" waits on a short timer. It returns the sum of the results plus
// bonus.
func stepsOrch(bonus int, steps ...string) yield.Orchestration {
	return func(ctx *yield.Ctx, _ yield.Value) (any, error) {
		sum := bonus
		for _, s := range steps {
			if s == "T" {
				if _, err := ctx.Yield(ctx.ScheduleTimer(5 * time.Millisecond)); err != nil {
					return nil, err
				}
				continue
			}
			n, err := yield.Await[int](ctx, ctx.ScheduleActivity("Double", int(s[0]-'A'+1)))
			if err != nil {
				return nil, err
			}
			sum += n
		}
		return sum, nil
	}
}

// rich uses most kinds of step, so that its clean replay covers them.
var rich = richWith(2)

// richWith builds rich with the given number of attempts for its failing activity.
func richWith(attempts int) yield.Orchestration {
	return func(ctx *yield.Ctx, in yield.Value) (any, error) { return richBody(ctx, attempts) }
}

func richBody(ctx *yield.Ctx, attempts int) (any, error) {
	now, err := yield.Now(ctx)
	if err != nil {
		return nil, err
	}
	guid, err := ctx.Yield(ctx.NewGUID())
	if err != nil {
		return nil, err
	}
	ctx.SetCustomStatus("started")
	ctx.SetKVValue("guid", guid.String())
	rs, err := yield.AwaitAll(ctx, ctx.ScheduleActivity("Double", 1), ctx.ScheduleActivity("Double", 2))
	if err != nil {
		return nil, err
	}
	child, err := ctx.Yield(ctx.ScheduleSubOrchestration("ReplayChild", 5))
	if err != nil {
		return nil, err
	}
	idx, _, err := yield.AwaitRace(ctx, ctx.WaitForEvent("never"), ctx.ScheduleTimer(5*time.Millisecond))
	if err != nil {
		return nil, err
	}
	// A retry policy runs as a block: attempts, back-off timers, and the final failure.
	_, retryErr := ctx.Yield(ctx.ScheduleActivityWithRetry("Fail", nil, yield.RetryPolicy{MaxAttempts: attempts, BaseDelay: time.Millisecond}))
	if retryErr == nil {
		return nil, errors.New("Fail succeeded")
	}
	return map[string]any{"now": now.UnixMilli(), "guid": guid, "all": []any{rs[0].Value, rs[1].Value}, "child": child, "race": idx, "retry": retryErr.Error()}, nil
}

func replayChild(ctx *yield.Ctx, in yield.Value) (any, error) {
	return ctx.Yield(ctx.ScheduleActivity("Double", in))
}

// waiter waits for an event between two activities; body changes what it does after A.
func waiter(body func(ctx *yield.Ctx) error) yield.Orchestration {
	return func(ctx *yield.Ctx, _ yield.Value) (any, error) {
		if _, err := ctx.Yield(ctx.ScheduleActivity("Double", 1)); err != nil {
			return nil, err
		}
		if err := body(ctx); err != nil {
			return nil, err
		}
		return ctx.Yield(ctx.ScheduleActivity("Double", 2))
	}
}

func waitGo(ctx *yield.Ctx) error {
	_, err := ctx.Yield(ctx.WaitForEvent("go"))
	return err
}

// kvChain writes a key in its first execution, continues as new, and in the second
// chooses its activity by that key.
func kvChain(ctx *yield.Ctx, in yield.Value) (any, error) {
	var n int
	if err := in.Decode(&n); err != nil {
		return nil, err
	}
	if n == 0 {
		ctx.SetKVValue("seen", "yes")
		return ctx.Yield(ctx.ContinueAsNew(1))
	}
	arg := 20
	if _, ok := ctx.GetKVValue("seen"); ok {
		arg = 10
	}
	return ctx.Yield(ctx.ScheduleActivity("Double", arg))
}

func failing(msg string) yield.Orchestration {
	return func(ctx *yield.Ctx, _ yield.Value) (any, error) {
		if _, err := ctx.Yield(ctx.ScheduleActivity("Double", 1)); err != nil {
			return nil, err
		}
		return nil, errors.New(msg)
	}
}

// recorded holds the histories recorded on one store.
type recorded struct {
	e       *env
	steps   []duroxide.Event // stepsOrch(0, "A", "B", "T"), completed with 6
	rich    []duroxide.Event
	running []duroxide.Event // waiter(waitGo), waiting for "go"
	cancel  []duroxide.Event // waiter(waitGo), cancelled while waiting
	failed  []duroxide.Event // failing("boom")
}

func (e *env) history(id string, execution uint64) []duroxide.Event {
	e.t.Helper()
	h, err := e.client.ReadExecutionHistory(e.ctx, id, execution)
	if err != nil {
		e.t.Fatalf("ReadExecutionHistory(%q, %d): %v", id, execution, err)
	}
	return h
}

func hasKind(h []duroxide.Event, k history.EventKind) bool {
	return slices.ContainsFunc(h, func(e duroxide.Event) bool { return e.Kind == k })
}

// record runs the orchestrations on a runtime and reads their histories.
func record(t *testing.T, e *env) *recorded {
	t.Helper()
	e.activity("Double", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
		var n int
		if err := in.Decode(&n); err != nil {
			return nil, err
		}
		return 2 * n, nil
	})
	e.activity("Fail", func(*duroxide.ActivityContext, yield.Value) (any, error) {
		return nil, errors.New("always")
	})
	e.orchestration("Steps", stepsOrch(0, "A", "B", "T"))
	e.orchestration("Rich", rich)
	e.orchestration("ReplayChild", replayChild)
	e.orchestration("Waiter", waiter(waitGo))
	e.orchestration("KVChain", kvChain)
	e.orchestration("Failing", failing("boom"))
	e.start()

	r := &recorded{e: e}
	completed(t, e.run("steps", "Steps", nil), "6")
	r.steps = e.history("steps", 0)
	if res := e.run("rich", "Rich", nil); res.Status != duroxide.StatusCompleted {
		t.Fatalf("rich: %s %s", res.Status, res.Error)
	}
	r.rich = e.history("rich", 0)
	completed(t, e.run("kv", "KVChain", 0), "20")
	if res := e.run("failed", "Failing", nil); res.Status != duroxide.StatusFailed {
		t.Fatalf("failed: %s", res.Status)
	}
	r.failed = e.history("failed", 0)

	for _, id := range []string{"running", "cancel"} {
		if err := e.client.StartOrchestration(e.ctx, id, "Waiter", nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, id+" waiting for its event", func() bool {
			h, err := e.client.ReadExecutionHistory(e.ctx, id, 0)
			return err == nil && hasKind(h, history.ExternalSubscribed)
		})
	}
	r.running = e.history("running", 0)
	if err := e.client.CancelInstance(e.ctx, "cancel", "enough"); err != nil {
		t.Fatal(err)
	}
	if res := e.wait("cancel"); res.ErrorKind != duroxide.ErrorKindCancelled {
		t.Fatalf("cancel: %s %s %s", res.Status, res.ErrorKind, res.Error)
	}
	r.cancel = e.history("cancel", 0)
	return r
}

// eachReplayStore records the histories on each store and runs f on them.
func eachReplayStore(t *testing.T, f func(t *testing.T, r *recorded)) {
	for _, kind := range replayStores() {
		t.Run(kind, func(t *testing.T) {
			base := runtime.NumGoroutine()
			store := openStore(t, kind)
			e := newEnvOn(t, store, duroxide.RuntimeOptions{})
			r := record(t, e)
			f(t, r)
			if err := e.rt.Shutdown(5 * time.Second); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			if err := store.Close(); err != nil {
				t.Errorf("closing store: %v", err)
			}
			waitGoroutines(t, base)
		})
	}
}

func mustClean(t *testing.T, rep duroxide.ReplayReport, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if !rep.Clean || rep.Divergence != nil {
		t.Fatalf("replay not clean: %+v", rep)
	}
}

// divergence checks that the replay failed with a nondeterminism error at step, and returns it.
func divergence(t *testing.T, rep duroxide.ReplayReport, err error, step int) *duroxide.Divergence {
	t.Helper()
	if err == nil {
		t.Fatalf("replay clean, want a divergence at step %d: %+v", step, rep)
	}
	if !errors.Is(err, duroxide.ErrNondeterminism) {
		t.Fatalf("error %v does not wrap ErrNondeterminism", err)
	}
	var d *duroxide.Divergence
	if !errors.As(err, &d) || d != rep.Divergence {
		t.Fatalf("error %v is not the report's divergence %+v", err, rep.Divergence)
	}
	if rep.Clean {
		t.Fatal("report says clean")
	}
	t.Logf("divergence: %v", err)
	if d.Step != step {
		t.Fatalf("divergence at step %d, want %d: %s", d.Step, step, d.Message)
	}
	if rep.Steps != step-1 {
		t.Fatalf("report counts %d matched steps, want %d", rep.Steps, step-1)
	}
	if !strings.Contains(d.Message, fmt.Sprintf("step %d", step)) {
		t.Fatalf("message %q does not name step %d", d.Message, step)
	}
	return d
}

// stepEvent is the id of the n-th scheduling event of h.
func stepEvent(t *testing.T, h []duroxide.Event, n int) duroxide.Event {
	t.Helper()
	for _, e := range h {
		if e.Kind.IsScheduling() {
			if n--; n == 0 {
				return e
			}
		}
	}
	t.Fatalf("history has no step %d", n)
	return duroxide.Event{}
}

func TestReplayClean(t *testing.T) {
	eachReplayStore(t, func(t *testing.T, r *recorded) {
		t.Run("steps", func(t *testing.T) {
			rep, err := duroxide.Replay(r.steps, stepsOrch(0, "A", "B", "T"))
			mustClean(t, rep, err)
			if rep.Steps != 3 || !rep.Finished || rep.Outcome != yield.OutcomeCompleted || string(rep.Output.Raw()) != "6" {
				t.Fatalf("report %+v", rep)
			}
			if rep.Name != "Steps" || rep.InstanceID != "steps" || rep.ExecutionID != 1 || rep.Events != len(r.steps) || len(rep.NewSteps) != 0 {
				t.Fatalf("report %+v", rep)
			}
		})
		t.Run("rich", func(t *testing.T) {
			rep, err := duroxide.Replay(r.rich, rich)
			mustClean(t, rep, err)
			if !hasKind(r.rich, history.ExternalSubscribedCancelled) || !hasKind(r.rich, history.SystemCall) || !hasKind(r.rich, history.SubOrchestrationScheduled) {
				t.Fatalf("history lacks the steps the test is about: %v", r.rich)
			}
			if rep.Outcome != yield.OutcomeCompleted {
				t.Fatalf("outcome %s", rep.Outcome)
			}
			failures := 0
			for _, e := range r.rich {
				if e.Kind == history.ActivityFailed {
					failures++
				}
			}
			if failures != 2 {
				t.Fatalf("history has %d failed attempts, want 2", failures)
			}
			// The child's own history, with its parent link, replays too.
			i := slices.IndexFunc(r.rich, func(e duroxide.Event) bool { return e.Kind == history.SubOrchestrationScheduled })
			rep, err = r.e.client.ReplayInstance(r.e.ctx, r.rich[i].Instance, 0, replayChild)
			mustClean(t, rep, err)
			if rep.Name != "ReplayChild" || string(rep.Output.Raw()) != "10" {
				t.Fatalf("child report %+v", rep)
			}
		})
		t.Run("retry policy changed", func(t *testing.T) {
			// A third attempt where the history gave up after two.
			// Steps: UtcNow, NewGUID, custom status, KV, two activities, child, wait, timer,
			// the wait's cancel, attempt, back-off timer, attempt: 13.
			rep, err := duroxide.Replay(r.rich, richWith(3))
			d := divergence(t, rep, err, 14)
			if d.Recorded.Kind != history.OrchestrationCompleted || d.Code == nil || d.Code.Kind != history.TimerCreated {
				t.Fatalf("divergence %+v", d)
			}
			// One attempt fewer: the code gives up where the history retried.
			rep, err = duroxide.Replay(r.rich, richWith(1))
			d = divergence(t, rep, err, 12)
			if d.Recorded.Kind != history.TimerCreated {
				t.Fatalf("divergence %+v", d)
			}
		})
		t.Run("failed", func(t *testing.T) {
			rep, err := duroxide.Replay(r.failed, failing("boom"))
			mustClean(t, rep, err)
			if rep.Outcome != yield.OutcomeFailed || rep.Error != "boom" {
				t.Fatalf("report %+v", rep)
			}
		})
		t.Run("cancelled", func(t *testing.T) {
			rep, err := duroxide.Replay(r.cancel, waiter(waitGo))
			mustClean(t, rep, err)
			if rep.Outcome != yield.OutcomeCancelled || rep.Steps != 2 {
				t.Fatalf("report %+v", rep)
			}
		})
		t.Run("golden file", func(t *testing.T) {
			// A history saved as JSON (a golden file in a user's tests) replays the same.
			raw, err := json.Marshal(r.rich)
			if err != nil {
				t.Fatal(err)
			}
			var back []duroxide.Event
			if err := json.Unmarshal(raw, &back); err != nil {
				t.Fatal(err)
			}
			rep, err := duroxide.Replay(back, rich)
			mustClean(t, rep, err)
		})
		t.Run("instance", func(t *testing.T) {
			rep, err := r.e.client.ReplayInstance(r.e.ctx, "steps", 0, stepsOrch(0, "A", "B", "T"))
			mustClean(t, rep, err)
			rep, err = r.e.client.ReplayInstance(r.e.ctx, "steps", 1, stepsOrch(0, "A", "B", "T"))
			mustClean(t, rep, err)
		})
	})
}

func TestReplayReorderedStep(t *testing.T) {
	eachReplayStore(t, func(t *testing.T, r *recorded) {
		rep, err := duroxide.Replay(r.steps, stepsOrch(0, "A", "T", "B"))
		d := divergence(t, rep, err, 2)
		want := stepEvent(t, r.steps, 2)
		if d.EventID != want.EventID || d.Recorded == nil || d.Recorded.Kind != history.ActivityScheduled || string(d.Recorded.Input) != "2" {
			t.Fatalf("divergence %+v, want the recorded B at event %d", d, want.EventID)
		}
		if d.Code == nil || d.Code.Kind != history.TimerCreated {
			t.Fatalf("code side %+v, want a timer", d.Code)
		}
		for _, s := range []string{"step 2", "TimerCreated", `ActivityScheduled(name="Double", input=2)`, fmt.Sprintf("at event %d", want.EventID)} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q lacks %q", err, s)
			}
		}

		// The first two swapped: caught at the first step.
		rep, err = duroxide.Replay(r.steps, stepsOrch(0, "B", "A", "T"))
		d = divergence(t, rep, err, 1)
		if string(d.Code.Input) != "2" || string(d.Recorded.Input) != "1" {
			t.Fatalf("divergence %+v", d)
		}
	})
}

func TestReplayExtraActivity(t *testing.T) {
	eachReplayStore(t, func(t *testing.T, r *recorded) {
		t.Run("middle", func(t *testing.T) {
			rep, err := duroxide.Replay(r.steps, stepsOrch(0, "A", "C", "B", "T"))
			d := divergence(t, rep, err, 2)
			if d.Code == nil || string(d.Code.Input) != "3" || string(d.Recorded.Input) != "2" {
				t.Fatalf("divergence %+v", d)
			}
		})
		t.Run("end", func(t *testing.T) {
			rep, err := duroxide.Replay(r.steps, stepsOrch(0, "A", "B", "T", "C"))
			d := divergence(t, rep, err, 4)
			last := r.steps[len(r.steps)-1]
			if d.EventID != last.EventID || d.Recorded.Kind != history.OrchestrationCompleted {
				t.Fatalf("divergence %+v, want the recorded completion", d)
			}
			if d.Code == nil || d.Code.Kind != history.ActivityScheduled || string(d.Code.Input) != "3" {
				t.Fatalf("code side %+v", d.Code)
			}
		})
		t.Run("running", func(t *testing.T) {
			// An activity before the wait the history recorded.
			rep, err := duroxide.Replay(r.running, waiter(func(ctx *yield.Ctx) error {
				if _, err := ctx.Yield(ctx.ScheduleActivity("Double", 3)); err != nil {
					return err
				}
				return waitGo(ctx)
			}))
			d := divergence(t, rep, err, 2)
			if d.Recorded.Kind != history.ExternalSubscribed || d.Code.Kind != history.ActivityScheduled {
				t.Fatalf("divergence %+v", d)
			}
		})
	})
}

func TestReplayActivitySwappedForTimer(t *testing.T) {
	eachReplayStore(t, func(t *testing.T, r *recorded) {
		rep, err := duroxide.Replay(r.steps, stepsOrch(0, "A", "T", "T"))
		d := divergence(t, rep, err, 2)
		if d.Recorded.Kind != history.ActivityScheduled || d.Code.Kind != history.TimerCreated {
			t.Fatalf("divergence %+v", d)
		}
		// And a timer swapped for an activity.
		rep, err = duroxide.Replay(r.steps, stepsOrch(0, "A", "B", "B"))
		d = divergence(t, rep, err, 3)
		if d.Recorded.Kind != history.TimerCreated || d.Code.Kind != history.ActivityScheduled {
			t.Fatalf("divergence %+v", d)
		}
	})
}

func TestReplayEndsDifferently(t *testing.T) {
	eachReplayStore(t, func(t *testing.T, r *recorded) {
		t.Run("returns early", func(t *testing.T) {
			rep, err := duroxide.Replay(r.steps, stepsOrch(0, "A", "B"))
			d := divergence(t, rep, err, 3)
			if d.Recorded.Kind != history.TimerCreated || d.Code == nil || d.Code.Kind != history.OrchestrationCompleted {
				t.Fatalf("divergence %+v", d)
			}
			if !strings.Contains(d.Message, "completed with 6") {
				t.Fatalf("message %q", d.Message)
			}
		})
		t.Run("other output", func(t *testing.T) {
			rep, err := duroxide.Replay(r.steps, stepsOrch(1, "A", "B", "T"))
			d := divergence(t, rep, err, 4)
			if d.Recorded.Kind != history.OrchestrationCompleted || d.Code.Kind != history.OrchestrationCompleted || string(d.Code.Output) != "7" {
				t.Fatalf("divergence %+v", d)
			}
			if !strings.Contains(d.Message, "output=6") || !strings.Contains(d.Message, "completed with 7") {
				t.Fatalf("message %q", d.Message)
			}
		})
		t.Run("other error", func(t *testing.T) {
			rep, err := duroxide.Replay(r.failed, failing("bang"))
			d := divergence(t, rep, err, 2)
			if d.Recorded.Kind != history.OrchestrationFailed || !strings.Contains(d.Message, "bang") {
				t.Fatalf("divergence %+v", d)
			}
		})
		t.Run("waits at the end", func(t *testing.T) {
			rep, err := duroxide.Replay(r.steps, func(ctx *yield.Ctx, in yield.Value) (any, error) {
				if _, err := stepsOrch(0, "A", "B", "T")(ctx, in); err != nil {
					return nil, err
				}
				return ctx.Yield(ctx.WaitForEvent("more"))
			})
			d := divergence(t, rep, err, 4)
			if d.Code == nil || d.Code.Kind != history.ExternalSubscribed {
				t.Fatalf("divergence %+v", d)
			}
		})
	})
}

func TestReplayRunning(t *testing.T) {
	eachReplayStore(t, func(t *testing.T, r *recorded) {
		if hasKind(r.running, history.OrchestrationCompleted) || !hasKind(r.running, history.ExternalSubscribed) {
			t.Fatalf("history not mid-flight: %v", r.running)
		}
		rep, err := duroxide.Replay(r.running, waiter(waitGo))
		mustClean(t, rep, err)
		if rep.Finished || rep.Outcome != yield.OutcomeContinue || rep.Steps != 2 || len(rep.NewSteps) != 0 {
			t.Fatalf("report %+v", rep)
		}
		rep, err = r.e.client.ReplayInstance(r.e.ctx, "running", 0, waiter(waitGo))
		mustClean(t, rep, err)

		// New code that also starts an activity alongside the wait is compatible: the
		// runtime records it as a new step.
		rep, err = duroxide.Replay(r.running, waiter(func(ctx *yield.Ctx) error {
			_, err := yield.AwaitAll(ctx, ctx.WaitForEvent("go"), ctx.ScheduleActivity("Double", 3))
			return err
		}))
		mustClean(t, rep, err)
		if len(rep.NewSteps) != 1 || rep.NewSteps[0].Kind != history.ActivityScheduled || string(rep.NewSteps[0].Input) != "3" {
			t.Fatalf("new steps %v", rep.NewSteps)
		}

		// Code that skips the wait the history recorded.
		rep, err = duroxide.Replay(r.running, waiter(func(*yield.Ctx) error { return nil }))
		d := divergence(t, rep, err, 2)
		if d.Recorded.Kind != history.ExternalSubscribed || d.Code == nil || d.Code.Kind != history.ActivityScheduled {
			t.Fatalf("divergence %+v", d)
		}

		// Let it finish so the runtime stops idle.
		if err := r.e.client.RaiseEvent(r.e.ctx, "running", "go", nil); err != nil {
			t.Fatal(err)
		}
		completed(t, r.e.wait("running"), "4")
		rep, err = r.e.client.ReplayInstance(r.e.ctx, "running", 0, waiter(waitGo))
		mustClean(t, rep, err)
		if !rep.Finished || rep.Steps != 3 {
			t.Fatalf("report %+v", rep)
		}
	})
}

func TestReplayInstanceKVAcrossExecutions(t *testing.T) {
	eachReplayStore(t, func(t *testing.T, r *recorded) {
		rep, err := r.e.client.ReplayInstance(r.e.ctx, "kv", 0, kvChain)
		mustClean(t, rep, err)
		if rep.ExecutionID != 2 || string(rep.Output.Raw()) != "20" {
			t.Fatalf("report %+v", rep)
		}
		rep, err = r.e.client.ReplayInstance(r.e.ctx, "kv", 1, kvChain)
		mustClean(t, rep, err)
		if rep.Outcome != yield.OutcomeContinuedAsNew || string(rep.Output.Raw()) != "1" {
			t.Fatalf("report %+v", rep)
		}
		// Without the KV the first execution left, the second chooses the other branch.
		second := r.e.history("kv", 2)
		rep, err = duroxide.Replay(second, kvChain)
		d := divergence(t, rep, err, 1)
		if string(d.Recorded.Input) != "10" || string(d.Code.Input) != "20" {
			t.Fatalf("divergence %+v", d)
		}
		rep, err = duroxide.Replay(second, kvChain, duroxide.ReplayWithKV(map[string]yield.KVEntry{"seen": {Value: "yes"}}))
		mustClean(t, rep, err)
		rep, err = r.e.client.ReplayInstance(r.e.ctx, "kv", 2, kvChain, duroxide.ReplayWithKV(nil))
		divergence(t, rep, err, 1)
	})
}

func TestReplayErrors(t *testing.T) {
	eachReplayStore(t, func(t *testing.T, r *recorded) {
		orch := stepsOrch(0, "A")
		if _, err := duroxide.Replay(nil, orch); !errors.Is(err, history.ErrCorruptHistory) {
			t.Errorf("empty history: %v", err)
		}
		if _, err := duroxide.Replay(r.steps[1:], orch); !errors.Is(err, history.ErrCorruptHistory) {
			t.Errorf("history without its start: %v", err)
		}
		mixed := append(slices.Clone(r.steps[:2]), duroxide.Event{EventID: 9, ExecutionID: 2, Kind: history.TimerFired})
		if _, err := duroxide.Replay(mixed, orch); !errors.Is(err, history.ErrCorruptHistory) {
			t.Errorf("two executions: %v", err)
		}
		if _, err := duroxide.Replay(r.steps, nil); !errors.Is(err, duroxide.ErrInvalidInput) {
			t.Errorf("nil orchestration: %v", err)
		}
		if _, err := r.e.client.ReplayInstance(r.e.ctx, "nope", 0, orch); !errors.Is(err, duroxide.ErrNotFound) {
			t.Errorf("unknown instance: %v", err)
		}
		if _, err := r.e.client.ReplayInstance(r.e.ctx, "steps", 7, orch); !errors.Is(err, duroxide.ErrNotFound) {
			t.Errorf("unknown execution: %v", err)
		}
		// A panic in the new code is reported where it happens.
		rep, err := duroxide.Replay(r.steps, func(ctx *yield.Ctx, in yield.Value) (any, error) {
			if _, err := ctx.Yield(ctx.ScheduleActivity("Double", 1)); err != nil {
				return nil, err
			}
			panic("new code broke")
		})
		d := divergence(t, rep, err, 2)
		if d.Code == nil || d.Code.Kind != history.OrchestrationFailed || !strings.Contains(d.Message, "new code broke") {
			t.Fatalf("divergence %+v", d)
		}
	})
}

// loopOrch calls Double n times; at step diverge (1-based, 0 for never) it passes another input.
func loopOrch(n, diverge int) yield.Orchestration {
	return func(ctx *yield.Ctx, _ yield.Value) (any, error) {
		sum := 0
		for i := 1; i <= n; i++ {
			arg := i
			if i == diverge {
				arg = -i
			}
			v, err := yield.Await[int](ctx, ctx.ScheduleActivity("Double", arg))
			if err != nil {
				return nil, err
			}
			sum += v
		}
		return sum, nil
	}
}

// recordInMemory runs orch to its end with the pure engine, completing activities
// (Double) and timers in process, and returns the recorded history.
func recordInMemory(tb testing.TB, orch yield.Orchestration) []duroxide.Event {
	tb.Helper()
	const instance = "mem"
	ex := yield.NewExecution(orch, yield.Options{InstanceID: instance})
	defer ex.Close()
	var h []duroxide.Event
	msgs := []history.Message{{Kind: history.MsgStartOrchestration, Instance: instance, Name: "Loop", Version: "1.0.0"}}
	now := int64(1_700_000_000_000)
	for turn := 0; len(msgs) > 0 && turn < 100_000; turn++ {
		res := ex.Turn(yield.TurnInput{Messages: msgs, NowMs: now})
		h = append(h, res.Delta...)
		if res.Outcome.IsTerminal() {
			return h
		}
		msgs = nil
		for _, a := range res.Activities {
			var n int
			if err := yield.RawValue(a.Input).Decode(&n); err != nil {
				tb.Fatal(err)
			}
			out, _ := yield.ValueOf(2 * n)
			msgs = append(msgs, history.Message{Kind: history.MsgActivityCompleted, Instance: instance, ExecutionID: a.ExecutionID, ID: a.ID, Result: out.Raw()})
		}
		for _, m := range res.Messages {
			if m.Instance == instance && (m.Kind == history.MsgTimerFired || m.Kind == history.MsgContinue) {
				msgs = append(msgs, m)
			}
		}
		now++
	}
	tb.Fatal("the orchestration did not finish")
	return nil
}

// A long history recorded without a store: the divergence search still names the exact step.
func TestReplayLongHistory(t *testing.T) {
	base := runtime.NumGoroutine()
	h := recordInMemory(t, loopOrch(300, 0))
	rep, err := duroxide.Replay(h, loopOrch(300, 0))
	mustClean(t, rep, err)
	if rep.Steps != 300 || string(rep.Output.Raw()) != fmt.Sprint(300*301) {
		t.Fatalf("report %+v", rep)
	}
	for _, step := range []int{1, 2, 150, 299, 300} {
		rep, err := duroxide.Replay(h, loopOrch(300, step))
		d := divergence(t, rep, err, step)
		if string(d.Code.Input) != fmt.Sprint(-step) || string(d.Recorded.Input) != fmt.Sprint(step) {
			t.Fatalf("divergence %+v", d)
		}
	}
	// Fewer iterations: the code completes before the recorded step 201.
	rep, err = duroxide.Replay(h, loopOrch(200, 0))
	d := divergence(t, rep, err, 201)
	if d.Code.Kind != history.OrchestrationCompleted {
		t.Fatalf("divergence %+v", d)
	}
	waitGoroutines(t, base)
}

// BenchmarkReplay measures a clean replay of a 1,000-step history and the search for a
// divergence at its step 900.
func BenchmarkReplay(b *testing.B) {
	h := recordInMemory(b, loopOrch(1000, 0))
	b.Run("clean", func(b *testing.B) {
		for b.Loop() {
			if _, err := duroxide.Replay(h, loopOrch(1000, 0)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("diverge-at-900", func(b *testing.B) {
		for b.Loop() {
			if _, err := duroxide.Replay(h, loopOrch(1000, 900)); err == nil {
				b.Fatal("clean")
			}
		}
	})
}

// Replay checks a code change against a history recorded by the old code.
func ExampleReplay() {
	ctx := context.Background()
	store, err := sqlitestore.InMemory()
	if err != nil {
		panic(err)
	}
	defer store.Close()
	quiet := zerolog.Nop()
	rt, err := duroxide.NewRuntime(store, duroxide.RuntimeOptions{Logger: &quiet})
	if err != nil {
		panic(err)
	}
	_ = rt.RegisterActivity("Reserve", func(*duroxide.ActivityContext, yield.Value) (any, error) { return "reserved", nil })
	_ = rt.RegisterActivity("Charge", func(*duroxide.ActivityContext, yield.Value) (any, error) { return "charged", nil })
	oldFlow := func(ctx *yield.Ctx, in yield.Value) (any, error) {
		if _, err := ctx.Yield(ctx.ScheduleActivity("Reserve", in)); err != nil {
			return nil, err
		}
		return ctx.Yield(ctx.ScheduleActivity("Charge", in))
	}
	_ = rt.RegisterOrchestration("Order", oldFlow)
	if err := rt.Start(ctx); err != nil {
		panic(err)
	}
	defer rt.Shutdown(5 * time.Second)

	client := duroxide.NewClient(store)
	_ = client.StartOrchestration(ctx, "order-1", "Order", "book")
	if _, err := client.WaitForOrchestration(ctx, "order-1", 30*time.Second); err != nil {
		panic(err)
	}
	events, err := client.ReadExecutionHistory(ctx, "order-1", 0)
	if err != nil {
		panic(err)
	}

	rep, err := duroxide.Replay(events, oldFlow)
	fmt.Println("same code:", rep.Clean, err)

	// The new code charges before it reserves.
	newFlow := func(ctx *yield.Ctx, in yield.Value) (any, error) {
		if _, err := ctx.Yield(ctx.ScheduleActivity("Charge", in)); err != nil {
			return nil, err
		}
		return ctx.Yield(ctx.ScheduleActivity("Reserve", in))
	}
	rep, err = duroxide.Replay(events, newFlow)
	fmt.Println("new code:", rep.Clean, errors.Is(err, duroxide.ErrNondeterminism))
	fmt.Println(rep.Divergence.Message)
	// Output:
	// same code: true <nil>
	// new code: false true
	// step 1: orchestration scheduled ActivityScheduled(name="Charge", input="book"), history has ActivityScheduled(name="Reserve", input="book") at event 2
}
