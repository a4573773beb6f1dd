package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

// verify checks the store after the last run: every instance the workload makes exists,
// once, and completed with the expected output; every execution history is well formed,
// records each completion once and replays cleanly; every scheduled activity ran at
// least once. It fills fig with the counts.
func verify(t *testing.T, ctx context.Context, client *duroxide.Client, n int, markersPath string, fig *figures) {
	t.Helper()
	all, err := client.ListAllInstances(ctx)
	if err != nil {
		t.Fatalf("list instances: %v", err)
	}
	want := make(map[string]bool)
	for i := range n {
		want[RootID(i)] = true
		if RaisedByOrchestration(i) {
			want[RaiserID(i)] = true
		}
	}
	children := make(map[string]bool)
	for _, id := range all {
		switch {
		case want[id]:
			delete(want, id)
		case strings.Contains(id, "::sub::"):
			children[id] = true
		default:
			t.Errorf("unexpected instance %q in the store", id)
		}
	}
	for id := range want {
		t.Errorf("instance %s missing from the store", id)
	}
	fig.orchestrations = len(all)

	scheduled := make(map[string]bool) // MarkerKey of every ActivityScheduled
	var problems []string
	report := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	for i := range n {
		id := RootID(i)
		hs := executions(t, ctx, client, id, 2)
		if hs == nil {
			continue
		}
		checkResult(t, ctx, client, id, RootOutput{I: i, Total: 12*i + 206})
		for x, events := range hs {
			checkHistory(id, uint64(x+1), events, scheduled, report)
			fig.eventsRecorded += countEvents(events)
		}
		// The child the first execution scheduled, and nothing else, is i's child.
		var childID string
		for _, e := range hs[0] {
			if e.Kind == history.SubOrchestrationScheduled {
				if childID != "" {
					report("%s: two children scheduled (%s, %s)", id, childID, e.Instance)
				}
				childID = e.Instance
			}
		}
		if !children[childID] {
			report("%s: child %q scheduled in history is not in the store (or is shared)", id, childID)
			continue
		}
		delete(children, childID)
		if ch := executions(t, ctx, client, childID, 1); ch != nil {
			checkResult(t, ctx, client, childID, 2*i+200)
			checkHistory(childID, 1, ch[0], scheduled, report)
			if got := ch[0][0].ParentInstance; got != id {
				report("%s: parent %q, want %s", childID, got, id)
			}
		}
		if RaisedByOrchestration(i) {
			if rh := executions(t, ctx, client, RaiserID(i), 1); rh != nil {
				checkResult(t, ctx, client, RaiserID(i), i)
				checkHistory(RaiserID(i), 1, rh[0], scheduled, report)
			}
		}
	}
	for id := range children {
		report("child %s belongs to no root", id)
	}

	// Markers: every activity run belongs to a recorded scheduling, and every recorded
	// scheduling ran at least once.
	content, err := os.ReadFile(markersPath)
	if err != nil {
		t.Fatalf("read markers: %v", err)
	}
	runs := ParseMarkers(string(content))
	for key, procs := range runs {
		count := len(procs)
		if !scheduled[key] {
			report("activity %s ran %d times but no history schedules it", key, count)
		}
		fig.executions += count
		fig.reExecuted += count - 1
		fig.maxExecutions = max(fig.maxExecutions, count)
		slices.Sort(procs)
		fig.reExecutedSameProcess += count - len(slices.Compact(procs))
	}
	for key := range scheduled {
		if len(runs[key]) == 0 {
			report("activity %s completed in history but never ran", key)
		}
	}
	fig.activities = len(scheduled)

	// Nothing left for workers: every scheduled activity completed and was removed.
	depths, err := client.GetQueueDepths(ctx)
	if err != nil {
		t.Fatalf("queue depths: %v", err)
	}
	fig.depths = depths
	if depths.WorkerQueue != 0 {
		report("worker queue holds %d activities after every instance completed", depths.WorkerQueue)
	}

	slices.Sort(problems)
	for i, p := range problems {
		if i == 50 {
			t.Errorf("... and %d more problems", len(problems)-50)
			break
		}
		t.Error(p)
	}
}

// executions reads the histories of the executions of id, which must be 1..want.
func executions(t *testing.T, ctx context.Context, client *duroxide.Client, id string, want int) [][]history.Event {
	t.Helper()
	ids, err := client.ListExecutions(ctx, id)
	if err != nil {
		t.Errorf("%s: list executions: %v", id, err)
		return nil
	}
	if len(ids) != want {
		t.Errorf("%s: executions %v, want 1..%d", id, ids, want)
		return nil
	}
	var hs [][]history.Event
	for x, e := range ids {
		if e != uint64(x+1) {
			t.Errorf("%s: executions %v, want 1..%d", id, ids, want)
			return nil
		}
		events, err := client.ReadExecutionHistory(ctx, id, e)
		if err != nil {
			t.Errorf("%s: read execution %d: %v", id, e, err)
			return nil
		}
		if len(events) == 0 {
			t.Errorf("%s: execution %d has no history", id, e)
			return nil
		}
		hs = append(hs, events)
	}
	return hs
}

