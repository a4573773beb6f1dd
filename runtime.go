// Package duroxide is a durable-execution runtime: orchestrations are ordinary Go
// functions that yield durable tasks (package yield); the Runtime records every step in
// a store (sqlitestore, pgstore), replays the function after a crash or a restart, and
// resumes it exactly where it was. Activities are plain Go functions run by workers.
// A Client starts, signals and waits for instances from any process.
package duroxide

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

// RuntimeOptions configure a Runtime. The zero value of every field means its default.
type RuntimeOptions struct {
	// OrchestrationConcurrency is the number of turns run at once (default 2); a negative
	// value turns the orchestration dispatcher off (a worker-only runtime).
	OrchestrationConcurrency int
	// WorkerConcurrency is the number of activities run at once (default 2); a negative
	// value turns the worker dispatcher off.
	WorkerConcurrency int
	// DispatcherPollInterval is how often idle dispatchers look for work (default 100 ms).
	// Work queued through a store that signals changes (in this process) is picked up at once.
	DispatcherPollInterval time.Duration
	// WorkerLockTimeout is how long an activity stays locked without renewal (default
	// 30 s). Running activities renew at half of it, which is also how soon an activity
	// cancelled from another process sees IsCancelled.
	WorkerLockTimeout time.Duration
	// OrchestratorLockTimeout is how long an instance stays locked during a turn without
	// renewal (default 5 s); long turns renew it.
	OrchestratorLockTimeout time.Duration
	// MaxDeliveryAttempts is how often a message may be fetched before it is treated as
	// poison and fails its instance or activity (default 10).
	MaxDeliveryAttempts int
	// UnregisteredBackoff is the first wait before retrying work whose orchestration or
	// activity is not registered here (default 1 s, doubling up to 60 s).
	UnregisteredBackoff time.Duration
	// InstanceCacheSize bounds the instances kept in memory between turns, coroutines
	// parked, so a turn feeds only new messages instead of replaying the history
	// (default 1,000; negative disables the cache: every turn replays).
	InstanceCacheSize int
	// StepBudget caps the new steps one turn records before it commits and continues in
	// a fresh turn (default 10,000).
	StepBudget int
	// MaxHistoryEvents caps the events of one execution (default 50,000).
	MaxHistoryEvents int
	// MaxPayloadBytes caps any single payload the runtime records: task inputs,
	// orchestration outputs, activity results (default 16 MiB).
	MaxPayloadBytes int
	// WorkerTagFilter selects the activities this runtime's workers take by their tag
	// (Task.WithTag). The zero value takes untagged activities only; TagsOnly,
	// DefaultAndTags and AnyTag widen it; NoTags runs no worker at all (like a negative
	// WorkerConcurrency). A tagged activity that no runtime's filter accepts waits forever:
	// race it against a timer.
	WorkerTagFilter TagFilter
	// MaxSessionsPerRuntime bounds the sessions this runtime's workers own at once
	// (default 10). Activities scheduled on a session (ScheduleActivityOnSession) all run on
	// the worker node that owns the session; a runtime at its limit takes no new session.
	MaxSessionsPerRuntime int
	// SessionIdleTimeout is how long a session stays owned without any activity before its
	// owner releases it (default 5 min).
	SessionIdleTimeout time.Duration
	// WorkerNodeID names this runtime's worker node for session ownership. Sessions belong
	// to a node, so a runtime restarted with the same WorkerNodeID keeps its sessions; when
	// empty, a random id is made per runtime and sessions move to another runtime once the
	// owner stops renewing them.
	WorkerNodeID string
	// StuckCodeTimeout is how long orchestration code may run without yielding or
	// returning (default 60 s; negative turns the check off). Code that overruns it (a
	// busy loop, a blocking call) fails its instance with ErrorKind infrastructure and
	// the coroutine's stack in the error details, without retry; its goroutine cannot be
	// stopped in Go, so it is abandoned, logged and counted in
	// MetricsSnapshot.StuckCoroutines.
	StuckCodeTimeout time.Duration
	// Logger receives the runtime's logs; nil means a console logger on stderr whose
	// levels come from DUROXIDE_LOG (e.g. "info" or "warn,orchestration=debug").
	Logger *zerolog.Logger
}

func (o RuntimeOptions) withDefaults() RuntimeOptions {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.OrchestrationConcurrency, 2)
	def(&o.WorkerConcurrency, 2)
	def(&o.MaxDeliveryAttempts, 10)
	def(&o.InstanceCacheSize, 1000)
	def(&o.MaxPayloadBytes, yield.DefaultMaxPayloadBytes)
	defDur(&o.DispatcherPollInterval, 100*time.Millisecond)
	defDur(&o.WorkerLockTimeout, 30*time.Second)
	defDur(&o.OrchestratorLockTimeout, 5*time.Second)
	defDur(&o.UnregisteredBackoff, time.Second)
	def(&o.MaxSessionsPerRuntime, 10)
	defDur(&o.SessionIdleTimeout, 5*time.Minute)
	if o.StuckCodeTimeout == 0 {
		o.StuckCodeTimeout = DefaultStuckCodeTimeout
	}
	return o
}

