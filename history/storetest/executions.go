package storetest

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/duroxide-go/duroxide/history"
)

func testHistoryAfter(e *env) {
	delta := []history.Event{startedEv(1), activityEv(2, "A"), activityEv(3, "B")}
	e.create("a")
	e.turn("a", history.Commit{ExecutionID: 1, Delta: delta, Status: history.StatusRunning})
	e.send(raised("a", "ev", `1`))
	var mu sync.Mutex
	var asked []string
	l, err := e.s.FetchOrchestration(e.ctx, history.FetchOrchestrationRequest{
		LockTimeout: longLock,
		HistoryAfter: func(instance string, exec uint64) uint64 {
			mu.Lock()
			defer mu.Unlock()
			asked = append(asked, fmt.Sprintf("%s/%d", instance, exec))
			return 2
		},
	})
	if err != nil || l == nil {
		e.t.Fatalf("FetchOrchestration = %v, %v", l, err)
	}
	e.diff("HistoryAfter calls", []string{"a/1"}, asked)
	if l.HistoryAfter != 2 {
		e.t.Errorf("lease HistoryAfter = %d, want 2", l.HistoryAfter)
	}
	e.diff("history after 2", delta[2:], l.History)
	if err := e.s.AbandonOrchestration(e.ctx, l.LockToken, 0, false); err != nil {
		e.t.Fatal(err)
	}
	full := e.fetch("a")
	e.diff("full history", delta, full.History)
	if full.HistoryAfter != 0 {
		e.t.Errorf("HistoryAfter without a callback = %d, want 0", full.HistoryAfter)
	}
	e.diff("ReadHistory", delta, e.history("a", 0))
}

func testMultiExecution(e *env) {
	e.create("a")
	can := ev(3, history.OrchestrationContinuedAsNew)
	can.Input = json.RawMessage(`{"round":2}`)
	exec1 := []history.Event{startedEv(1), activityEv(2, "A"), can}
	next := history.Message{Kind: history.MsgContinueAsNew, Instance: "a", ExecutionID: 1, Name: "Orch", Input: can.Input}
	e.turn("a", history.Commit{ExecutionID: 1, Delta: exec1, Status: history.StatusContinuedAsNew, Output: can.Input,
		Messages: []history.Message{next}})
	st := e.state("a")
	if st.Status != history.StatusContinuedAsNew || st.ExecutionID != 1 || string(st.Output) != `{"round":2}` {
		e.t.Errorf("after continue-as-new: %+v", st)
	}

	l := e.fetch("a")
	e.diff("batch", []history.Message{next}, l.Messages)
	if l.State.ExecutionID != 1 || l.State.Status != history.StatusContinuedAsNew {
		e.t.Errorf("lease State = %+v, want execution 1 ContinuedAsNew", l.State)
	}
	e.diff("lease history", exec1, l.History)
	s2 := startedEv(1)
	s2.Input = can.Input
	exec2 := []history.Event{s2, activityEv(2, "B")}
	e.commit(l, history.Commit{ExecutionID: 2, Delta: exec2, Status: history.StatusRunning})
	st = e.state("a")
	if st.ExecutionID != 2 || st.Status != history.StatusRunning || st.Output != nil {
		e.t.Errorf("after the second execution's first turn: %+v, want execution 2 Running without output", st)
	}
	e.diff("execution 1", exec1, e.history("a", 1))
	e.diff("execution 2", exec2, e.history("a", 2))
	e.diff("current execution", exec2, e.history("a", 0))
	_, err := e.s.ReadHistory(e.ctx, "a", 3)
	e.wantErr("ReadHistory of an unknown execution", err, history.ErrNotFound)

	e.send(raised("a", "ev", `1`))
	l = e.fetch("a")
	if l.State.ExecutionID != 2 {
		e.t.Errorf("lease execution = %d, want 2", l.State.ExecutionID)
	}
	e.diff("lease history of execution 2", exec2, l.History)
	failed := ev(3, history.OrchestrationFailed)
	failed.Error = history.Application(history.KindOrchestrationFailed, "boom")
	e.commit(l, history.Commit{ExecutionID: 2, Delta: []history.Event{failed}, Status: history.StatusFailed, Error: failed.Error})
	st = e.state("a")
	if st.Status != history.StatusFailed || st.Error == nil || st.Error.Message != "boom" || st.Error.Category != history.CategoryApplication {
		e.t.Errorf("after failure: status %s error %+v", st.Status, st.Error)
	}
	e.diff("execution 1 after the second ended", exec1, e.history("a", 1))
	if h := e.history("a", 0); len(h) != 3 {
		e.t.Errorf("current execution has %d events, want 3", len(h))
	}

	// Completed records the output.
	e.create("b")
	e.turn("b", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1), ev(2, history.OrchestrationCompleted)},
		Status: history.StatusCompleted, Output: json.RawMessage(`"result"`)})
	if st := e.state("b"); st.Status != history.StatusCompleted || string(st.Output) != `"result"` || st.Error != nil {
		e.t.Errorf("completed instance: %+v", st)
	}
}

