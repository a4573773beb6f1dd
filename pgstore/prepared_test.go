package pgstore

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/history"
)

// Statements run in transactions are prepared once in the background and then run
// prepared, with the same results; Close releases them and ends every preparation.
func TestStatementsArePrepared(t *testing.T) {
	url := dbURL(t)
	schema := freshSchema(t) // opens the shared admin pool, which stays
	base := runtime.NumGoroutine()
	s := connect(t, url, schema)
	ctx := t.Context()
	deadline := time.Now().Add(10 * time.Second)
	n := 0
	for s.stmts.size() == 0 || n < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("no statement prepared after %d instances", n)
		}
		if err := s.CreateInstance(ctx, start(fmt.Sprintf("p%d", n))); err != nil {
			t.Fatal(err)
		}
		n++
	}
	// Prepared or not, every instance is there and fetchable, oldest first.
	for i := range n {
		l, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{})
		if err != nil || l == nil {
			t.Fatalf("fetch %d: %v %v", i, l, err)
		}
		if want := fmt.Sprintf("p%d", i); l.Instance != want || len(l.Messages) != 1 {
			t.Fatalf("fetch %d: %s with %d messages, want %s with 1", i, l.Instance, len(l.Messages), want)
		}
		if _, err := s.CommitOrchestration(ctx, l.LockToken, history.Commit{ExecutionID: 1,
			Delta:  []history.Event{{EventID: 1, Kind: history.OrchestrationStarted, Name: "Orch"}},
			Status: history.StatusCompleted, Output: json.RawMessage(`1`)}); err != nil {
			t.Fatal(err)
		}
	}
	if s.stmts.size() < 3 {
		t.Errorf("%d statements prepared after creates, fetches and commits, want several", s.stmts.size())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.stmts.size() != 0 {
		t.Errorf("%d statements still prepared after Close", s.stmts.size())
	}
	deadline = time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d after Close, %d before", runtime.NumGoroutine(), base)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The cache prepares at most its limit of statements; the others run unprepared, and a
// closed cache prepares nothing.
func TestStatementCacheBounded(t *testing.T) {
	s := openStore(t)
	c := newStmtCache(2)
	defer c.close()
	queries := []string{"SELECT 1", "SELECT 2", "SELECT 3"}
	deadline := time.Now().Add(10 * time.Second)
	for c.get(s.db, queries[0]) == nil || c.get(s.db, queries[1]) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the first two statements were not prepared")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if c.get(s.db, queries[2]) != nil || c.size() != 2 {
		t.Fatalf("a third statement was prepared beyond the limit of 2 (size %d)", c.size())
	}
	var v int
	if err := c.get(s.db, queries[1]).QueryRowContext(t.Context()).Scan(&v); err != nil || v != 2 {
		t.Fatalf("prepared SELECT 2: %d %v", v, err)
	}
	c.close()
	if c.get(s.db, "SELECT 4") != nil || c.size() != 0 {
		t.Fatal("a closed cache prepared or kept statements")
	}
}

// A fetch that found work commits without waiting for its WAL flush; the setting stays
// inside that transaction and never reaches the next one on the same connection.
func TestAsyncFetchCommitStaysInItsTransaction(t *testing.T) {
	s := openStore(t, WithMaxConns(1))
	ctx := t.Context()
	if err := s.CreateInstance(ctx, start("a")); err != nil {
		t.Fatal(err)
	}
	l, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{})
	if err != nil || l == nil {
		t.Fatal(l, err)
	}
	var setting string
	if err := s.db.QueryRowContext(ctx, `SHOW synchronous_commit`).Scan(&setting); err != nil {
		t.Fatal(err)
	}
	if setting != "on" {
		t.Fatalf("synchronous_commit after a fetch: %q, want on", setting)
	}
	if _, err := s.CommitOrchestration(ctx, l.LockToken, history.Commit{ExecutionID: 1,
		Delta:  []history.Event{{EventID: 1, Kind: history.OrchestrationStarted, Name: "Orch"}},
		Status: history.StatusRunning, Activities: []history.ActivityWork{{Instance: "a", ExecutionID: 1, ID: 2, Name: "A"}}}); err != nil {
		t.Fatal(err)
	}
	al, err := s.FetchActivity(ctx, history.FetchActivityRequest{LockTimeout: time.Minute})
	if err != nil || al == nil {
		t.Fatal(al, err)
	}
	if err := s.db.QueryRowContext(ctx, `SHOW synchronous_commit`).Scan(&setting); err != nil || setting != "on" {
		t.Fatalf("synchronous_commit after an activity fetch: %q %v, want on", setting, err)
	}
}

