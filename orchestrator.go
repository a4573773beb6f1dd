package duroxide

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

// The orchestration dispatcher: fetch a locked batch for one instance, run one turn of
// the replay engine, commit the result atomically.

func (rt *Runtime) orchestrationLoop(ctx context.Context, workerID string) {
	defer rt.orchDone.Done()
	var signal <-chan struct{}
	if rt.notifier != nil {
		signal = rt.notifier.OrchestratorWork()
	}
	failures := 0
	waitFirst := false // the last batch came from a drained queue: wait for a signal
	for ctx.Err() == nil {
		if waitFirst {
			waitFirst = false
			rt.idle(ctx, signal, rt.orchWake, rt.opts.DispatcherPollInterval)
			continue
		}
		var taken, stale *yield.Execution
		req := history.FetchOrchestrationRequest{
			LockTimeout: rt.opts.OrchestratorLockTimeout,
			// Called inside the store's fetch: only look up, close later.
			HistoryAfter: func(instance string, executionID uint64) uint64 {
				taken = rt.cache.take(instance)
				if taken != nil && (taken.ExecutionID() != executionID || taken.Finished()) {
					stale, taken = taken, nil
				}
				if taken == nil {
					return 0
				}
				return taken.LastEventID()
			},
		}
		turnsDone, emptyFetches := rt.turnsDone.Load(), rt.emptyFetches.Load()
		lease, err := rt.store.FetchOrchestration(ctx, req)
		if stale != nil {
			rt.closeExecution(stale)
		}
		if err != nil || lease == nil {
			if taken != nil {
				rt.closeExecution(taken)
			}
			if err != nil {
				rt.fetchFailed(ctx, err, &failures, workerID, "fetching orchestration work failed")
				continue
			}
			failures = 0
			// Messages for an instance whose turn was running were not fetchable: the
			// dispatcher ending that turn fetches again when it sees this empty fetch,
			// and if the turn ended while this fetch ran, this dispatcher does.
			rt.emptyFetches.Add(1)
			if rt.turnsDone.Load() != turnsDone {
				continue
			}
			rt.idle(ctx, signal, rt.orchWake, rt.opts.DispatcherPollInterval)
			continue
		}
		failures = 0
		rt.metrics.orchFetched.Add(1)
		if !lease.Drained {
			wakePeer(rt.orchWake)
		}
		rt.processTurn(lease, taken, workerID)
		rt.turnsDone.Add(1)
		// With a drained queue, fetch again only if a fetch came back empty meanwhile
		// (it may have missed a message of this instance); new work signals.
		waitFirst = lease.Drained && rt.emptyFetches.Load() == emptyFetches
	}
}

// closeExecution unwinds an execution leaving memory and counts stranded coroutines.
func (rt *Runtime) closeExecution(ex *yield.Execution) {
	ex.Close()
	if n := ex.Stranded(); n > 0 {
		rt.metrics.stranded.Add(int64(n))
	}
	if n := ex.Stuck(); n > 0 {
		rt.metrics.stuck.Add(int64(n))
	}
}

