package integration_test

import (
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

// Helpers of the part-C ports (sessions, tags, typed APIs, tracing set-up, copilot chat,
// toygres). Their names start with c so they never clash with the other parts' helpers.

// cSessionOrNil is the Python ctx.session_id: the session id, or nil (JSON null) when the
// activity was not scheduled on a session.
func cSessionOrNil(ctx *duroxide.ActivityContext) any {
	if sid, ok := ctx.SessionID(); ok {
		return sid
	}
	return nil
}

// cOkOrErr is the Python comprehension [r.get("ok", r.get("err")) for r in results] over the
// result of ctx.All.
func cOkOrErr(v yield.Value) ([]any, error) {
	var results []map[string]any
	if err := v.Decode(&results); err != nil {
		return nil, err
	}
	out := make([]any, 0, len(results))
	for _, r := range results {
		if ok, found := r["ok"]; found {
			out = append(out, ok)
		} else {
			out = append(out, r["err"])
		}
	}
	return out, nil
}

// cRunOrchestration is the Python helper run_orchestration: a runtime with opts
// (50 ms polling when unset), setup registering the code, one instance uid(name) of
// orchestration name, waited for up to timeout.
func cRunOrchestration(s *scenario, name string, input any, setup func(rt *duroxide.Runtime), timeout time.Duration, opts duroxide.RuntimeOptions) duroxide.OrchestrationResult {
	s.t.Helper()
	rt := s.runtime(opts)
	setup(rt)
	s.start(rt)
	defer s.shutdown(rt)
	id := uid(name)
	s.startOrch(id, name, input)
	return s.wait(id, timeout)
}

// cTagOrNil is the Python ctx.tag(): the activity's tag, or nil when it has none.
func cTagOrNil(ctx *duroxide.ActivityContext) any {
	if tag, ok := ctx.Tag(); ok {
		return tag
	}
	return nil
}

// cFilter unwraps a TagFilter constructor's result, failing the test on error:
// cFilter(t)(duroxide.TagsOnly("gpu")).
func cFilter(t *testing.T) func(duroxide.TagFilter, error) duroxide.TagFilter {
	return func(f duroxide.TagFilter, err error) duroxide.TagFilter {
		t.Helper()
		if err != nil {
			t.Fatalf("tag filter: %v", err)
		}
		return f
	}
}

// cRaceIndex is result["index"] of a Race output {"index": i, "value": v}; -1 when absent.
func cRaceIndex(result yield.Value) int {
	i := -1
	if err := result.Field("index").Decode(&i); err != nil {
		return -1
	}
	return i
}
