package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/duroxide-go/duroxide/history"
)

// statsStore wraps the runtime's store and records, per store call, how many calls were
// made, how many of them returned work (fetches), and how long they took (-store-stats).
type statsStore struct {
	history.Store
	mu    sync.Mutex
	calls map[string]*callStats
}

// callStats is one method's tally.
type callStats struct {
	n, hits int
	total   time.Duration
	max     time.Duration
}

// notifyingStatsStore is a statsStore over a store that also notifies, so the runtime
// keeps its wake-ups.
type notifyingStatsStore struct {
	*statsStore
	history.Notifier
}

// wrapStats returns s wrapped, keeping the Notifier interface when s has it.
func wrapStats(s history.Store) (history.Store, *statsStore) {
	st := &statsStore{Store: s, calls: map[string]*callStats{}}
	if n, ok := s.(history.Notifier); ok {
		return notifyingStatsStore{st, n}, st
	}
	return st, st
}

func (s *statsStore) record(name string, t0 time.Time, hit bool) {
	d := time.Since(t0)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls[name]
	if c == nil {
		c = &callStats{}
		s.calls[name] = c
	}
	c.n++
	c.total += d
	c.max = max(c.max, d)
	if hit {
		c.hits++
	}
}

// print writes one line per method, most total time first.
func (s *statsStore) print(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.calls))
	for n := range s.calls {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return int(s.calls[b].total - s.calls[a].total) })
	for _, n := range names {
		c := s.calls[n]
		fmt.Fprintf(w, "store-stats %-24s calls=%-7d with-work=%-7d mean=%-9s max=%-9s total=%s\n",
			n, c.n, c.hits, (c.total / time.Duration(c.n)).Round(time.Microsecond),
			c.max.Round(time.Microsecond), c.total.Round(time.Millisecond))
	}
}

func (s *statsStore) CreateInstance(ctx context.Context, start history.Message) error {
	t0 := time.Now()
	err := s.Store.CreateInstance(ctx, start)
	s.record("CreateInstance", t0, err == nil)
	return err
}

func (s *statsStore) InstanceState(ctx context.Context, instance string) (history.InstanceState, error) {
	t0 := time.Now()
	st, err := s.Store.InstanceState(ctx, instance)
	s.record("InstanceState", t0, err == nil)
	return st, err
}

func (s *statsStore) FetchOrchestration(ctx context.Context, req history.FetchOrchestrationRequest) (*history.OrchestrationLease, error) {
	t0 := time.Now()
	l, err := s.Store.FetchOrchestration(ctx, req)
	s.record("FetchOrchestration", t0, l != nil)
	return l, err
}

func (s *statsStore) CommitOrchestration(ctx context.Context, lockToken string, c history.Commit) (history.CommitResult, error) {
	t0 := time.Now()
	r, err := s.Store.CommitOrchestration(ctx, lockToken, c)
	s.record("CommitOrchestration", t0, err == nil)
	return r, err
}

func (s *statsStore) FetchActivity(ctx context.Context, req history.FetchActivityRequest) (*history.ActivityLease, error) {
	t0 := time.Now()
	l, err := s.Store.FetchActivity(ctx, req)
	s.record("FetchActivity", t0, l != nil)
	return l, err
}

func (s *statsStore) CompleteActivity(ctx context.Context, lockToken string, completion *history.Message) error {
	t0 := time.Now()
	err := s.Store.CompleteActivity(ctx, lockToken, completion)
	s.record("CompleteActivity", t0, err == nil)
	return err
}

func (s *statsStore) AbandonOrchestration(ctx context.Context, lockToken string, delay time.Duration, ignoreAttempt bool) error {
	t0 := time.Now()
	err := s.Store.AbandonOrchestration(ctx, lockToken, delay, ignoreAttempt)
	s.record("AbandonOrchestration", t0, err == nil)
	return err
}

func (s *statsStore) AbandonActivity(ctx context.Context, lockToken string, delay time.Duration, ignoreAttempt bool) error {
	t0 := time.Now()
	err := s.Store.AbandonActivity(ctx, lockToken, delay, ignoreAttempt)
	s.record("AbandonActivity", t0, err == nil)
	return err
}