// checkResult checks that id completed with output want.
func checkResult(t *testing.T, ctx context.Context, client *duroxide.Client, id string, want any) {
	t.Helper()
	res, err := client.GetStatus(ctx, id)
	if err != nil {
		t.Errorf("%s: status: %v", id, err)
		return
	}
	if res.Status != duroxide.StatusCompleted {
		t.Errorf("%s: status %s (%s: %s), want Completed", id, res.Status, res.ErrorKind, res.Error)
		return
	}
	wantJSON, _ := json.Marshal(want)
	if !jsonEqual(res.Output.Raw(), wantJSON) {
		t.Errorf("%s: output %s, want %s", id, res.Output, wantJSON)
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ax, _ := json.Marshal(x)
	by, _ := json.Marshal(y)
	return bytes.Equal(ax, by)
}

// countEvents counts the EventName events an execution received: recorded arrivals and
// arrivals carried into it.
func countEvents(events []history.Event) int {
	n := 0
	for _, e := range events {
		if e.Kind == history.ExternalEvent && e.Name == EventName {
			n++
		}
	}
	return n
}

// checkHistory checks one execution's history: ids 1..n, OrchestrationStarted first,
// exactly one terminal event, last; every completion answers a scheduling event of its
// kind, and no scheduling event is answered twice; every activity, child and short timer
// is answered (only the long timer that loses the race is not); the code replays cleanly.
// It adds the MarkerKey of every scheduled activity to scheduled.
func checkHistory(id string, execution uint64, events []history.Event, scheduled map[string]bool, report func(string, ...any)) {
	where := fmt.Sprintf("%s execution %d", id, execution)
	for x, e := range events {
		if e.EventID != uint64(x+1) {
			report("%s: event %d has id %d", where, x+1, e.EventID)
			return
		}
	}
	if events[0].Kind != history.OrchestrationStarted {
		report("%s: first event is %s", where, events[0].Kind)
		return
	}
	for x, e := range events {
		if e.Kind.IsTerminal() && x != len(events)-1 {
			report("%s: terminal event %s at %d of %d", where, e.Kind, e.EventID, len(events))
		}
	}
	last := events[len(events)-1]
	if !last.Kind.IsTerminal() {
		report("%s: history ends with %s, not a terminal event", where, last.Kind)
		return
	}

	answers := map[history.EventKind][]history.EventKind{
		history.ActivityScheduled:         {history.ActivityCompleted, history.ActivityFailed},
		history.TimerCreated:              {history.TimerFired},
		history.SubOrchestrationScheduled: {history.SubOrchestrationCompleted, history.SubOrchestrationFailed},
	}
	byID := make(map[uint64]history.Event)
	completions := make(map[uint64]int)
	for _, e := range events {
		byID[e.EventID] = e
		if e.Kind == history.ActivityScheduled {
			scheduled[MarkerKey(id, execution, e.EventID, e.Name)] = true
		}
		if !e.Kind.IsCompletion() {
			continue
		}
		src, ok := byID[e.SourceEventID]
		if !ok || !slices.Contains(answers[src.Kind], e.Kind) {
			report("%s: %s (event %d) answers event %d (%s)", where, e.Kind, e.EventID, e.SourceEventID, src.Kind)
			continue
		}
		completions[e.SourceEventID]++
		if completions[e.SourceEventID] == 2 {
			report("%s: %s %d (%s) answered twice, again by event %d", where, src.Kind, src.EventID, src.Name, e.EventID)
		}
		if e.Kind == history.ActivityFailed || e.Kind == history.SubOrchestrationFailed {
			report("%s: %s %d failed: %v", where, src.Kind, src.EventID, e.Error)
		}
	}
	for _, e := range events {
		if _, ok := answers[e.Kind]; !ok || completions[e.EventID] > 0 {
			continue
		}
		if e.Kind == history.TimerCreated && e.FireAtMs-e.TimestampMs >= LongTimer.Milliseconds() {
			continue // the race's loser
		}
		report("%s: %s %d (%s) never answered", where, e.Kind, e.EventID, e.Name)
	}

	name := events[0].Name
	fn := Orchestrations()[name]
	if fn == nil {
		report("%s: unknown orchestration %q", where, name)
		return
	}
	if err := replay(id, fn, events); err != nil {
		report("%s: replay: %v", where, err)
	}
	// The same with the library's replay checker.
	rep, err := duroxide.Replay(events, fn)
	switch {
	case err != nil:
		report("%s: duroxide.Replay: %v", where, err)
	case !rep.Clean || !rep.Finished || rep.Steps == 0:
		report("%s: duroxide.Replay: clean %v, finished %v, %d steps", where, rep.Clean, rep.Finished, rep.Steps)
	}
}

// replay runs fn over the history of one finished execution with the pure engine, as a
// runtime does after a crash with nothing cached: everything before the terminal event
// as persisted history, no new messages. The code must re-make every recorded decision
// (no nondeterminism) and end the execution the same way, with the same output.
func replay(id string, fn yield.Orchestration, events []history.Event) error {
	last := events[len(events)-1]
	ex := yield.NewExecution(fn, yield.Options{InstanceID: id})
	defer ex.Close()
	res := ex.Turn(yield.TurnInput{History: events[:len(events)-1], NowMs: last.TimestampMs})
	if res.Error != nil {
		return fmt.Errorf("%s (%s): %w", res.Outcome, res.Error.Category, res.Error)
	}
	var want yield.Outcome
	var wantOut []byte
	switch last.Kind {
	case history.OrchestrationCompleted:
		want, wantOut = yield.OutcomeCompleted, last.Output
	case history.OrchestrationContinuedAsNew:
		want, wantOut = yield.OutcomeContinuedAsNew, last.Input
	default:
		return fmt.Errorf("execution ended with %s", last.Kind)
	}
	if res.Outcome != want {
		return fmt.Errorf("outcome %s, history has %s", res.Outcome, last.Kind)
	}
	if !bytes.Equal(res.Output.Raw(), wantOut) {
		return fmt.Errorf("output %s, history has %s", res.Output, wantOut)
	}
	if len(res.Delta) != 1 || res.Delta[0].Kind != last.Kind {
		var kinds []string
		for _, e := range res.Delta {
			kinds = append(kinds, e.Describe())
		}
		return fmt.Errorf("replay recorded %v, want only the terminal %s", kinds, last.Kind)
	}
	return nil
}