// processTurn runs one turn for a locked batch. cached is the instance's execution kept
// from its previous turn, when the lease's history starts after it.
func (rt *Runtime) processTurn(lease *history.OrchestrationLease, cached *yield.Execution, workerID string) {
	ctx := context.Background() // a turn in flight finishes even while the runtime stops
	st := lease.State
	log := rt.log.orchestration.With().Str("instance_id", lease.Instance).Uint64("execution_id", st.ExecutionID).
		Str("orchestration_name", st.Name).Str("worker_id", workerID).Logger()

	discard := func(why string) {
		if cached != nil {
			rt.closeExecution(cached)
		}
		log.Debug().Str("reason", why).Int("messages", len(lease.Messages)).Msg("discarding messages")
		rt.commit(ctx, lease, history.Commit{ExecutionID: st.ExecutionID}, &log)
	}
	if st.Instance == "" {
		discard("instance no longer exists")
		return
	}
	if lease.HistoryErr != nil {
		rt.historyUnreadable(ctx, lease, &log)
		return
	}
	if cached != nil && slices.ContainsFunc(lease.Messages, func(m history.Message) bool { return m.Kind == history.MsgStartOrchestration }) {
		// A start message only comes with a newly created instance row: the instance was
		// deleted and its id used again. The cached execution is the old one's.
		rt.closeExecution(cached)
		cached = nil
		hist, err := rt.store.ReadHistory(ctx, lease.Instance, st.ExecutionID)
		if err != nil {
			log.Warn().Err(err).Msg("reading the history of a recreated instance failed; will retry")
			rt.abandon(ctx, lease.LockToken, 50*time.Millisecond, &log)
			return
		}
		lease.History, lease.HistoryAfter = hist, 0
	}

	// Which execution does the batch drive?
	var start *history.Message
	newExecution := false
	switch {
	case st.Status.IsTerminal():
		discard("instance already " + string(st.Status))
		return
	case st.Status == history.StatusContinuedAsNew:
		for i := range lease.Messages {
			if m := &lease.Messages[i]; m.Kind == history.MsgContinueAsNew && m.ExecutionID == st.ExecutionID {
				start = m
				break
			}
		}
		if start == nil {
			discard("stale messages for a continued execution")
			return
		}
		newExecution = true
	case len(lease.History) == 0 && lease.HistoryAfter == 0:
		for i := range lease.Messages {
			if m := &lease.Messages[i]; m.Kind == history.MsgStartOrchestration {
				start = m
				break
			}
		}
		newExecution = true
	}

	msgs := lease.Messages
	version := st.Version
	if newExecution {
		if cached != nil {
			rt.closeExecution(cached)
			cached = nil
		}
		if start != nil {
			version = start.Version
			msgs = startFirst(lease.Messages, start)
		}
	}
	fn, resolved, ok := rt.reg.resolve(st.Name, version)
	if !ok && lease.Attempt <= rt.opts.MaxDeliveryAttempts {
		if cached != nil {
			rt.closeExecution(cached)
		}
		rt.metrics.unregistered.Add(1)
		delay := backoff(rt.opts.UnregisteredBackoff, lease.Attempt-1, 60*time.Second)
		log.Warn().Str("orchestration_version", version).Int("attempt", lease.Attempt).Dur("retry_in", delay).
			Msg("orchestration not registered in this runtime; will retry")
		rt.abandon(ctx, lease.LockToken, delay, &log)
		return
	}

	ex := cached
	if ex != nil {
		rt.metrics.cacheHits.Add(1)
	} else {
		if !newExecution {
			rt.metrics.cacheMisses.Add(1)
		}
		ex = yield.NewExecution(fn, yield.Options{
			InstanceID: lease.Instance, Version: resolved, KV: lease.KV,
			MaxHistoryEvents: rt.opts.MaxHistoryEvents, StepBudget: rt.opts.StepBudget, MaxPayloadBytes: rt.opts.MaxPayloadBytes,
			StuckTimeout: max(rt.opts.StuckCodeTimeout, 0), Trace: rt.traceFunc(),
		})
	}
	in := yield.TurnInput{History: lease.History, Messages: msgs, NowMs: time.Now().UnixMilli()}
	if newExecution {
		in.History = nil // after continue-as-new the lease still carries the old execution's events
	}
	if lease.Attempt > rt.opts.MaxDeliveryAttempts {
		in.Fail = &history.ErrorDetails{Category: history.CategoryPoison, Kind: history.KindPoisonOrchestration,
			Instance: lease.Instance, AttemptCount: lease.Attempt, MaxAttempts: rt.opts.MaxDeliveryAttempts}
		if !ok {
			in.Fail.Message = "orchestration " + st.Name + " " + version + " is not registered"
		}
		log.Error().Int("attempt", lease.Attempt).Msg("poison: orchestration batch exceeded its delivery attempts")
	}

	stopRenew := rt.renewOrchestrationLock(lease.LockToken, &log)
	res := ex.Turn(in)
	stopRenew()
	rt.metrics.turns.Add(1)

	c := history.Commit{
		ExecutionID: ex.ExecutionID(), Delta: res.Delta, Status: history.StatusRunning,
		Messages: res.Messages, Activities: res.Activities, CancelledActivities: res.CancelledActivities,
	}
	switch res.Outcome {
	case yield.OutcomeCompleted:
		c.Status, c.Output = history.StatusCompleted, res.Output.Raw()
	case yield.OutcomeFailed, yield.OutcomeCancelled:
		c.Status, c.Error = history.StatusFailed, res.Error
	case yield.OutcomeContinuedAsNew:
		c.Status, c.Output = history.StatusContinuedAsNew, res.Output.Raw()
	}
	if !rt.commit(ctx, lease, c, &log) {
		rt.closeExecution(ex) // its state is ahead of the store: the next turn replays
		return
	}
	for _, ref := range res.CancelledActivities {
		rt.running.cancel(ref)
	}
	if newExecution {
		rt.metrics.orchStarts.Add(1)
	}
	for _, m := range res.Messages {
		if m.Kind == history.MsgStartOrchestration && m.ParentInstance != "" {
			rt.metrics.subCalls.Add(1)
		}
	}
	switch res.Outcome {
	case yield.OutcomeContinue:
		rt.cache.put(lease.Instance, ex)
		return
	case yield.OutcomeCompleted:
		rt.metrics.orchCompletions.Add(1)
		log.Info().Msg("orchestration completed")
	case yield.OutcomeContinuedAsNew:
		rt.metrics.continueAsNew.Add(1)
		log.Debug().Msg("orchestration continued as new")
	default:
		rt.metrics.orchFailed(res.Error)
		if res.Error.Kind == history.KindStuckCode {
			log.Error().Str("error", res.Error.DisplayMessage()).Str("stack", res.Error.Stack).
				Msg("orchestration code is stuck: instance failed, its goroutine abandoned")
			break
		}
		log.Warn().Str("error", res.Error.DisplayMessage()).Str("category", string(res.Error.Category)).Msg("orchestration failed")
	}
	rt.closeExecution(ex)
}

