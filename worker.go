package duroxide

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/rs/zerolog"

	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

// The worker dispatcher: fetch a locked activity, run it while renewing its lock, and
// complete it with its result. A lost lock means the activity was cancelled (withdrawn by
// its orchestration) or taken over after expiry: its result is then dropped.

func (rt *Runtime) workerLoop(ctx context.Context, workerID string) {
	defer rt.workDone.Done()
	w := &workerState{id: workerID}
	if rt.notifier != nil {
		w.signal = rt.notifier.WorkerWork()
	}
	for ctx.Err() == nil {
		lease, leased := rt.nextActivity(ctx, w)
		if lease == nil {
			continue
		}
		rt.metrics.workFetched.Add(1)
		w.waitFirst = leased
		if session := lease.Work.SessionID; session != "" {
			if !rt.sessions.enter(session) {
				// Another worker of this runtime took a new session first: leave this one
				// for a node with room (the fetch-time check cannot be atomic).
				bg := context.Background()
				if err := rt.store.AbandonActivity(bg, lease.LockToken, 100*time.Millisecond, true); err != nil {
					rt.log.activity.Warn().Err(err).Str("session_id", session).Msg("releasing a session activity over the session limit failed")
				}
				continue
			}
			rt.runActivity(lease, workerID)
			rt.sessions.leave(session)
			continue
		}
		rt.runActivity(lease, workerID)
	}
}

// workerState is what a worker dispatcher keeps between activities.
type workerState struct {
	id       string
	signal   <-chan struct{} // the store's worker signal; nil without a notifier
	failures int             // fetches failed in a row
	// After a leased activity the worker waits instead of fetching: work queued for
	// fetching meanwhile signalled the store channel (kept until a worker takes it), and
	// a fetch would mostly find nothing. It still fetches at least once per poll
	// interval, for work whose signal it cannot get (a store without notifications).
	waitFirst bool
	lastFetch time.Time
}

// nextActivity returns the next activity to run and whether a commit of this runtime
// handed it over (leased); nil when there is none yet (the worker waited, a fetch
// failed, or a lease had gone stale).
func (rt *Runtime) nextActivity(ctx context.Context, w *workerState) (*history.ActivityLease, bool) {
	// A lease handed over by a commit comes first: it is locked for us already.
	select {
	case la := <-rt.leased:
		return rt.takeLease(la), true
	default:
	}
	if w.waitFirst && time.Since(w.lastFetch) < rt.opts.DispatcherPollInterval {
		w.waitFirst = false
		if la, ok := rt.idleWorker(ctx, w.signal); ok {
			return rt.takeLease(la), true
		}
	}
	w.lastFetch = time.Now()
	lease, err := rt.store.FetchActivity(ctx, history.FetchActivityRequest{
		LockTimeout: rt.opts.WorkerLockTimeout, Tags: rt.opts.WorkerTagFilter, Session: rt.sessionFetch(),
	})
	if err != nil {
		rt.fetchFailed(ctx, err, &w.failures, w.id, "fetching activity work failed")
		return nil, false
	}
	w.failures = 0
	if lease != nil {
		wakePeer(rt.workWake)
		return lease, false
	}
	if la, ok := rt.idleWorker(ctx, w.signal); ok {
		return rt.takeLease(la), true
	}
	return nil, false
}

// idleWorker waits, counted among the idle workers, for a store signal, a peer's
// wake-up, the poll interval or a lease handed over by a commit (returned).
func (rt *Runtime) idleWorker(ctx context.Context, storeSignal <-chan struct{}) (leasedActivity, bool) {
	rt.idleWorkers.Add(1)
	defer rt.idleWorkers.Add(-1)
	t := time.NewTimer(rt.opts.DispatcherPollInterval)
	defer t.Stop()
	select {
	case la := <-rt.leased:
		return la, true
	case <-ctx.Done():
	case <-storeSignal:
	case <-rt.workWake:
	case <-t.C:
	}
	return leasedActivity{}, false
}