// A Store ignores the NOTIFYs it sent itself (it signalled its waiters in process when
// it committed), while another Store on the schema still gets them.
func TestOwnNotificationsNotEchoed(t *testing.T) {
	url := dbURL(t)
	schema := freshSchema(t)
	a := connect(t, url, schema)
	defer a.Close()
	b := connect(t, url, schema)
	defer b.Close()
	aOrch, bOrch := a.OrchestratorWork(), b.OrchestratorWork()
	settle(aOrch, bOrch)
	if err := a.CreateInstance(t.Context(), start("x")); err != nil {
		t.Fatal(err)
	}
	if !recv(aOrch, time.Second) {
		t.Fatal("CreateInstance did not signal its own store in process")
	}
	if !recv(bOrch, 5*time.Second) {
		t.Fatal("CreateInstance did not NOTIFY the other store")
	}
	if recv(aOrch, 300*time.Millisecond) {
		t.Error("the store was woken a second time by its own NOTIFY")
	}
}

func TestSplitPayload(t *testing.T) {
	o := newToken()
	for _, c := range []struct{ in, origin, rest string }{
		{o, o, ""},
		{o + ":inst-1", o, "inst-1"},
		{o + ":a:b", o, "a:b"},
		{"", "", ""},
		{"inst-1", "", "inst-1"}, // an older build's instance payload
		{o + "x", "", o + "x"},
	} {
		if origin, rest := splitPayload(c.in); origin != c.origin || rest != c.rest {
			t.Errorf("splitPayload(%q) = %q, %q; want %q, %q", c.in, origin, rest, c.origin, c.rest)
		}
	}
}

// A message another process sends to an instance whose turn is running wakes nobody (the
// instance is locked); the commit that ends the turn sees it and signals its own
// dispatchers, so the instance is fetched again without waiting for a poll.
func TestCommitSignalsMessagesThatArrivedDuringTheTurn(t *testing.T) {
	url := dbURL(t)
	schema := freshSchema(t)
	a := connect(t, url, schema)
	defer a.Close()
	b := connect(t, url, schema)
	defer b.Close()
	ctx := t.Context()
	if err := a.CreateInstance(ctx, start("x")); err != nil {
		t.Fatal(err)
	}
	l, err := a.FetchOrchestration(ctx, history.FetchOrchestrationRequest{LockTimeout: time.Minute})
	if err != nil || l == nil {
		t.Fatal(l, err)
	}
	orch := a.OrchestratorWork()
	settle(orch)
	if err := b.SendMessage(ctx, history.Message{Kind: history.MsgExternalRaised, Instance: "x", Name: "e", Data: json.RawMessage(`1`)}); err != nil {
		t.Fatal(err)
	}
	if recv(orch, 300*time.Millisecond) {
		t.Fatal("a message for a locked instance woke the holder's process (the test needs it not to)")
	}
	started := history.Event{EventID: 1, Kind: history.OrchestrationStarted, Name: "Orch"}
	if _, err := a.CommitOrchestration(ctx, l.LockToken, history.Commit{ExecutionID: 1, Delta: []history.Event{started},
		Status: history.StatusRunning}); err != nil {
		t.Fatal(err)
	}
	if !recv(orch, time.Second) {
		t.Fatal("the commit did not signal the message that arrived during the turn")
	}
	l, err = a.FetchOrchestration(ctx, history.FetchOrchestrationRequest{LockTimeout: time.Minute})
	if err != nil || l == nil || len(l.Messages) != 1 || l.Messages[0].Name != "e" {
		t.Fatalf("fetch after the signal: %+v, %v", l, err)
	}
}
