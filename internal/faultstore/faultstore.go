// Package faultstore wraps a history.Store and injects faults by rule: failed calls
// (before or after the inner store acted), delays, and lost locks. Tests use it to prove
// that the runtime retries what is retryable, never records a turn half-way, and still
// finishes every instance correctly.
//
// Rules pick the calls they hit by operation and either by call number (the Nth call of
// that operation) or by odds drawn from a seeded random source, so a run is repeatable
// for a given seed and schedule. The wrapper passes history.Notifier and history.Admin
// through when the inner store implements them; admin calls are never faulted.
package faultstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/duroxide-go/duroxide/history"
)

// Op names a history.Store method.
type Op string

// The operations a rule can target.
const (
	OpCreateInstance         Op = "CreateInstance"
	OpSendMessage            Op = "SendMessage"
	OpInstanceState          Op = "InstanceState"
	OpReadHistory            Op = "ReadHistory"
	OpGetKV                  Op = "GetKV"
	OpGetAllKV               Op = "GetAllKV"
	OpFetchOrchestration     Op = "FetchOrchestration"
	OpCommitOrchestration    Op = "CommitOrchestration"
	OpAbandonOrchestration   Op = "AbandonOrchestration"
	OpRenewOrchestrationLock Op = "RenewOrchestrationLock"
	OpFetchActivity          Op = "FetchActivity"
	OpCompleteActivity       Op = "CompleteActivity"
	OpAbandonActivity        Op = "AbandonActivity"
	OpRenewActivityLock      Op = "RenewActivityLock"
	OpRenewSessionLocks      Op = "RenewSessionLocks"
	OpCleanupSessions        Op = "CleanupSessions"
)

// Action is what a rule does to a call it hits.
type Action int

// The actions.
const (
	// Fail returns the rule's error. Without Rule.After the inner store is not called
	// (nothing happened); with it the inner call runs first and its effect stays, but the
	// caller sees the error, as when a connection drops after the database committed.
	Fail Action = iota
	// Delay sleeps Rule.Delay (or until the call's context ends) before the inner call,
	// or after it with Rule.After, then returns the inner call's result.
	Delay
)

// ErrInjected is wrapped by every error a rule injects by default.
var ErrInjected = errors.New("injected fault")

// Rule selects calls of one operation and says what to do to them.
type Rule struct {
	// Op is the operation the rule watches.
	Op Op
	// Nth, when positive, hits the Nth call of Op (counted from 1 since the rule was
	// installed); with Every it is the first of a series.
	Nth int
	// Every, when positive with Nth, hits every Every-th call after the Nth too.
	Every int
	// Odds, when positive, hits each call with this probability (0..1), drawn from the
	// injector's seeded source. A rule with neither Nth nor Odds hits every call.
	Odds float64
	// Max bounds how many calls the rule hits in all (0: no bound).
	Max int
	// Action is what happens to a hit call.
	Action Action
	// After: for Fail, call the inner store first and fail afterwards; for Delay, sleep
	// after the inner call instead of before it.
	After bool
	// Delay is how long Delay sleeps.
	Delay time.Duration
	// Err is the error Fail returns; nil means a retryable *history.StoreError wrapping
	// ErrInjected.
	Err error
}

// LoseLock is a rule that makes the Nth call of a renew operation (OpRenewActivityLock or
// OpRenewOrchestrationLock) report history.ErrLockLost without renewing, so the caller
// believes its lock is gone and the real lock later expires. With Nth 0 every renew
// loses the lock.
func LoseLock(op Op, nth int) Rule {
	return Rule{Op: op, Nth: nth, Action: Fail, Err: history.ErrLockLost}
}

// Fault records one injected fault.
type Fault struct {
	Op     Op
	Call   int // the call number of Op that was hit
	Action Action
	After  bool
}

// Injector holds the rules and counters; Store returns the faulty store itself.
type Injector struct {
	inner history.Store

	mu       sync.Mutex
	rng      *rand.Rand
	rules    []*ruleState
	calls    map[Op]int
	faults   []Fault
	disabled bool
}

type ruleState struct {
	Rule
	base int // calls of Op made before the rule was installed
	hits int
}

// New wraps inner with the given rules; seed drives the odds of every rule.
func New(inner history.Store, seed uint64, rules ...Rule) *Injector {
	in := &Injector{inner: inner, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), calls: map[Op]int{}}
	in.SetRules(rules...)
	return in
}

// SetRules replaces the rules; call numbers of the new rules count from now.
func (in *Injector) SetRules(rules ...Rule) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.rules = in.rules[:0]
	for _, r := range rules {
		in.rules = append(in.rules, &ruleState{Rule: r, base: in.calls[r.Op]})
	}
}

