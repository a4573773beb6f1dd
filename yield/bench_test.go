package yield

import (
	"testing"

	"github.com/duroxide-go/duroxide/history"
)

// benchSequence is an orchestration running n activities one after another.
func benchSequence(ctx *Ctx, in Value) (any, error) {
	var n int
	if err := in.Decode(&n); err != nil {
		return nil, err
	}
	sum := 0
	for i := 0; i < n; i++ {
		v, err := Await[int](ctx, ctx.ScheduleActivity("Add", i))
		if err != nil {
			return nil, err
		}
		sum += v
	}
	return sum, nil
}

// buildSequenceHistory runs benchSequence live, turn by turn, and returns the recorded
// history without its terminal event (so replaying it re-runs the whole function).
func buildSequenceHistory(tb testing.TB, activities int) []history.Event {
	tb.Helper()
	ex := NewExecution(benchSequence, Options{InstanceID: "bench", MaxHistoryEvents: 4*activities + 10})
	defer ex.Close()
	var hist []history.Event
	msgs := []history.Message{{Kind: history.MsgStartOrchestration, Instance: "bench", Name: "Seq", Input: raw(activities)}}
	for now := int64(1); ; now++ {
		res := ex.Turn(TurnInput{Messages: msgs, NowMs: now})
		hist = append(hist, res.Delta...)
		if res.Outcome.IsTerminal() {
			if res.Outcome != OutcomeCompleted {
				tb.Fatalf("outcome %v: %v", res.Outcome, res.Error)
			}
			return hist[:len(hist)-1]
		}
		msgs = msgs[:0]
		for _, a := range res.Activities {
			msgs = append(msgs, history.Message{Kind: history.MsgActivityCompleted, Instance: "bench", ExecutionID: 1, ID: a.ID, Result: a.Input})
		}
	}
}

// BenchmarkReplay10kEvents replays a history of 10,001 events (5,000 activities) from
// scratch with a fresh Execution, as a runtime does after an instance cache miss.
func BenchmarkReplay10kEvents(b *testing.B) {
	hist := buildSequenceHistory(b, 5000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ex := NewExecution(benchSequence, Options{InstanceID: "bench", MaxHistoryEvents: 20_010})
		res := ex.Turn(TurnInput{History: hist, NowMs: 1 << 40})
		if res.Outcome != OutcomeCompleted {
			b.Fatalf("outcome %v: %v", res.Outcome, res.Error)
		}
		ex.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(hist)), "ns/event")
}

// BenchmarkIncrementalTurn measures one turn of a cached Execution: deliver one
// activity completion, run the code to its next activity, return the delta. Each
// execution runs 1,000 activities (a history of about 2,000 events), then a new one starts.
func BenchmarkIncrementalTurn(b *testing.B) {
	var ex *Execution
	var res TurnResult
	start := func() {
		if ex != nil {
			ex.Close()
		}
		ex = NewExecution(benchSequence, Options{InstanceID: "bench"})
		res = ex.Turn(TurnInput{Messages: []history.Message{{Kind: history.MsgStartOrchestration, Instance: "bench", Name: "Seq", Input: raw(1000)}}, NowMs: 1})
	}
	start()
	defer func() { ex.Close() }()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if res.Outcome.IsTerminal() {
			start()
		}
		a := res.Activities[0]
		res = ex.Turn(TurnInput{Messages: []history.Message{{Kind: history.MsgActivityCompleted, Instance: "bench", ExecutionID: 1, ID: a.ID, Result: a.Input}}, NowMs: 2})
	}
}

func TestSequenceHistoryReplays(t *testing.T) {
	hist := buildSequenceHistory(t, 200)
	if len(hist) != 401 {
		t.Fatalf("history has %d events, want 401", len(hist))
	}
	ex := NewExecution(benchSequence, Options{InstanceID: "bench"})
	defer ex.Close()
	res := ex.Turn(TurnInput{History: hist, NowMs: 99})
	mustOutput(t, res, "19900")
	if got := kinds(res.Delta); got != "402:OrchestrationCompleted" {
		t.Fatalf("delta %s", got)
	}
}
