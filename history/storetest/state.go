package storetest

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/duroxide-go/duroxide/history"
)

func testCustomStatus(e *env) {
	e.create("a")
	check := func(what string, want *string, version uint64) {
		e.t.Helper()
		st := e.state("a")
		if (st.CustomStatus == nil) != (want == nil) || (want != nil && *st.CustomStatus != *want) || st.CustomStatusVersion != version {
			got := "<nil>"
			if st.CustomStatus != nil {
				got = *st.CustomStatus
			}
			e.t.Errorf("%s: custom status %q version %d, want %v version %d", what, got, st.CustomStatusVersion, want, version)
		}
	}
	check("new instance", nil, 0)
	e.turn("a", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1), customEv(2, strp("one")), customEv(3, strp("two"))},
		Status: history.StatusRunning})
	check("two updates in one commit", strp("two"), 1)

	e.send(raised("a", "ev", `1`))
	l := e.fetch("a")
	if l.State.CustomStatus == nil || *l.State.CustomStatus != "two" || l.State.CustomStatusVersion != 1 {
		e.t.Errorf("lease State custom status = %v version %d, want two version 1", l.State.CustomStatus, l.State.CustomStatusVersion)
	}
	e.commit(l, history.Commit{ExecutionID: 1, Delta: []history.Event{customEv(4, nil)}, Status: history.StatusRunning})
	check("reset", nil, 2)

	e.send(raised("a", "ev", `2`))
	e.turn("a", history.Commit{ExecutionID: 1, Delta: []history.Event{activityEv(5, "A")}, Status: history.StatusRunning})
	check("a commit without custom status events", nil, 2)

	e.send(raised("a", "ev", `3`))
	e.turn("a", history.Commit{ExecutionID: 1, Delta: []history.Event{customEv(6, strp("")), ev(7, history.OrchestrationContinuedAsNew)},
		Status: history.StatusContinuedAsNew, Messages: []history.Message{{Kind: history.MsgContinueAsNew, Instance: "a", ExecutionID: 1, Name: "Orch"}}})
	check("empty status, then continue-as-new", strp(""), 3)
	e.turn("a", history.Commit{ExecutionID: 2, Delta: []history.Event{startedEv(1)}, Status: history.StatusRunning})
	check("the next execution", strp(""), 3)
}

func testKV(e *env) {
	e.create("a")
	get := func(key string) (string, bool) {
		e.t.Helper()
		v, ok, err := e.s.GetKV(e.ctx, "a", key)
		if err != nil {
			e.t.Fatalf("GetKV(%q): %v", key, err)
		}
		return v, ok
	}
	all := func() map[string]string {
		e.t.Helper()
		m, err := e.s.GetAllKV(e.ctx, "a")
		if err != nil {
			e.t.Fatalf("GetAllKV: %v", err)
		}
		return m
	}
	set1 := kvSet(2, "k1", "v1")
	set1.TimestampMs = 5000
	big := strings.Repeat("x", 64<<10)
	e.turn("a", history.Commit{ExecutionID: 1, Status: history.StatusRunning, Delta: []history.Event{
		startedEv(1), set1, kvSet(3, "k2", "v2"), kvCleared(4, "k2"), kvSet(5, "k/3 é.x", ""), kvSet(6, "big", big)}})
	if v, ok := get("k1"); !ok || v != "v1" {
		e.t.Errorf("GetKV(k1) = %q, %v; want v1", v, ok)
	}
	if _, ok := get("k2"); ok {
		e.t.Errorf("GetKV(k2) found a cleared key")
	}
	if v, ok := get("k/3 é.x"); !ok || v != "" {
		e.t.Errorf("GetKV of an empty value = %q, %v; want \"\", true", v, ok)
	}
	e.diff("GetAllKV during the first execution", map[string]string{"k1": "v1", "k/3 é.x": "", "big": big}, all())

	e.send(raised("a", "ev", `1`))
	l := e.fetch("a")
	if len(l.KV) != 0 {
		e.t.Errorf("lease KV before any terminal commit = %v, want empty", l.KV)
	}
	set1b := kvSet(7, "k1", "v1b")
	set1b.TimestampMs = 7000
	e.commit(l, history.Commit{ExecutionID: 1, Status: history.StatusContinuedAsNew, Delta: []history.Event{
		set1b, kvCleared(8, "big"), ev(9, history.OrchestrationContinuedAsNew)},
		Messages: []history.Message{{Kind: history.MsgContinueAsNew, Instance: "a", ExecutionID: 1, Name: "Orch", Input: json.RawMessage(`1`)}}})
	merged := map[string]string{"k1": "v1b", "k/3 é.x": ""}
	e.diff("GetAllKV after continue-as-new", merged, all())

	l = e.fetch("a")
	if got, want := len(l.KV), 2; got != want {
		e.t.Errorf("lease KV = %v, want %d keys", l.KV, want)
	}
	if en := l.KV["k1"]; en.Value != "v1b" || en.UpdatedAtMs != 7000 {
		e.t.Errorf("lease KV[k1] = %+v, want v1b at 7000", en)
	}
	// The second execution clears everything, then sets one key.
	e.commit(l, history.Commit{ExecutionID: 2, Status: history.StatusRunning, Delta: []history.Event{
		startedEv(1), kvSet(2, "gone", "x"), ev(3, history.KeyValuesCleared), kvSet(4, "k4", "v4")}})
	e.diff("GetAllKV after clear-all", map[string]string{"k4": "v4"}, all())
	if _, ok := get("k1"); ok {
		e.t.Errorf("GetKV(k1) after clear-all found it")
	}
	e.send(raised("a", "ev", `2`))
	l = e.fetch("a")
	if len(l.KV) != 2 || l.KV["k1"].Value != "v1b" {
		e.t.Errorf("lease KV during the second execution = %v, want the merged state of the first", l.KV)
	}
	e.commit(l, history.Commit{ExecutionID: 2, Status: history.StatusCompleted, Delta: []history.Event{ev(5, history.OrchestrationCompleted)}})
	e.diff("GetAllKV after completion", map[string]string{"k4": "v4"}, all())
	if v, ok := get("k4"); !ok || v != "v4" {
		e.t.Errorf("GetKV(k4) = %q, %v", v, ok)
	}
}