func (rt *Runtime) runActivity(lease *history.ActivityLease, workerID string) {
	bg := context.Background() // store calls of a running activity outlive the runtime's stop
	w := lease.Work
	ref := history.ActivityRef{Instance: w.Instance, ExecutionID: w.ExecutionID, ID: w.ID}
	log := rt.log.activity.With().Str("instance_id", w.Instance).Uint64("execution_id", w.ExecutionID).
		Str("orchestration_name", w.OrchestrationName).Str("orchestration_version", w.OrchestrationVersion).
		Str("activity_name", w.Name).Uint64("activity_id", w.ID).Str("worker_id", workerID).Logger()
	if w.SessionID != "" {
		log = log.With().Str("session_id", w.SessionID).Logger()
	}

	if lease.WorkErr != nil {
		// A corrupt row: fail the activity, so its orchestration sees a clear error
		// instead of waiting for an activity that can never run.
		rt.metrics.actPoison.Add(1)
		log.Error().Err(lease.WorkErr).Msg("poison: the stored activity cannot be decoded; failing it")
		d := &history.ErrorDetails{Category: history.CategoryPoison, Kind: history.KindPoisonDecode, Instance: w.Instance,
			ActivityID: w.ID, AttemptCount: lease.Attempt, MaxAttempts: rt.opts.MaxDeliveryAttempts, Message: lease.WorkErr.Error()}
		rt.completeActivity(lease, &history.Message{Kind: history.MsgActivityFailed, Instance: w.Instance, ExecutionID: w.ExecutionID, ID: w.ID, Error: d}, &log)
		return
	}
	if lease.Attempt > rt.opts.MaxDeliveryAttempts {
		rt.metrics.actPoison.Add(1)
		log.Error().Int("attempt", lease.Attempt).Msg("poison: activity exceeded its delivery attempts")
		d := &history.ErrorDetails{Category: history.CategoryPoison, Kind: history.KindPoisonActivity, Instance: w.Instance,
			ActivityName: w.Name, ActivityID: w.ID, AttemptCount: lease.Attempt, MaxAttempts: rt.opts.MaxDeliveryAttempts}
		rt.completeActivity(lease, &history.Message{Kind: history.MsgActivityFailed, Instance: w.Instance, ExecutionID: w.ExecutionID, ID: w.ID, Error: d}, &log)
		return
	}
	fn, ok := rt.activityFunc(w.Name)
	if !ok {
		rt.metrics.unregistered.Add(1)
		rt.metrics.actConfig.Add(1)
		delay := backoff(rt.opts.UnregisteredBackoff, lease.Attempt-1, 60*time.Second)
		log.Warn().Int("attempt", lease.Attempt).Dur("retry_in", delay).Msg("activity not registered in this runtime; will retry")
		if err := retryStore(bg, 3, func() error { return rt.store.AbandonActivity(bg, lease.LockToken, delay, false) }); err != nil {
			log.Warn().Err(err).Msg("abandoning the activity failed; its lock will expire")
		}
		return
	}

	actx, cancel := context.WithCancel(bg)
	defer cancel()
	a := &ActivityContext{work: w, workerID: workerID, ctx: actx, cancel: cancel, client: rt.client, log: log}
	rt.running.add(ref, a)
	defer rt.running.remove(ref)
	stopRenew := rt.renewActivityLock(lease.LockToken, a, &log)
	out, err := callActivity(fn, a, yield.RawValue(w.Input))
	stopRenew()

	if a.stopping.Load() {
		// Interrupted by Shutdown: the orchestration still needs it, so it runs again.
		log.Info().Msg("activity interrupted by shutdown; it will run again")
		if err := rt.store.AbandonActivity(bg, lease.LockToken, 0, true); err != nil && !errors.Is(err, history.ErrLockLost) {
			log.Warn().Err(err).Msg("releasing the interrupted activity failed; its lock will expire")
		}
		return
	}
	if a.IsCancelled() {
		rt.metrics.actCancelled.Add(1)
		log.Debug().Msg("activity cancelled; its result is dropped")
		// Remove it if the lock is still ours (a local cancel); a lost lock means it is gone.
		_ = rt.store.CompleteActivity(bg, lease.LockToken, nil)
		return
	}
	msg := history.Message{Instance: w.Instance, ExecutionID: w.ExecutionID, ID: w.ID}
	if err == nil {
		var v yield.Value
		if v, err = yield.ValueOf(out); err == nil && len(v.Raw()) > rt.opts.MaxPayloadBytes {
			err = NonRetryable(fmt.Errorf("result is %d bytes (limit %d)", len(v.Raw()), rt.opts.MaxPayloadBytes))
		}
		msg.Kind, msg.Result = history.MsgActivityCompleted, payload(v)
	}
	if err != nil {
		rt.metrics.actApp.Add(1)
		d := history.Application(history.KindActivityFailed, fmt.Sprintf("Activity '%s' call failed: %s", w.Name, err))
		d.NonRetryable = IsNonRetryable(err)
		var pe *activityPanic
		if errors.As(err, &pe) {
			d.Stack = pe.stack
		}
		msg.Kind, msg.Result, msg.Error = history.MsgActivityFailed, nil, d
		log.Debug().Err(err).Msg("activity failed")
	} else {
		rt.metrics.actSuccess.Add(1)
	}
	rt.completeActivity(lease, &msg, &log)
}

