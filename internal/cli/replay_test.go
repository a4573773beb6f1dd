package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/yield"
)

// withOrchestrations registers orchestration code for replay for one test.
func withOrchestrations(t *testing.T, m map[string]yield.Orchestration) {
	t.Helper()
	orchMu.Lock()
	saved := orchs
	orchs = map[string]yield.Orchestration{}
	orchMu.Unlock()
	RegisterOrchestrations(m)
	t.Cleanup(func() {
		orchMu.Lock()
		orchs = saved
		orchMu.Unlock()
	})
}

func TestReplay(t *testing.T) {
	greet := func(ctx *yield.Ctx, in yield.Value) (any, error) {
		return ctx.Yield(ctx.ScheduleActivity("Hello", in))
	}
	// A changed Greet: a timer before the activity, as a careless edit would add.
	changed := func(ctx *yield.Ctx, in yield.Value) (any, error) {
		if _, err := ctx.Yield(ctx.ScheduleTimer(time.Second)); err != nil {
			return nil, err
		}
		return ctx.Yield(ctx.ScheduleActivity("Hello", in))
	}
	approval := func(ctx *yield.Ctx, _ yield.Value) (any, error) {
		ctx.SetCustomStatus("waiting")
		ctx.SetKVValue("owner", "ops")
		ctx.SetKVValue("stage", "waiting")
		return ctx.Yield(ctx.WaitForEvent("approve"))
	}
	eachStore(t, func(t *testing.T, fx *fixture) {
		// The stock binary has no code: replay explains and exits 2, before any store read.
		withOrchestrations(t, nil)
		r := fx.fails(ExitUsage, "no orchestration code to replay", "replay", "whatever")
		if !strings.Contains(r.stderr, "duroxidecli.Main") {
			t.Errorf("the explanation does not say how to build a binary: %s", r)
		}

		fx.ok("start", "Greet", "-id", "g1", "-input", `"replay"`)
		fx.waitDone("g1")
		fx.ok("start", "Approval", "-id", "a1")
		waitCustomStatus(t, fx, "a1")

		withOrchestrations(t, map[string]yield.Orchestration{"Greet": greet, "Approval": approval})
		out := fx.ok("replay", "g1")
		for _, want := range []string{"instance    g1", "execution   1 (Greet 1.0.0, finished)", "steps       1 replayed", "result      clean"} {
			if !strings.Contains(out, want) {
				t.Errorf("clean replay lacks %q:\n%s", want, out)
			}
		}
		var j replayJSON
		fx.okJSON(&j, "replay", "g1", "-json", "-execution", "1")
		if !j.Clean || !j.Finished || j.Steps != 1 || j.Divergence != nil || j.Name != "Greet" || j.NewSteps == nil {
			t.Errorf("clean replay -json: %+v", j)
		}
		// A running instance replays cleanly with the same code.
		if out := fx.ok("replay", "a1"); !strings.Contains(out, "(Approval 1.0.0, running)") || !strings.Contains(out, "result      clean") {
			t.Errorf("running instance replay:\n%s", out)
		}

		// The changed code is caught: exit 1, the step on stdout and stderr.
		withOrchestrations(t, map[string]yield.Orchestration{"Greet": changed})
		r = fx.fails(ExitFailed, "nondeterministic: step 1", "replay", "g1")
		if !strings.Contains(r.stdout, "result      NONDETERMINISTIC") || !strings.Contains(r.stdout, "divergence  step 1") ||
			!strings.Contains(r.stdout, "TimerCreated") || !strings.Contains(r.stdout, "ActivityScheduled") {
			t.Errorf("nondeterministic replay report:\n%s", r)
		}
		r = fx.cli("replay", "g1", "-json")
		if r.code != ExitFailed || json.Unmarshal([]byte(r.stdout), &j) != nil || j.Clean || j.Divergence == nil || j.Divergence.Step != 1 ||
			j.Divergence.Code == nil || j.Divergence.Recorded == nil {
			t.Errorf("nondeterministic replay -json: %s", r)
		}
		// A versioned key wins over the bare name.
		withOrchestrations(t, map[string]yield.Orchestration{"Greet": changed, "Greet@1.0.0": greet})
		fx.ok("replay", "g1")

		// Not found: the instance, or the execution (exit 3); code missing (exit 2).
		fx.fails(ExitNotFound, `no instance "nobody"`, "replay", "nobody")
		fx.fails(ExitNotFound, "no recorded execution 9", "replay", "g1", "-execution", "9")
		fx.fails(ExitUsage, "no code for orchestration Approval 1.0.0 in this binary (it has Greet, Greet@1.0.0)", "replay", "a1")
		fx.fails(ExitUsage, "needs ID", "replay")
	})
}

// waitCustomStatus waits until the instance's first turn is recorded (it sets a custom
// status).
func waitCustomStatus(t *testing.T, fx *fixture, id string) {
	t.Helper()
	if _, err := fx.client.WaitForStatusChange(fx.ctx, id, 0, 20*time.Millisecond, time.Minute); err != nil {
		t.Fatalf("wait for the first turn of %s: %v", id, err)
	}
}
