package storetest

import (
	"encoding/json"
	"time"

	"github.com/duroxide-go/duroxide/history"
)

func testCreateInstance(e *env) {
	before := time.Now().UnixMilli()
	start := e.create("a")
	st := e.state("a")
	if st.Instance != "a" || st.Name != "Orch" || st.Version != "1.0.0" || st.ExecutionID != 1 || st.Status != history.StatusRunning {
		e.t.Errorf("InstanceState = %+v, want instance a, Orch 1.0.0, execution 1, Running", st)
	}
	if st.ParentInstance != "" || st.CustomStatus != nil || st.CustomStatusVersion != 0 || st.Output != nil || st.Error != nil {
		e.t.Errorf("InstanceState = %+v, want no parent, custom status, output or error", st)
	}
	if st.CreatedAtMs < before-1000 || st.CreatedAtMs > time.Now().UnixMilli()+1000 {
		e.t.Errorf("CreatedAtMs = %d, want about %d", st.CreatedAtMs, before)
	}
	for _, exec := range []uint64{0, 1} {
		if h := e.history("a", exec); len(h) != 0 {
			e.t.Errorf("ReadHistory(a, %d) = %v, want empty", exec, h)
		}
	}
	l := e.fetch("a")
	e.diff("batch", []history.Message{start}, l.Messages)
	if l.State.Instance != "a" || l.State.ExecutionID != 1 || l.State.Status != history.StatusRunning || l.State.Name != "Orch" {
		e.t.Errorf("lease State = %+v", l.State)
	}
}

func testCreateDuplicate(e *env) {
	start := e.create("a")
	other := startMsg("a")
	other.Name, other.Version = "Other", "2.0.0"
	e.wantErr("second CreateInstance", e.s.CreateInstance(e.ctx, other), history.ErrAlreadyExists)
	st := e.state("a")
	if st.Name != "Orch" || st.Version != "1.0.0" {
		e.t.Errorf("after a duplicate create: name %q version %q, want Orch 1.0.0", st.Name, st.Version)
	}
	l := e.fetch("a")
	e.diff("batch", []history.Message{start}, l.Messages)
	e.commit(l, history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1)}, Status: history.StatusCompleted, Output: json.RawMessage(`1`)})
	// Still taken once the instance is over.
	e.wantErr("CreateInstance of a completed instance", e.s.CreateInstance(e.ctx, startMsg("a")), history.ErrAlreadyExists)
	e.noFetch()
}

func testUnknownInstance(e *env) {
	_, err := e.s.InstanceState(e.ctx, "ghost")
	e.wantErr("InstanceState(ghost)", err, history.ErrNotFound)
	_, err = e.s.ReadHistory(e.ctx, "ghost", 0)
	e.wantErr("ReadHistory(ghost, 0)", err, history.ErrNotFound)
	_, err = e.s.ReadHistory(e.ctx, "ghost", 1)
	e.wantErr("ReadHistory(ghost, 1)", err, history.ErrNotFound)
	for _, m := range []history.Message{
		raised("ghost", "ev", `1`),
		{Kind: history.MsgQueueMessage, Instance: "ghost", Name: "q", Data: json.RawMessage(`2`)},
		{Kind: history.MsgCancelInstance, Instance: "ghost", Reason: "stop"},
	} {
		e.wantErr("SendMessage("+string(m.Kind)+" to ghost)", e.s.SendMessage(e.ctx, m), history.ErrNotFound)
	}
	e.noFetch()
	if _, ok, err := e.s.GetKV(e.ctx, "ghost", "k"); err != nil || ok {
		e.t.Errorf("GetKV(ghost) = ok %v, err %v; want absent", ok, err)
	}
	if kv, err := e.s.GetAllKV(e.ctx, "ghost"); err != nil || len(kv) != 0 {
		e.t.Errorf("GetAllKV(ghost) = %v, %v; want empty", kv, err)
	}
}

func testSendToTerminal(e *env) {
	e.create("done")
	e.turn("done", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1), ev(2, history.OrchestrationCompleted)},
		Status: history.StatusCompleted, Output: json.RawMessage(`"ok"`)})
	e.create("failed")
	e.turn("failed", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1), ev(2, history.OrchestrationFailed)},
		Status: history.StatusFailed, Error: history.Application(history.KindOrchestrationFailed, "boom")})
	for _, id := range []string{"done", "failed"} {
		if err := e.s.SendMessage(e.ctx, raised(id, "ev", `1`)); err != nil {
			e.t.Errorf("SendMessage to %s instance: %v, want nil (dropped)", id, err)
		}
		if err := e.s.SendMessage(e.ctx, history.Message{Kind: history.MsgCancelInstance, Instance: id, Reason: "x"}); err != nil {
			e.t.Errorf("cancel of %s instance: %v, want nil (dropped)", id, err)
		}
	}
	e.noFetch()
}