// activityFunc finds a registered activity or a built-in system activity.
func (rt *Runtime) activityFunc(name string) (Activity, bool) {
	if name == yield.SysGetKVActivity {
		return rt.getKVFromInstance, true
	}
	return rt.reg.activity(name)
}

// getKVFromInstance serves ctx.GetKVValueFromInstance.
func (rt *Runtime) getKVFromInstance(a *ActivityContext, input yield.Value) (any, error) {
	var req struct {
		InstanceID string `json:"instance_id"`
		Key        string `json:"key"`
	}
	if err := input.Decode(&req); err != nil {
		return nil, NonRetryable(fmt.Errorf("get_kv_value: invalid input: %w", err))
	}
	if req.InstanceID == "" || req.Key == "" {
		return nil, NonRetryable(errors.New("get_kv_value: missing instance_id or key"))
	}
	v, ok, err := rt.store.GetKV(a.Context(), req.InstanceID, req.Key)
	if err != nil {
		return nil, fmt.Errorf("get_kv_value: %w", err)
	}
	if !ok {
		return json.RawMessage("null"), nil
	}
	return v, nil
}

type activityPanic struct {
	value any
	stack string
}

func (p *activityPanic) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// callActivity runs fn, turning a panic into an error.
func callActivity(fn Activity, a *ActivityContext, in yield.Value) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, &activityPanic{value: r, stack: string(debug.Stack())}
		}
	}()
	return fn(a, in)
}

func (rt *Runtime) completeActivity(lease *history.ActivityLease, msg *history.Message, log *zerolog.Logger) {
	bg := context.Background()
	err := retryStore(bg, 5, func() error { return rt.store.CompleteActivity(bg, lease.LockToken, msg) })
	switch {
	case err == nil:
	case errors.Is(err, history.ErrLockLost):
		rt.metrics.actCancelled.Add(1)
		log.Debug().Msg("activity result dropped: it was cancelled or its lock expired")
	default:
		rt.metrics.actInfra.Add(1)
		rt.metrics.providerErrors.Add(1)
		log.Error().Err(err).Msg("recording the activity result failed; it will run again")
		_ = rt.store.AbandonActivity(bg, lease.LockToken, 100*time.Millisecond, false)
	}
}

// renewActivityLock keeps the activity locked while it runs; a lost lock cancels it.
func (rt *Runtime) renewActivityLock(token string, a *ActivityContext, log *zerolog.Logger) (stop func()) {
	timeout := rt.opts.WorkerLockTimeout
	return keepRenewing(max(timeout/2, 10*time.Millisecond), func() bool {
		err := rt.store.RenewActivityLock(context.Background(), token, timeout)
		if errors.Is(err, history.ErrLockLost) {
			log.Debug().Msg("activity lock lost: cancelling the activity")
			a.markCancelled()
			return false
		}
		if err != nil {
			log.Warn().Err(err).Msg("renewing the activity lock failed")
		}
		return true
	})
}