// DefaultStuckCodeTimeout is RuntimeOptions.StuckCodeTimeout's default.
const DefaultStuckCodeTimeout = 60 * time.Second

// Runtime runs orchestrations and activities against a store. Register code, then Start;
// Shutdown stops it. Several runtimes, in one process or many, may share a store.
type Runtime struct {
	store    history.Store
	notifier history.Notifier // nil when the store cannot signal
	opts     RuntimeOptions
	log      loggers
	reg      *registry
	client   *Client
	id       string

	mu       sync.Mutex
	state    runState
	cancel   context.CancelFunc
	orchDone sync.WaitGroup
	workDone sync.WaitGroup

	cache    *instanceCache
	running  *runningActivities
	sessions *sessionTracker
	metrics  metrics

	orchWake chan struct{} // wakes an idle orchestration dispatcher (peer hand-off)
	workWake chan struct{}

	// Commit-and-dispatch: a turn's commit queues activities already locked for this
	// runtime when its workers are idle, and hands them over here (leasing.go).
	workers     int          // worker goroutines started (0: no leasing)
	stopping    atomic.Bool  // Shutdown began: no more leasing
	idleWorkers atomic.Int32 // workers waiting for work

	// Orchestration dispatchers skip the fetch after a turn when the queue was drained;
	// these counters tell them when they must not (orchestrator.go).
	turnsDone     atomic.Int64
	emptyFetches  atomic.Int64
	leaseReserved atomic.Int64        // places of leased taken or promised to commits in flight
	leased        chan leasedActivity // leases waiting for a worker
}

type runState int

const (
	stateNew runState = iota
	stateRunning
	stateStopped
)

// NewRuntime returns a runtime on store. It does nothing until Start.
func NewRuntime(store history.Store, opts RuntimeOptions) (*Runtime, error) {
	if store == nil {
		return nil, invalid("nil store")
	}
	if opts.MaxDeliveryAttempts < 0 || opts.StepBudget < 0 || opts.MaxHistoryEvents < 0 || opts.MaxPayloadBytes < 0 || opts.MaxSessionsPerRuntime < 0 {
		return nil, invalid("negative MaxDeliveryAttempts, StepBudget, MaxHistoryEvents, MaxPayloadBytes or MaxSessionsPerRuntime")
	}
	if len(opts.WorkerNodeID) > MaxNameBytes {
		return nil, invalid("WorkerNodeID is longer than %d bytes", MaxNameBytes)
	}
	o := opts.withDefaults()
	var id [2]byte
	_, _ = rand.Read(id[:])
	rt := &Runtime{
		store:    store,
		opts:     o,
		log:      newLoggers(opts.Logger),
		reg:      newRegistry(),
		client:   NewClient(store),
		id:       hex.EncodeToString(id[:]),
		running:  newRunningActivities(),
		sessions: newSessionTracker(o.WorkerNodeID, o.MaxSessionsPerRuntime),
		orchWake: make(chan struct{}, 1),
		workWake: make(chan struct{}, 1),
	}
	rt.cache = newInstanceCache(o.InstanceCacheSize, rt.closeExecution)
	rt.notifier, _ = store.(history.Notifier)
	return rt, nil
}

// RegisterActivity registers fn under name. Empty, duplicate and reserved names fail.
func (rt *Runtime) RegisterActivity(name string, fn Activity) error {
	return rt.reg.addActivity(name, fn)
}

// RegisterOrchestration registers fn as version 1.0.0 of name.
func (rt *Runtime) RegisterOrchestration(name string, fn yield.Orchestration) error {
	return rt.reg.addOrchestration(name, DefaultVersion, fn)
}

// RegisterOrchestrationVersioned registers fn as version (semver) of name. New instances
// and continue-as-new without a version run the latest version; running instances stay
// on the version they started with.
func (rt *Runtime) RegisterOrchestrationVersioned(name, version string, fn yield.Orchestration) error {
	return rt.reg.addOrchestration(name, version, fn)
}

// Client returns a client on the runtime's store.
func (rt *Runtime) Client() *Client { return rt.client }

