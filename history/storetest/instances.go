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