func testChildStart(e *env) {
	e.create("p")
	child := childStart("p", "p::sub::2", 2)
	child.Version = "3.1.0"
	scheduled := ev(2, history.SubOrchestrationScheduled)
	scheduled.Name, scheduled.Instance = "Child", "p::sub::2"
	_, res := e.turn("p", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1), scheduled},
		Status: history.StatusRunning, Messages: []history.Message{child}})
	if len(res.Rejected) != 0 {
		e.t.Errorf("Rejected = %v, want none", kinds(res.Rejected))
	}
	st := e.state("p::sub::2")
	if st.ParentInstance != "p" || st.Name != "Child" || st.Version != "3.1.0" || st.Status != history.StatusRunning || st.ExecutionID != 1 {
		e.t.Errorf("child row = %+v, want parent p, Child 3.1.0, Running, execution 1", st)
	}
	l := e.fetch("p::sub::2")
	e.diff("child batch", []history.Message{child}, l.Messages)
	e.noFetch()
	// The child's first turn keeps the parent link.
	s := startedEv(1)
	s.Name, s.ParentInstance, s.ParentExecutionID, s.ParentEventID = "Child", "p", 1, 2
	e.commit(l, history.Commit{ExecutionID: 1, Delta: []history.Event{s}, Status: history.StatusRunning})
	if st := e.state("p::sub::2"); st.ParentInstance != "p" || st.Name != "Child" {
		e.t.Errorf("child after its first turn = %+v", st)
	}
}

func testChildStartTaken(e *env) {
	e.create("p")
	taken := e.create("taken")
	child := childStart("p", "taken", 2)
	_, res := e.turn("p", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1)}, Status: history.StatusRunning,
		Messages: []history.Message{child}})
	e.diff("Rejected", []history.Message{child}, res.Rejected)
	st := e.state("taken")
	if st.ParentInstance != "" || st.Name != "Orch" {
		e.t.Errorf("taken instance changed: %+v", st)
	}
	l := e.fetch("taken")
	e.diff("taken instance's batch", []history.Message{taken}, l.Messages)
	lp := e.fetch("p")
	e.diff("parent's batch", []history.Message{history.ChildStartRejected(child)}, lp.Messages)
	e.noFetch()
}

func testDetachedStartTaken(e *env) {
	e.create("p")
	taken := e.create("taken")
	detached := startMsg("taken")
	detached.Name = "Detached"
	fresh := startMsg("fresh")
	_, res := e.turn("p", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1)}, Status: history.StatusRunning,
		Messages: []history.Message{detached, fresh}})
	e.diff("Rejected", []history.Message{detached}, res.Rejected)
	if st := e.state("taken"); st.Name != "Orch" {
		e.t.Errorf("taken instance renamed to %q", st.Name)
	}
	if st := e.state("fresh"); st.ParentInstance != "" || st.Status != history.StatusRunning {
		e.t.Errorf("detached instance = %+v", st)
	}
	l := e.fetch("taken")
	e.diff("taken instance's batch", []history.Message{taken}, l.Messages)
	e.fetch("fresh")
	e.noFetch()
}

func testExecutionHistoryPersistence(e *env) {
	e.create("a")
	var want [][]history.Event
	for exec := uint64(1); exec <= 3; exec++ {
		s := startedEv(1)
		s.Input = json.RawMessage(fmt.Sprintf(`{"execution":%d}`, exec))
		delta := []history.Event{s, activityEv(2, fmt.Sprintf("A%d", exec))}
		c := history.Commit{ExecutionID: exec, Status: history.StatusCompleted, Output: json.RawMessage(`"done"`)}
		if exec < 3 {
			can := ev(3, history.OrchestrationContinuedAsNew)
			can.Input = json.RawMessage(fmt.Sprintf(`{"execution":%d}`, exec+1))
			delta = append(delta, can)
			c.Status, c.Output = history.StatusContinuedAsNew, can.Input
			c.Messages = []history.Message{{Kind: history.MsgContinueAsNew, Instance: "a", ExecutionID: exec, Name: "Orch", Input: can.Input}}
		} else {
			delta = append(delta, ev(3, history.OrchestrationCompleted))
		}
		c.Delta = delta
		l, _ := e.turn("a", c)
		if l.State.ExecutionID != max(exec-1, 1) {
			e.t.Errorf("lease of execution %d's turn: State.ExecutionID %d, want %d", exec, l.State.ExecutionID, max(exec-1, 1))
		}
		want = append(want, delta)
	}
	for i, delta := range want {
		e.diff(fmt.Sprintf("execution %d", i+1), delta, e.history("a", uint64(i+1)))
	}
	e.diff("current execution", want[2], e.history("a", 0))
	if st := e.state("a"); st.ExecutionID != 3 || st.Status != history.StatusCompleted {
		e.t.Errorf("instance = %+v, want execution 3 Completed", st)
	}
	_, err := e.s.ReadHistory(e.ctx, "a", 4)
	e.wantErr("ReadHistory of execution 4", err, history.ErrNotFound)
}