// AddRule installs one more rule; its call numbers count from now.
func (in *Injector) AddRule(r Rule) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.rules = append(in.rules, &ruleState{Rule: r, base: in.calls[r.Op]})
}

// Disable stops injecting faults (calls still count); Enable resumes.
func (in *Injector) Disable() { in.setDisabled(true) }

// Enable resumes injecting faults after Disable.
func (in *Injector) Enable() { in.setDisabled(false) }

func (in *Injector) setDisabled(v bool) {
	in.mu.Lock()
	in.disabled = v
	in.mu.Unlock()
}

// Calls counts the calls of op made so far.
func (in *Injector) Calls(op Op) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.calls[op]
}

// Faults returns the faults injected so far, in order.
func (in *Injector) Faults() []Fault {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]Fault(nil), in.faults...)
}

// Injected counts the faults injected on op ("" for all operations).
func (in *Injector) Injected(op Op) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, f := range in.faults {
		if op == "" || f.Op == op {
			n++
		}
	}
	return n
}

// Inner is the wrapped store.
func (in *Injector) Inner() history.Store { return in.inner }

// Store returns the faulty store. It implements history.Notifier and history.Admin when
// the inner store does, passing those calls through untouched.
func (in *Injector) Store() history.Store {
	base := &Store{in: in}
	n, isN := in.inner.(history.Notifier)
	a, isA := in.inner.(history.Admin)
	switch {
	case isN && isA:
		return &notifierAdminStore{Store: base, Notifier: n, Admin: a}
	case isN:
		return &notifierStore{Store: base, Notifier: n}
	case isA:
		return &adminStore{Store: base, Admin: a}
	}
	return base
}

type notifierStore struct {
	*Store
	history.Notifier
}

type adminStore struct {
	*Store
	history.Admin
}

type notifierAdminStore struct {
	*Store
	history.Notifier
	history.Admin
}

// decide counts a call of op and returns the rule that hits it, if any.
func (in *Injector) decide(op Op) (Rule, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.calls[op]++
	n := in.calls[op]
	if in.disabled {
		return Rule{}, false
	}
	for _, r := range in.rules {
		if r.Op != op || (r.Max > 0 && r.hits >= r.Max) {
			continue
		}
		k := n - r.base
		hit := false
		switch {
		case r.Nth > 0:
			hit = k == r.Nth || (r.Every > 0 && k > r.Nth && (k-r.Nth)%r.Every == 0)
			if hit && r.Odds > 0 {
				hit = in.rng.Float64() < r.Odds
			}
		case r.Odds > 0:
			hit = in.rng.Float64() < r.Odds
		default:
			hit = true
		}
		if hit {
			r.hits++
			in.faults = append(in.faults, Fault{Op: op, Call: n, Action: r.Action, After: r.After})
			return r.Rule, true
		}
	}
	return Rule{}, false
}

