package sqlitestore

import (
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/history"
)

// A timer queued for later wakes the orchestrator dispatchers at its due time, without
// anyone polling.
func TestTimerWakesAtDueTime(t *testing.T) {
	s := openMem(t)
	ctx := t.Context()
	if err := s.CreateInstance(ctx, start("a")); err != nil {
		t.Fatal(err)
	}
	l, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{})
	if err != nil || l == nil {
		t.Fatalf("fetch: %+v %v", l, err)
	}
	const delay = 150 * time.Millisecond
	due := time.Now().Add(delay)
	timer := history.Message{Kind: history.MsgTimerFired, Instance: "a", ExecutionID: 1, ID: 2, FireAtMs: due.UnixMilli()}
	if _, err := s.CommitOrchestration(ctx, l.LockToken, history.Commit{ExecutionID: 1, Messages: []history.Message{timer}}); err != nil {
		t.Fatal(err)
	}
	select { // the commit's own signal
	case <-s.OrchestratorWork():
	default:
	}
	if l, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{}); err != nil || l != nil {
		t.Fatalf("the timer is visible before its time: %+v %v", l, err)
	}
	select {
	case <-s.OrchestratorWork():
	case <-time.After(30 * time.Second):
		t.Fatal("no wake-up for the due timer")
	}
	if early := time.Until(due); early > 0 {
		t.Fatalf("woken %s before the timer was due", early)
	}
	l, err = s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{})
	if err != nil || l == nil || len(l.Messages) != 1 || l.Messages[0].Kind != history.MsgTimerFired {
		t.Fatalf("fetch after the wake-up: %+v %v", l, err)
	}
}

// An abandon with a delay wakes the dispatchers when the batch is visible again; a
// closed store arms nothing.
func TestAbandonDelayWakes(t *testing.T) {
	s := openMem(t)
	ctx := t.Context()
	if err := s.CreateInstance(ctx, start("a")); err != nil {
		t.Fatal(err)
	}
	l, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{})
	if err != nil || l == nil {
		t.Fatalf("fetch: %+v %v", l, err)
	}
	t0 := time.Now()
	if err := s.AbandonOrchestration(ctx, l.LockToken, 100*time.Millisecond, false); err != nil {
		t.Fatal(err)
	}
	<-s.OrchestratorWork() // the abandon's own signal
	select {
	case <-s.OrchestratorWork():
	case <-time.After(30 * time.Second):
		t.Fatal("no wake-up when the abandoned batch became visible")
	}
	if waited := time.Since(t0); waited < 100*time.Millisecond {
		t.Fatalf("woken after %s, before the batch was visible", waited)
	}
	if l, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{}); err != nil || l == nil {
		t.Fatalf("fetch after the wake-up: %+v %v", l, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.wakeAt(time.Now().Add(time.Hour).UnixMilli())
	if s.wakes.timer != nil && s.wakes.timer.Stop() {
		t.Fatal("a closed store armed a wake-up")
	}
}
