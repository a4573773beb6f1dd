package integration_test

// Helpers of the part-A ports (test_e2e.py and test_races.py). Their names start with
// "a" so they never clash with helpers other parts add to this package.

import (
	"fmt"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

// aRunOrchestration is the Python files' run_orchestration helper: a runtime polling
// every 50 ms, set up by setup, started; instance uid(name) of orchestration name is
// started with input and awaited up to timeout; the runtime is shut down at the end
// (Python: runtime.shutdown(100) in a finally block).
func (s *scenario) aRunOrchestration(name string, input any, setup func(rt *duroxide.Runtime), timeout time.Duration) duroxide.OrchestrationResult {
	s.t.Helper()
	rt := s.runtime(duroxide.RuntimeOptions{DispatcherPollInterval: pollInterval})
	setup(rt)
	s.start(rt)
	defer s.shutdown(rt)
	id := uid(name)
	s.startOrch(id, name, input)
	return s.wait(id, timeout)
}

// aVersioned registers fn as version of the orchestration name on rt, failing the
// test on error (Python: register_orchestration_versioned).
func aVersioned(t *testing.T, rt *duroxide.Runtime, name, version string, fn yield.Orchestration) {
	t.Helper()
	if err := rt.RegisterOrchestrationVersioned(name, version, fn); err != nil {
		t.Fatalf("RegisterOrchestrationVersioned(%q, %q): %v", name, version, err)
	}
}

// aSlot is one slot of a raw All result: {"ok": <value>} or {"err": "<message>"}.
// Ok is a pointer so that {"ok": null} (a timer) is told apart from a missing key.
type aSlot struct {
	Ok  *yield.Value `json:"ok"`
	Err *yield.Value `json:"err"`
}

// okOrErr is the Python r.get("ok", r.get("err")).
func (s aSlot) okOrErr() yield.Value {
	switch {
	case s.Ok != nil:
		return *s.Ok
	case s.Err != nil:
		return *s.Err
	}
	return yield.Value{}
}

// get is the Python r.get("ok"): the ok value, or null when the slot failed.
func (s aSlot) get() yield.Value {
	if s.Ok != nil {
		return *s.Ok
	}
	return yield.Value{}
}

// aAll yields All(tasks...) and decodes its raw result into slots, as the Python
// tests index `results[i]["ok"]`.
func aAll(ctx *yield.Ctx, tasks ...yield.Task) ([]aSlot, error) {
	v, err := ctx.Yield(ctx.All(tasks...))
	if err != nil {
		return nil, err
	}
	var slots []aSlot
	if err := v.Decode(&slots); err != nil {
		return nil, fmt.Errorf("decoding all result %s: %w", v.Raw(), err)
	}
	return slots, nil
}

// aWinner is the raw Race result, {"index": 0|1, "value": <winner's value>}.
type aWinner struct {
	Index int         `json:"index"`
	Value yield.Value `json:"value"`
}

// aRace yields Race(a, b) and decodes its raw result (Python: winner["index"]).
func aRace(ctx *yield.Ctx, a, b yield.Task) (aWinner, error) {
	v, err := ctx.Yield(ctx.Race(a, b))
	if err != nil {
		return aWinner{}, err
	}
	var w aWinner
	if err := v.Decode(&w); err != nil {
		return aWinner{}, fmt.Errorf("decoding race result %s: %w", v.Raw(), err)
	}
	return w, nil
}

// aDecode decodes v into a T inside orchestration or activity code, wrapping the error.
func aDecode[T any](v yield.Value) (T, error) {
	var out T
	if err := v.Decode(&out); err != nil {
		return out, fmt.Errorf("decoding %s: %w", v.Raw(), err)
	}
	return out, nil
}

// aHistoryHas reports whether the current execution of id has recorded an event of
// kind; tests wait on it where the Python test slept until the instance got there.
func (s *scenario) aHistoryHas(id string, kind history.EventKind) bool {
	s.t.Helper()
	execs, err := s.client.ListExecutions(s.ctx, id)
	if err != nil || len(execs) == 0 {
		return false
	}
	events, err := s.client.ReadExecutionHistory(s.ctx, id, execs[len(execs)-1])
	if err != nil {
		return false
	}
	for _, e := range events {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

// aCheck is the Python `assert cond, msg` inside orchestration code: a failed check
// fails the orchestration with msg.
func aCheck(cond bool, msg string) error {
	if !cond {
		return fmt.Errorf("assertion failed: %s", msg)
	}
	return nil
}