func testPayloadBytes(e *env) {
	const odd = `{"b": 1,  "a":"<&>\u00e9", "c":[1 ,2]}`
	start := startMsg("a")
	start.Input = json.RawMessage(odd)
	if err := e.s.CreateInstance(e.ctx, start); err != nil {
		e.t.Fatal(err)
	}
	msg := raised("a", "ev", odd)
	e.send(msg)
	l := e.fetch("a")
	if len(l.Messages) != 2 || string(l.Messages[0].Input) != odd || string(l.Messages[1].Data) != odd {
		e.t.Fatalf("messages = %+v, want payloads %s kept byte for byte", l.Messages, odd)
	}
	s := startedEv(1)
	s.Input = json.RawMessage(odd)
	done := ev(3, history.OrchestrationCompleted)
	done.Output = json.RawMessage(odd)
	delta := []history.Event{s, activityEv(2, "A"), done}
	w := work("a", 1, 2, "A")
	w.Input = json.RawMessage(odd)
	e.commit(l, history.Commit{ExecutionID: 1, Delta: delta, Status: history.StatusCompleted, Output: json.RawMessage(odd),
		Activities: []history.ActivityWork{w}})
	h := e.history("a", 1)
	e.diff("history", delta, h)
	if len(h) == 3 && (string(h[0].Input) != odd || string(h[2].Output) != odd) {
		e.t.Errorf("history payloads changed: %s, %s", h[0].Input, h[2].Output)
	}
	if st := e.state("a"); string(st.Output) != odd {
		e.t.Errorf("InstanceState.Output = %s, want %s", st.Output, odd)
	}
	al := e.fetchActivity(2)
	if string(al.Work.Input) != odd {
		e.t.Errorf("activity input = %s, want %s", al.Work.Input, odd)
	}
	e.diff("activity", w, al.Work)
}

func testInstanceCreationViaMetadata(e *env) {
	start := e.create("a")
	l := e.fetch("a")
	if l.State.Name != "Orch" || l.State.Version != "1.0.0" || l.State.ExecutionID != 1 || len(l.History) != 0 {
		e.t.Errorf("first lease: State %+v, %d events; want Orch 1.0.0, execution 1, no history", l.State, len(l.History))
	}
	e.diff("first batch", []history.Message{start}, l.Messages)
	// The first turn resolves the version; the instance takes it.
	s := startedEv(1)
	s.Version = "2.0.0"
	e.commit(l, history.Commit{ExecutionID: 1, Delta: []history.Event{s}, Status: history.StatusRunning})
	if st := e.state("a"); st.Name != "Orch" || st.Version != "2.0.0" || st.ExecutionID != 1 {
		e.t.Errorf("after the first turn: %+v, want Orch 2.0.0, execution 1", st)
	}
	e.poke("a")
	l = e.fetch("a")
	if l.State.Version != "2.0.0" || l.State.ExecutionID != 1 {
		e.t.Errorf("second lease State = %+v, want version 2.0.0, execution 1", l.State)
	}
	e.diff("second lease history", []history.Event{s}, l.History)
}

func testNullVersionHandling(e *env) {
	start := startMsg("c")
	start.Version = ""
	if err := e.s.CreateInstance(e.ctx, start); err != nil {
		e.t.Fatalf("CreateInstance without a version: %v", err)
	}
	if st := e.state("c"); st.Version != "" || st.Name != "Orch" {
		e.t.Errorf("InstanceState = %+v, want Orch without a version", st)
	}
	l := e.fetch("c")
	e.diff("batch", []history.Message{start}, l.Messages)
	if l.State.Version != "" {
		e.t.Errorf("lease State.Version = %q, want empty", l.State.Version)
	}
	s := startedEv(1)
	s.Version = "3.0.0"
	e.commit(l, history.Commit{ExecutionID: 1, Delta: []history.Event{s}, Status: history.StatusRunning})
	if st := e.state("c"); st.Version != "3.0.0" {
		e.t.Errorf("version after the first turn = %q, want 3.0.0", st.Version)
	}
	e.poke("c")
	if l := e.fetch("c"); l.State.Version != "3.0.0" {
		e.t.Errorf("lease State.Version = %q, want 3.0.0", l.State.Version)
	}
}

func testSubOrchestrationInstanceCreation(e *env) {
	e.create("parent")
	child := childStart("parent", "parent::child", 2)
	child.Version = ""
	scheduled := ev(2, history.SubOrchestrationScheduled)
	scheduled.Name, scheduled.Instance = "Child", "parent::child"
	e.turn("parent", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1), scheduled}, Status: history.StatusRunning,
		Messages: []history.Message{child}})
	st := e.state("parent::child")
	if st.ParentInstance != "parent" || st.Name != "Child" || st.Version != "" || st.Status != history.StatusRunning {
		e.t.Errorf("child row = %+v, want parent \"parent\", Child without a version, Running", st)
	}
	l := e.fetch("parent::child")
	e.diff("child batch", []history.Message{child}, l.Messages)
	if l.State.ParentInstance != "parent" || l.State.Name != "Child" || len(l.History) != 0 {
		e.t.Errorf("child lease: State %+v, %d events", l.State, len(l.History))
	}
	s := startedEv(1)
	s.Name, s.Version = "Child", "1.5.0"
	s.ParentInstance, s.ParentExecutionID, s.ParentEventID = "parent", 1, 2
	e.commit(l, history.Commit{ExecutionID: 1, Delta: []history.Event{s}, Status: history.StatusRunning})
	if st := e.state("parent::child"); st.Version != "1.5.0" || st.ParentInstance != "parent" || st.Name != "Child" {
		e.t.Errorf("child after its first turn = %+v, want Child 1.5.0 with parent \"parent\"", st)
	}
	e.poke("parent::child")
	l = e.fetch("parent::child")
	if l.State.Version != "1.5.0" {
		e.t.Errorf("child lease State.Version = %q, want 1.5.0", l.State.Version)
	}
	e.diff("child history", []history.Event{s}, l.History)
}
