package yield_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

// FuzzReplay feeds the replay engine histories recorded by running a small
// orchestration, then mutated by the fuzzer: events dropped, duplicated, swapped, their
// kinds, ids or payloads altered, the history cut short. Whatever the history, a turn
// must end, without a panic, in a sensible outcome; an unmutated history must replay to
// the recorded output; and a failure caused by the history must be a configuration
// failure (nondeterminism or corrupt history) with a message, never a system failure of
// another kind.

// fuzzOrchestration uses every kind of step: activities (alone and in All), a timer, an
// event, a race, a child, system calls, custom status and KV.
func fuzzOrchestration(ctx *yield.Ctx, in yield.Value) (any, error) {
	a, err := yield.Await[int](ctx, ctx.ScheduleActivity("A", 1))
	if err != nil {
		return nil, err
	}
	ctx.SetCustomStatus("after A")
	ctx.SetKVValue("a", fmt.Sprint(a))
	if _, err := ctx.Yield(ctx.ScheduleTimer(time.Second)); err != nil {
		return nil, err
	}
	ev, err := ctx.Yield(ctx.WaitForEvent("go"))
	if err != nil {
		return nil, err
	}
	rs, err := yield.AwaitAll(ctx, ctx.ScheduleActivity("B", 2), ctx.ScheduleActivity("B", 3))
	if err != nil {
		return nil, err
	}
	idx, _, err := yield.AwaitRace(ctx, ctx.WaitForEvent("never"), ctx.ScheduleTimer(2*time.Second))
	if err != nil {
		return nil, err
	}
	child, err := ctx.Yield(ctx.ScheduleSubOrchestration("Child", a))
	if err != nil {
		return nil, err
	}
	guid, err := ctx.Yield(ctx.NewGUID())
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"a": a, "ev": ev, "b0": rs[0].Value, "b1": rs[1].Value, "race": idx, "child": child, "guid_len": len(guid.String()),
	}, nil
}

// recordHistory runs fuzzOrchestration to completion, answering every activity, timer
// and child at once, and returns its history.
func recordHistory(tb testing.TB) ([]history.Event, yield.Value) {
	tb.Helper()
	ex := yield.NewExecution(fuzzOrchestration, yield.Options{InstanceID: "i", NewGUID: func() string { return "00000000-0000-4000-8000-000000000001" }})
	defer ex.Close()
	var hist []history.Event
	now := int64(1_000_000)
	msgs := []history.Message{startMsg(), {Kind: history.MsgExternalRaised, Instance: "i", Name: "go", Data: []byte(`"went"`)}}
	for turn := 0; turn < 50; turn++ {
		now += 1000
		res := ex.Turn(yield.TurnInput{Messages: msgs, NowMs: now})
		hist = append(hist, res.Delta...)
		if res.Outcome.IsTerminal() {
			if res.Outcome != yield.OutcomeCompleted {
				tb.Fatalf("recording: outcome %v: %v", res.Outcome, res.Error)
			}
			return hist, res.Output
		}
		msgs = nil
		for _, a := range res.Activities {
			var n int
			_ = json.Unmarshal(a.Input, &n)
			msgs = append(msgs, history.Message{Kind: history.MsgActivityCompleted, Instance: "i", ExecutionID: a.ExecutionID, ID: a.ID, Result: []byte(fmt.Sprint(n * 10))})
		}
		for _, m := range res.Messages {
			switch m.Kind {
			case history.MsgTimerFired:
				msgs = append(msgs, m)
			case history.MsgStartOrchestration:
				msgs = append(msgs, history.Message{Kind: history.MsgSubOrchCompleted, Instance: "i", ExecutionID: m.ParentExecutionID, ID: m.ParentEventID, Result: []byte(`"child done"`)})
			}
		}
	}
	tb.Fatal("recording: the orchestration did not finish in 50 turns")
	return nil, yield.Value{}
}

var fuzzKinds = []history.EventKind{
	history.OrchestrationStarted, history.ActivityScheduled, history.ActivityCompleted, history.ActivityFailed,
	history.TimerCreated, history.TimerFired, history.ExternalSubscribed, history.ExternalEvent,
	history.SubOrchestrationScheduled, history.SubOrchestrationCompleted, history.SystemCall,
	history.CustomStatusUpdated, history.KeyValueSet, history.OrchestrationCompleted, history.OrchestrationFailed,
	history.ActivityCancelRequested, history.ExternalSubscribedCancelled,
}