// Start launches the dispatchers and returns at once. Cancelling ctx stops the runtime
// as Shutdown does (with the default grace of 5 s).
func (rt *Runtime) Start(ctx context.Context) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	switch rt.state {
	case stateRunning:
		return ErrRuntimeStarted
	case stateStopped:
		return fmt.Errorf("%w: a runtime cannot be restarted; create a new one", ErrRuntimeStopped)
	}
	rt.state = stateRunning
	runCtx, cancel := context.WithCancel(context.Background())
	rt.cancel = cancel
	workers := rt.opts.WorkerConcurrency
	if rt.opts.WorkerTagFilter.Mode() == history.TagNone {
		workers = 0
	}
	// Before any dispatcher starts: orchestration dispatchers lease to the workers.
	rt.workers = workers
	rt.leased = make(chan leasedActivity, max(workers, 1))
	for i := 0; i < rt.opts.OrchestrationConcurrency; i++ {
		rt.orchDone.Add(1)
		go rt.orchestrationLoop(runCtx, fmt.Sprintf("orch-%d-%s", i, rt.id))
	}
	for i := 0; i < workers; i++ {
		rt.workDone.Add(1)
		go rt.workerLoop(runCtx, fmt.Sprintf("work-%d-%s", i, rt.id))
	}
	if workers > 0 {
		rt.workDone.Add(1)
		go rt.sessionManager(runCtx)
	}
	if ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				_ = rt.Shutdown(5 * time.Second)
			case <-runCtx.Done():
			}
		}()
	}
	rt.log.runtime.Info().Str("runtime_id", rt.id).Int("orchestration_concurrency", rt.opts.OrchestrationConcurrency).
		Int("worker_concurrency", workers).Stringer("worker_tag_filter", rt.opts.WorkerTagFilter).
		Str("worker_node_id", rt.sessions.owner).Msg("runtime started")
	return nil
}

// Shutdown stops fetching work, lets running turns and activities finish for up to
// timeout, then cancels the activities still running (they see IsCancelled; their
// results are dropped and they run again elsewhere) and unwinds cached instances. It
// returns an error wrapping ErrTimeout if work was still running at the deadline, and
// ErrRuntimeStopped when called again or before Start.
func (rt *Runtime) Shutdown(timeout time.Duration) error {
	rt.mu.Lock()
	if rt.state != stateRunning {
		rt.mu.Unlock()
		return fmt.Errorf("%w: Shutdown called on a runtime that is not running", ErrRuntimeStopped)
	}
	rt.state = stateStopped
	rt.stopping.Store(true)
	rt.cancel()
	rt.mu.Unlock()

	deadline := time.Now().Add(timeout)
	orchDone := waitGroupUntil(&rt.orchDone, deadline)
	workDone := waitGroupUntil(&rt.workDone, deadline)
	if !workDone {
		// Tell the activities still running; give them a moment to return. One that
		// ignores cancellation keeps its goroutine, and its result is recorded if it
		// ever finishes while its lock holds, else it runs again elsewhere.
		rt.running.cancelAll()
		workDone = waitGroupUntil(&rt.workDone, time.Now().Add(shutdownCancelGrace))
	}
	rt.releaseLeases()
	rt.cache.closeAll()
	rt.log.runtime.Info().Str("runtime_id", rt.id).Msg("runtime stopped")
	switch {
	case !orchDone:
		return fmt.Errorf("shutdown: %w: a turn was still running after %s", ErrTimeout, timeout)
	case !workDone:
		return fmt.Errorf("shutdown: %w: activities still running after %s were cancelled and did not return", ErrTimeout, timeout)
	case rt.running.cancelledAny():
		return fmt.Errorf("shutdown: %w: activities still running after %s were cancelled", ErrTimeout, timeout)
	}
	return nil
}

// shutdownCancelGrace is how long Shutdown waits for cancelled activities to return.
const shutdownCancelGrace = 2 * time.Second

// waitGroupUntil waits for wg until deadline; false if the deadline came first.
func waitGroupUntil(wg *sync.WaitGroup, deadline time.Time) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// idle waits for a wake-up, the poll interval or the end of the runtime.
func (rt *Runtime) idle(ctx context.Context, storeSignal <-chan struct{}, peer chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-storeSignal:
	case <-peer:
	case <-t.C:
	}
}

// fetchFailed counts and logs a dispatcher's failed fetch and backs off before the next
// one (100 ms doubling up to 3 s over failures in a row); nothing when the runtime is
// stopping.
func (rt *Runtime) fetchFailed(ctx context.Context, err error, failures *int, workerID, msg string) {
	if ctx.Err() != nil {
		return
	}
	*failures++
	rt.metrics.providerErrors.Add(1)
	rt.log.runtime.Warn().Err(err).Str("worker_id", workerID).Msg(msg)
	sleepCtx(ctx, backoff(100*time.Millisecond, *failures-1, 3*time.Second))
}

// wakePeer passes a wake-up on to another idle dispatcher: one store signal may stand
// for many queued items.
func wakePeer(peer chan struct{}) {
	select {
	case peer <- struct{}{}:
	default:
	}
}

// keepRenewing calls renew every interval, on its own goroutine, until stop is called
// or renew returns false. stop waits for the goroutine to end.
func keepRenewing(interval time.Duration, renew func() bool) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if !renew() {
					return
				}
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// backoff gives min(base·2^n, max).
func backoff(base time.Duration, n int, max time.Duration) time.Duration {
	d := base
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// sleepCtx sleeps d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// retryStore runs op until it succeeds, fails for good, or attempts run out, backing off
// on retryable store errors.
func retryStore(ctx context.Context, attempts int, op func() error) error {
	var err error
	for n := 0; n < attempts; n++ {
		if err = op(); err == nil || !history.IsRetryable(err) || errors.Is(err, context.Canceled) {
			return err
		}
		sleepCtx(ctx, backoff(10*time.Millisecond, n, time.Second))
	}
	return err
}