func testNotifierOrchestratorWork(e *env) {
	n, ok := e.s.(history.Notifier)
	if !ok {
		e.t.Skip("the store does not implement history.Notifier")
	}
	ch := n.OrchestratorWork()
	drain(ch)
	e.create("a")
	received(e.t, "OrchestratorWork after CreateInstance", ch)
	e.fetch("a")
	drain(ch)

	woke := make(chan bool, 1)
	go func() {
		select {
		case <-ch:
			woke <- true
		case <-time.After(waitFor):
			woke <- false
		}
	}()
	e.send(raised("a", "ev", `1`))
	if !<-woke {
		e.t.Fatalf("a waiter on OrchestratorWork was not woken by SendMessage within %v", waitFor)
	}
	e.send(raised("a", "ev", `2`)) // a second signal may coalesce with the first
	drain(ch)
}

func testNotifierWorkerWork(e *env) {
	n, ok := e.s.(history.Notifier)
	if !ok {
		e.t.Skip("the store does not implement history.Notifier")
	}
	e.create("p")
	ch := n.WorkerWork()
	drain(ch)
	e.turn("p", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1), activityEv(2, "A")}, Status: history.StatusRunning,
		Activities: []history.ActivityWork{work("p", 1, 2, "A")}})
	received(e.t, "WorkerWork after a commit with activities", ch)
	orch := n.OrchestratorWork()
	drain(orch)
	a := e.fetchActivity(2)
	if err := e.s.CompleteActivity(e.ctx, a.LockToken, completed("p", 1, 2, `1`)); err != nil {
		e.t.Fatal(err)
	}
	received(e.t, "OrchestratorWork after CompleteActivity", orch)
}

func testNotifierWatchInstance(e *env) {
	n, ok := e.s.(history.Notifier)
	if !ok {
		e.t.Skip("the store does not implement history.Notifier")
	}
	changed, stop := n.WatchInstance("a")
	defer stop()
	other, stopOther := n.WatchInstance("a")
	stopOther()
	stopOther() // twice is fine
	_ = other
	e.create("a")
	received(e.t, "WatchInstance after CreateInstance", changed)
	drain(changed)
	e.turn("a", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1), customEv(2, strp("working"))}, Status: history.StatusRunning})
	received(e.t, "WatchInstance after a custom status change", changed)
	drain(changed)
	e.send(raised("a", "ev", `1`))
	e.turn("a", history.Commit{ExecutionID: 1, Delta: []history.Event{ev(3, history.OrchestrationCompleted)},
		Status: history.StatusCompleted, Output: json.RawMessage(`1`)})
	received(e.t, "WatchInstance after completion", changed)
	stop()
	stop()
}