// errorOf is the error a Fail rule returns.
func errorOf(op Op, r Rule) error {
	if r.Err != nil {
		return r.Err
	}
	return &history.StoreError{Op: string(op), Err: fmt.Errorf("%w: %s", ErrInjected, op), Retryable: true}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// call runs fn under the rules for op.
func call(ctx context.Context, in *Injector, op Op, fn func() error) error {
	r, hit := in.decide(op)
	if !hit {
		return fn()
	}
	switch r.Action {
	case Delay:
		if !r.After {
			if err := sleep(ctx, r.Delay); err != nil {
				return &history.StoreError{Op: string(op), Err: err}
			}
			return fn()
		}
		err := fn()
		_ = sleep(ctx, r.Delay) // the inner call's result stands, late
		return err
	default:
		if !r.After {
			return errorOf(op, r)
		}
		if err := fn(); err != nil {
			return err // the inner call failed by itself: report that
		}
		return errorOf(op, r)
	}
}

// Store is the faulty history.Store; get one from Injector.Store.
type Store struct{ in *Injector }

// CreateInstance implements history.Store.
func (s *Store) CreateInstance(ctx context.Context, start history.Message) error {
	return call(ctx, s.in, OpCreateInstance, func() error { return s.in.inner.CreateInstance(ctx, start) })
}

// SendMessage implements history.Store.
func (s *Store) SendMessage(ctx context.Context, msg history.Message) error {
	return call(ctx, s.in, OpSendMessage, func() error { return s.in.inner.SendMessage(ctx, msg) })
}

// InstanceState implements history.Store.
func (s *Store) InstanceState(ctx context.Context, instance string) (st history.InstanceState, err error) {
	err = call(ctx, s.in, OpInstanceState, func() (err error) {
		st, err = s.in.inner.InstanceState(ctx, instance)
		return err
	})
	return st, err
}

// ReadHistory implements history.Store.
func (s *Store) ReadHistory(ctx context.Context, instance string, executionID uint64) (evs []history.Event, err error) {
	err = call(ctx, s.in, OpReadHistory, func() (err error) {
		evs, err = s.in.inner.ReadHistory(ctx, instance, executionID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return evs, nil
}

// GetKV implements history.Store.
func (s *Store) GetKV(ctx context.Context, instance, key string) (v string, ok bool, err error) {
	err = call(ctx, s.in, OpGetKV, func() (err error) {
		v, ok, err = s.in.inner.GetKV(ctx, instance, key)
		return err
	})
	if err != nil {
		return "", false, err
	}
	return v, ok, nil
}

// GetAllKV implements history.Store.
func (s *Store) GetAllKV(ctx context.Context, instance string) (m map[string]string, err error) {
	err = call(ctx, s.in, OpGetAllKV, func() (err error) {
		m, err = s.in.inner.GetAllKV(ctx, instance)
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// FetchOrchestration implements history.Store. A fault injected after the fetch leaves
// the instance locked until its lock expires, as a lost reply would.
func (s *Store) FetchOrchestration(ctx context.Context, req history.FetchOrchestrationRequest) (l *history.OrchestrationLease, err error) {
	err = call(ctx, s.in, OpFetchOrchestration, func() (err error) {
		l, err = s.in.inner.FetchOrchestration(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// CommitOrchestration implements history.Store.
func (s *Store) CommitOrchestration(ctx context.Context, lockToken string, c history.Commit) (res history.CommitResult, err error) {
	err = call(ctx, s.in, OpCommitOrchestration, func() (err error) {
		res, err = s.in.inner.CommitOrchestration(ctx, lockToken, c)
		return err
	})
	if err != nil {
		return history.CommitResult{}, err
	}
	return res, nil
}

// AbandonOrchestration implements history.Store.
func (s *Store) AbandonOrchestration(ctx context.Context, lockToken string, delay time.Duration, ignoreAttempt bool) error {
	return call(ctx, s.in, OpAbandonOrchestration, func() error {
		return s.in.inner.AbandonOrchestration(ctx, lockToken, delay, ignoreAttempt)
	})
}

// RenewOrchestrationLock implements history.Store.
func (s *Store) RenewOrchestrationLock(ctx context.Context, lockToken string, extend time.Duration) error {
	return call(ctx, s.in, OpRenewOrchestrationLock, func() error {
		return s.in.inner.RenewOrchestrationLock(ctx, lockToken, extend)
	})
}

// FetchActivity implements history.Store.
func (s *Store) FetchActivity(ctx context.Context, req history.FetchActivityRequest) (l *history.ActivityLease, err error) {
	err = call(ctx, s.in, OpFetchActivity, func() (err error) {
		l, err = s.in.inner.FetchActivity(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// CompleteActivity implements history.Store.
func (s *Store) CompleteActivity(ctx context.Context, lockToken string, completion *history.Message) error {
	return call(ctx, s.in, OpCompleteActivity, func() error {
		return s.in.inner.CompleteActivity(ctx, lockToken, completion)
	})
}

// AbandonActivity implements history.Store.
func (s *Store) AbandonActivity(ctx context.Context, lockToken string, delay time.Duration, ignoreAttempt bool) error {
	return call(ctx, s.in, OpAbandonActivity, func() error {
		return s.in.inner.AbandonActivity(ctx, lockToken, delay, ignoreAttempt)
	})
}

// RenewActivityLock implements history.Store.
func (s *Store) RenewActivityLock(ctx context.Context, lockToken string, extend time.Duration) error {
	return call(ctx, s.in, OpRenewActivityLock, func() error {
		return s.in.inner.RenewActivityLock(ctx, lockToken, extend)
	})
}

// RenewSessionLocks implements history.Store.
func (s *Store) RenewSessionLocks(ctx context.Context, owners []string, extend, idleTimeout time.Duration) (n int, err error) {
	err = call(ctx, s.in, OpRenewSessionLocks, func() (err error) {
		n, err = s.in.inner.RenewSessionLocks(ctx, owners, extend, idleTimeout)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// CleanupSessions implements history.Store.
func (s *Store) CleanupSessions(ctx context.Context) (n int, err error) {
	err = call(ctx, s.in, OpCleanupSessions, func() (err error) {
		n, err = s.in.inner.CleanupSessions(ctx)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Close closes the inner store.
func (s *Store) Close() error { return s.in.inner.Close() }