// mutate applies the mutations the fuzzer's bytes describe, two bytes each.
func mutate(events []history.Event, ops []byte) []history.Event {
	out := make([]history.Event, len(events))
	copy(out, events)
	for i := 0; i+1 < len(ops) && len(out) > 0; i += 2 {
		at := int(ops[i+1]) % len(out)
		switch ops[i] % 9 {
		case 0: // drop
			out = append(out[:at:at], out[at+1:]...)
		case 1: // duplicate
			out = append(out[:at+1:at+1], out[at:]...)
		case 2: // swap with the next
			if at+1 < len(out) {
				out[at], out[at+1] = out[at+1], out[at]
			}
		case 3: // change the kind
			out[at].Kind = fuzzKinds[int(ops[i+1])%len(fuzzKinds)]
		case 4: // point a completion elsewhere
			out[at].SourceEventID += uint64(ops[i+1]%5) + 1
		case 5: // renumber
			out[at].EventID = uint64(ops[i+1] % 40)
		case 6: // garble a payload
			out[at].Result = []byte(`{"broken":`)
			out[at].Data = []byte(`[1,2`)
			out[at].Input = []byte(`"x"`)
		case 7: // cut short
			out = out[:at]
		case 8: // another execution, name or instance
			out[at].ExecutionID += 1
			out[at].Name += "?"
		}
	}
	return out
}

// runTurn replays events in one turn of a fresh execution, failing the test if it hangs.
func runTurn(t *testing.T, events []history.Event) yield.TurnResult {
	t.Helper()
	done := make(chan yield.TurnResult, 1)
	ex := yield.NewExecution(fuzzOrchestration, yield.Options{InstanceID: "i", StuckTimeout: 10 * time.Second, AbandonGrace: time.Second,
		NewGUID: func() string { return "00000000-0000-4000-8000-000000000002" }})
	go func() {
		res := ex.Turn(yield.TurnInput{History: events, NowMs: 9_000_000})
		ex.Close()
		done <- res
	}()
	select {
	case res := <-done:
		return res
	case <-time.After(30 * time.Second):
		t.Fatalf("replay hung on a history of %d events", len(events))
		return yield.TurnResult{}
	}
}

func FuzzReplay(f *testing.F) {
	for _, seed := range [][]byte{
		nil,                      // the recorded history as is
		{0, 3},                   // drop an event
		{1, 5},                   // duplicate one
		{2, 4},                   // swap two
		{3, 7, 3, 12},            // change kinds
		{4, 6},                   // misdirect a completion
		{5, 9},                   // renumber
		{6, 2},                   // garble payloads
		{7, 10},                  // cut short
		{8, 1},                   // another execution
		{0, 0},                   // drop OrchestrationStarted
		{1, 0, 2, 0},             // two starts, swapped
		{0, 1, 0, 1, 0, 1, 1, 3}, // several
	} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	recorded, output := recordHistory(f)
	f.Fuzz(func(t *testing.T, ops []byte, dropTerminal bool) {
		events := recorded
		if dropTerminal {
			events = events[:len(events)-1] // the code must finish the execution itself
		}
		mutated := mutate(events, ops)
		res := runTurn(t, mutated)
		if len(ops) < 2 {
			// Unmutated: the code replays to the recorded result.
			if dropTerminal && (res.Outcome != yield.OutcomeCompleted || !res.Output.Equal(output)) {
				t.Fatalf("unmutated history: outcome %v output %s error %v, want completed with %s", res.Outcome, res.Output.Raw(), res.Error, output.Raw())
			}
			if !dropTerminal && (res.Outcome != yield.OutcomeContinue || len(res.Delta) != 0) {
				t.Fatalf("finished history: outcome %v with %d new events, want nothing to do", res.Outcome, len(res.Delta))
			}
			return
		}
		switch res.Outcome {
		case yield.OutcomeContinue, yield.OutcomeCompleted, yield.OutcomeContinuedAsNew, yield.OutcomeCancelled:
		case yield.OutcomeFailed:
			if res.Error == nil || res.Error.DisplayMessage() == "" {
				t.Fatalf("failed without a message: %+v", res.Error)
			}
			switch res.Error.Category {
			case history.CategoryConfiguration, history.CategoryApplication:
			default:
				// A mutated completion may carry a recorded system failure (an
				// ActivityFailed turned from another kind keeps its error): allowed only
				// when the history holds one.
				if !historyHasSystemError(mutated) {
					t.Fatalf("failed with category %s: %s", res.Error.Category, res.Error.DisplayMessage())
				}
			}
			if res.Error.Category == history.CategoryConfiguration && !strings.Contains(res.Error.DisplayMessage(), ":") {
				t.Fatalf("unclear message: %q", res.Error.DisplayMessage())
			}
		default:
			t.Fatalf("outcome %v", res.Outcome)
		}
	})
}

func historyHasSystemError(events []history.Event) bool {
	for _, e := range events {
		if e.Error != nil && e.Error.IsSystem() {
			return true
		}
	}
	return false
}