// startFirst puts the start message first: the engine writes OrchestrationStarted from
// the first start message it sees, and other start messages in the batch are stale.
func startFirst(msgs []history.Message, start *history.Message) []history.Message {
	out := make([]history.Message, 0, len(msgs))
	out = append(out, *start)
	for i := range msgs {
		if &msgs[i] != start && !msgs[i].IsStart() {
			out = append(out, msgs[i])
		}
	}
	return out
}

// commit records the turn, retrying transient store failures; false when it could not.
func (rt *Runtime) commit(ctx context.Context, lease *history.OrchestrationLease, c history.Commit, log *zerolog.Logger) bool {
	attempts := 0
	var res history.CommitResult
	c.LeaseActivities = rt.leaseRequest(&c)
	err := retryStore(ctx, 5, func() error {
		attempts++
		var err error
		res, err = rt.store.CommitOrchestration(ctx, lease.LockToken, c)
		return err
	})
	rt.dispatchLeases(c.LeaseActivities, res.Leases) // res is zero when the commit failed
	if attempts > 1 {
		rt.metrics.commitsRetried.Add(int64(attempts - 1))
	}
	for _, m := range res.Rejected {
		log.Warn().Str("child_instance", m.Instance).Str("child_orchestration", m.Name).Bool("detached", m.ParentInstance == "").
			Msg("start skipped: instance id already in use")
	}
	if err == nil {
		return true
	}
	rt.metrics.providerErrors.Add(1)
	if errors.Is(err, history.ErrLockLost) {
		log.Warn().Err(err).Msg("turn discarded: the instance lock was lost (another runtime will redo it)")
		return false
	}
	log.Error().Err(err).Msg("commit failed; the batch will be retried")
	rt.abandon(ctx, lease.LockToken, 50*time.Millisecond, log)
	return false
}

func (rt *Runtime) abandon(ctx context.Context, token string, delay time.Duration, log *zerolog.Logger) {
	err := retryStore(ctx, 3, func() error { return rt.store.AbandonOrchestration(ctx, token, delay, false) })
	if err != nil && !errors.Is(err, history.ErrLockLost) {
		log.Warn().Err(err).Msg("abandoning the batch failed; its lock will expire")
	}
}

// historyUnreadable handles a batch whose history rows cannot be decoded: retry later,
// and after the delivery attempts fail the instance without touching its history.
func (rt *Runtime) historyUnreadable(ctx context.Context, lease *history.OrchestrationLease, log *zerolog.Logger) {
	if lease.Attempt <= rt.opts.MaxDeliveryAttempts {
		log.Error().Err(lease.HistoryErr).Int("attempt", lease.Attempt).Msg("history cannot be decoded; will retry")
		rt.abandon(ctx, lease.LockToken, time.Second, log)
		return
	}
	rt.metrics.orchFailed(&history.ErrorDetails{Category: history.CategoryPoison})
	d := &history.ErrorDetails{Category: history.CategoryPoison, Kind: history.KindPoisonDecode, Instance: lease.Instance,
		AttemptCount: lease.Attempt, MaxAttempts: rt.opts.MaxDeliveryAttempts, Message: lease.HistoryErr.Error()}
	log.Error().Err(lease.HistoryErr).Msg("poison: history cannot be decoded; failing the instance")
	rt.commit(ctx, lease, history.Commit{ExecutionID: lease.State.ExecutionID, Status: history.StatusFailed, Error: d}, log)
}

// renewOrchestrationLock keeps the instance locked while a long turn runs.
func (rt *Runtime) renewOrchestrationLock(token string, log *zerolog.Logger) (stop func()) {
	timeout := rt.opts.OrchestratorLockTimeout
	return keepRenewing(max(timeout/2, 50*time.Millisecond), func() bool {
		if err := rt.store.RenewOrchestrationLock(context.Background(), token, timeout); err != nil {
			log.Warn().Err(err).Msg("renewing the instance lock failed")
			return false
		}
		return true
	})
}

// traceFunc routes orchestration traces to the orchestration logger.
func (rt *Runtime) traceFunc() func(yield.TraceRecord) {
	return func(r yield.TraceRecord) {
		lvl, err := zerolog.ParseLevel(r.Level)
		if err != nil {
			lvl = zerolog.InfoLevel
		}
		rt.log.orchestration.WithLevel(lvl).Str("instance_id", r.InstanceID).Uint64("execution_id", r.ExecutionID).
			Str("orchestration_name", r.OrchestrationName).Str("orchestration_version", r.OrchestrationVersion).Msg(r.Message)
	}
}
