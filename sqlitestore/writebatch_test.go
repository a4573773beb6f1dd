package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/history"
)

// Writes made at once are group-committed; each keeps its own outcome: the failing ones
// (an id taken twice) record nothing and the others all land.
func TestGroupCommitKeepsEachWriteAtomic(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) *Store
	}{
		{"memory", func(t *testing.T) *Store { return openMem(t) }},
		{"file", func(t *testing.T) *Store { return openFile(t, filepath.Join(t.TempDir(), "g.db")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.open(t)
			ctx := t.Context()
			const writers, each = 16, 20
			var wg sync.WaitGroup
			var mu sync.Mutex
			created, taken := map[string]bool{}, 0
			for g := range writers {
				wg.Go(func() {
					for k := range each {
						id := "i" + strconv.Itoa((g*each+k)/2) // every id is tried twice
						err := s.CreateInstance(ctx, start(id))
						mu.Lock()
						switch {
						case err == nil:
							if created[id] {
								t.Errorf("%s created twice", id)
							}
							created[id] = true
						case errors.Is(err, history.ErrAlreadyExists):
							taken++
						default:
							t.Errorf("CreateInstance(%s): %v", id, err)
						}
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if len(created) != writers*each/2 || taken != writers*each/2 {
				t.Fatalf("%d created and %d refused, want %d each", len(created), taken, writers*each/2)
			}
			for id := range created {
				if st, err := s.InstanceState(ctx, id); err != nil || st.Status != history.StatusRunning {
					t.Fatalf("%s: %+v %v", id, st, err)
				}
			}
			// Every start message is queued once: fetch and commit them all.
			seen := 0
			for {
				l, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{})
				if err != nil {
					t.Fatal(err)
				}
				if l == nil {
					break
				}
				seen += len(l.Messages)
				if _, err := s.CommitOrchestration(ctx, l.LockToken, history.Commit{ExecutionID: 1}); err != nil {
					t.Fatal(err)
				}
			}
			if seen != len(created) {
				t.Fatalf("%d start messages queued, want %d", seen, len(created))
			}
		})
	}
}

// A write whose caller gives up while it waits for the writer leaves nothing behind and
// does not stall the writes queued after it.
func TestGroupCommitAbandonedWait(t *testing.T) {
	s := openMem(t)
	ctx := t.Context()
	release := make(chan struct{})
	holding := make(chan struct{})
	go func() { // holds the writer until released
		_ = s.write(ctx, "hold", func(*sql.Tx, int64) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	gone, cancel := context.WithCancel(ctx)
	errc := make(chan error, 2)
	go func() { errc <- s.CreateInstance(gone, start("gone")) }()
	go func() { errc <- s.CreateInstance(ctx, start("kept")) }()
	waitQueued(t, s, 2)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned write: %v, want context.Canceled", err)
	}
	close(release)
	if err := <-errc; err != nil {
		t.Fatalf("the write queued after the abandoned one: %v", err)
	}
	if _, err := s.InstanceState(ctx, "gone"); !errors.Is(err, history.ErrNotFound) {
		t.Fatalf("abandoned write recorded: %v", err)
	}
	if err := s.CreateInstance(ctx, start("after")); err != nil {
		t.Fatalf("write after the abandoned one: %v", err)
	}
}

// waitQueued waits until n writes wait for the writer.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	for range 10000 {
		s.writes.mu.Lock()
		k := len(s.writes.pending)
		s.writes.mu.Unlock()
		if k >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d writes never queued", n)
}

// On a FULL file database, lock-only writes (fetches, renewals) run without their own
// sync and every other write with FULL again.
func TestLockOnlyWritesRunWithoutSync(t *testing.T) {
	ctx := t.Context()
	s := openFile(t, filepath.Join(t.TempDir(), "sync.db"))
	want := func(step, mode string) {
		t.Helper()
		if got := pragma(t, s.db, "synchronous"); got != mode {
			t.Fatalf("after %s: synchronous = %s, want %s", step, got, mode)
		}
	}
	if err := s.CreateInstance(ctx, start("a")); err != nil {
		t.Fatal(err)
	}
	want("CreateInstance", "2")
	l, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{})
	if err != nil || l == nil {
		t.Fatalf("fetch: %+v %v", l, err)
	}
	want("FetchOrchestration", "1")
	if err := s.RenewOrchestrationLock(ctx, l.LockToken, time.Minute); err != nil {
		t.Fatal(err)
	}
	want("RenewOrchestrationLock", "1")
	if _, err := s.CommitOrchestration(ctx, l.LockToken, history.Commit{ExecutionID: 1}); err != nil {
		t.Fatal(err)
	}
	want("CommitOrchestration", "2")

	normal := openFile(t, filepath.Join(t.TempDir(), "normal.db"), WithSynchronousNormal())
	if err := normal.CreateInstance(ctx, start("a")); err != nil {
		t.Fatal(err)
	}
	if got := pragma(t, normal.db, "synchronous"); got != "1" {
		t.Fatalf("NORMAL store: synchronous = %s", got)
	}
}

// A write whose function panics fails alone, and the queue keeps working.
func TestGroupCommitPanicFailsOneWrite(t *testing.T) {
	s := openMem(t)
	ctx := t.Context()
	err := s.write(ctx, "boom", func(*sql.Tx, int64) error { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("panicking write: %v", err)
	}
	if err := s.CreateInstance(ctx, start("after")); err != nil {
		t.Fatalf("write after the panic: %v", err)
	}
}
