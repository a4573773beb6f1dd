package crashtest

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/sqlitestore"
	"github.com/duroxide-go/duroxide/yield"
)

// TestWorkloadInProcess runs the workload without crashes in this process and checks it
// with the harness's verifier: the expected outputs hold and the histories pass. It then
// checks that the verifier does catch what it looks for, on damaged copies of those
// histories: a completion recorded twice, a completion of nothing, a missing completion,
// a changed output, and code that no longer matches its history.
func TestWorkloadInProcess(t *testing.T) {
	const n = 8
	dir := t.TempDir()
	store, err := sqlitestore.InMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	markersPath := filepath.Join(dir, "markers")
	markers, err := OpenMarkers(markersPath, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = markers.Close() })
	rt, err := duroxide.NewRuntime(store, duroxide.RuntimeOptions{DispatcherPollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := Register(rt, markers, NewJitter(1, time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := rt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			if err := rt.Shutdown(10 * time.Second); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	client := duroxide.NewClient(store)
	for i := range n {
		if err := client.StartOrchestration(ctx, RootID(i), RootOrchestration, RootInput{I: i}); err != nil {
			t.Fatal(err)
		}
		if !RaisedByOrchestration(i) {
			if err := client.RaiseEvent(ctx, RootID(i), EventName, EventData(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitAll(t, ctx, client, rootsAndRaisers(n), time.Minute)
	stop()

	var fig figures
	verify(t, ctx, client, n, markersPath, &fig)
	if t.Failed() {
		return
	}
	// 8 roots: 5 activities each (one in the child), and 2 raisers with one each.
	if fig.orchestrations != 18 || fig.activities != 42 || fig.executions != 42 || fig.reExecuted != 0 || fig.eventsRecorded != 8 {
		t.Errorf("figures %+v, want 18 instances, 42 activities run once each, 8 events", fig)
	}

	// Damaged histories: execution 1 of root 1 (activity, timers, child, event, race).
	good, err := client.ReadExecutionHistory(ctx, RootID(1), 1)
	if err != nil {
		t.Fatal(err)
	}
	problems := func(events []history.Event, fn yield.Orchestration) []string {
		var got []string
		report := func(format string, args ...any) { got = append(got, fmt.Sprintf(format, args...)) }
		if fn == nil {
			checkHistory(RootID(1), 1, events, map[string]bool{}, report)
		} else if err := replay(RootID(1), fn, events); err != nil {
			report("replay: %v", err)
		}
		return got
	}
	if p := problems(good, nil); len(p) != 0 {
		t.Fatalf("undamaged history: %v", p)
	}
	first := func(kind history.EventKind) int {
		i := slices.IndexFunc(good, func(e history.Event) bool { return e.Kind == kind })
		if i < 0 {
			t.Fatalf("no %s in history", kind)
		}
		return i
	}
	// insertBeforeEnd puts e just before the terminal event and renumbers.
	insertBeforeEnd := func(e history.Event) []history.Event {
		h := slices.Clone(good)
		h = slices.Insert(h, len(h)-1, e)
		for i := range h {
			h[i].EventID = uint64(i + 1)
		}
		return h
	}
	completed := good[first(history.ActivityCompleted)]
	orphan := completed
	orphan.SourceEventID = 999
	dropped := slices.Delete(slices.Clone(good), first(history.ActivityCompleted), first(history.ActivityCompleted)+1)
	for i := range dropped {
		dropped[i].EventID = uint64(i + 1)
	}
	changedOutput := slices.Clone(good)
	changedOutput[len(changedOutput)-1].Input = []byte(`{"i":1,"round":1,"acc":0}`)
	// The first step changed: Mul where history has Add.
	changedCode := func(ctx *yield.Ctx, in yield.Value) (any, error) {
		if _, err := ctx.Yield(ctx.ScheduleActivity(MulActivity, [2]int{1, 1})); err != nil {
			return nil, err
		}
		return root(ctx, in)
	}
	cases := []struct {
		name   string
		events []history.Event
		fn     yield.Orchestration
		want   string
	}{
		{"completion twice", insertBeforeEnd(completed), nil, "answered twice"},
		{"completion of nothing", insertBeforeEnd(orphan), nil, "answers event 999"},
		{"completion missing", dropped, nil, "never answered"},
		{"output changed", changedOutput, root, "output"},
		{"code changed", good, changedCode, "nondetermin"},
	}
	for _, c := range cases {
		got := strings.Join(problems(c.events, c.fn), "\n")
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: problems %q, want one containing %q", c.name, got, c.want)
		}
	}
}

// TestParseMarkers: the processes of each key's runs, in order; a torn last line is
// ignored.
func TestParseMarkers(t *testing.T) {
	k1 := MarkerKey("a", 1, 2, AddActivity)
	k2 := MarkerKey("b", 2, 5, MulActivity)
	content := "executed " + k1 + " proc=10-1\nexecuted " + k2 + " proc=10-1\nexecuted " + k1 + " proc=11-2\nexecuted b|2|5|Cra"
	got := ParseMarkers(content)
	want := map[string][]string{k1: {"10-1", "11-2"}, k2: {"10-1"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseMarkers (-want +got):\n%s", diff)
	}
}
