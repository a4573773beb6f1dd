package integration_test

// Helpers of the part-B ports (admin API, advanced features, async blocks, KV store).
// Their names start with "b" so they never clash with helpers other parts add to this
// package.

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

// bRun is the Python files' run_to_completion / run_orchestration helper: it starts
// rt, starts instance id of orchestration name with input, waits up to timeout for it
// and shuts rt down (Python: runtime.shutdown(100) in a finally block).
func (s *scenario) bRun(rt *duroxide.Runtime, id, name string, input any, timeout time.Duration) duroxide.OrchestrationResult {
	s.t.Helper()
	s.start(rt)
	defer s.shutdown(rt)
	s.startOrch(id, name, input)
	return s.wait(id, timeout)
}

// bRunOrchestration is the Python run_orchestration helper of test_advanced_features.py
// and test_async_blocks.py: a fresh runtime set up by setup runs orchestration name as
// instance uid(instanceName) and the result is returned once it finishes or timeout
// passes.
func (s *scenario) bRunOrchestration(name string, input any, setup func(rt *duroxide.Runtime), timeout time.Duration, instanceName string) duroxide.OrchestrationResult {
	s.t.Helper()
	return s.bRunOrchestrationThen(name, input, setup, timeout, instanceName, nil)
}

// bRunOrchestrationThen is bRunOrchestration that also runs then(id), when not nil,
// after the instance finished and before the runtime shuts down, for checks that need
// the runtime still running (such as the cancellation of a race's losers).
func (s *scenario) bRunOrchestrationThen(name string, input any, setup func(rt *duroxide.Runtime), timeout time.Duration, instanceName string, then func(id string)) duroxide.OrchestrationResult {
	s.t.Helper()
	rt := s.runtime(duroxide.RuntimeOptions{})
	setup(rt)
	id := uid(instanceName)
	s.start(rt)
	defer s.shutdown(rt)
	s.startOrch(id, name, input)
	res := s.wait(id, timeout)
	if then != nil {
		then(id)
	}
	return res
}

// bVersioned registers fn as version of the orchestration name on rt, failing the
// test on error.
func bVersioned(t *testing.T, rt *duroxide.Runtime, name, version string, fn yield.Orchestration) {
	t.Helper()
	if err := rt.RegisterOrchestrationVersioned(name, version, fn); err != nil {
		t.Fatalf("RegisterOrchestrationVersioned(%q, %q): %v", name, version, err)
	}
}

// bRaceResult is the raw Race result, {"index": 0|1, "value": <winner's value>}, which
// the Python tests index as winner["index"] and winner["value"].
type bRaceResult struct {
	Index int         `json:"index"`
	Value yield.Value `json:"value"`
}

// bRace yields Race(a, b) and decodes its raw result.
func bRace(ctx *yield.Ctx, a, b yield.Task) (bRaceResult, error) {
	v, err := ctx.Yield(ctx.Race(a, b))
	if err != nil {
		return bRaceResult{}, err
	}
	var r bRaceResult
	if err := v.Decode(&r); err != nil {
		return bRaceResult{}, fmt.Errorf("decoding race result %s: %w", v.Raw(), err)
	}
	return r, nil
}

// bAllOK yields All(tasks...) and returns each slot's "ok" value as text, which is the
// Python `[r["ok"] for r in results]` over string results; a slot that failed fails the
// orchestration as the Python KeyError would.
func bAllOK(ctx *yield.Ctx, tasks ...yield.Task) ([]string, error) {
	v, err := ctx.Yield(ctx.All(tasks...))
	if err != nil {
		return nil, err
	}
	var slots []map[string]yield.Value
	if err := v.Decode(&slots); err != nil {
		return nil, fmt.Errorf("decoding all result %s: %w", v.Raw(), err)
	}
	out := make([]string, len(slots))
	for i, slot := range slots {
		ok, found := slot["ok"]
		if !found {
			return nil, fmt.Errorf("all slot %d has no ok value: %s", i, bJSONText(slot))
		}
		out[i] = ok.String()
	}
	return out, nil
}

// bJSONText renders v as JSON for error messages.
func bJSONText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}

// bJSONEqual fails the test unless got and want hold the same JSON value (object key
// order and spacing aside): the Python `result.output == {...}` on dicts.
func bJSONEqual(t *testing.T, what string, got yield.Value, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got.Raw(), &g); err != nil {
		t.Fatalf("%s: decoding %s: %v", what, got.Raw(), err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: decoding want %s: %v", what, want, err)
	}
	if d := cmp.Diff(w, g); d != "" {
		t.Fatalf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// bHistoryHas reports whether the current execution of id has recorded an event of
// kind: the condition the Go ports wait on where the Python tests sleep.
func (s *scenario) bHistoryHas(id string, kind history.EventKind) bool {
	events, err := s.client.ReadExecutionHistory(s.ctx, id, 0)
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

// bKV reads key of instance id through the client, failing the test on error; a
// missing key gives "" and false (Python: None).
func (s *scenario) bKV(id, key string) (string, bool) {
	s.t.Helper()
	v, ok, err := s.client.GetKVValue(s.ctx, id, key)
	if err != nil {
		s.t.Fatalf("GetKVValue(%q, %q): %v", id, key, err)
	}
	return v, ok
}
