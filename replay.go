package duroxide

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

// ReplayOption configures Replay and Client.ReplayInstance.
type ReplayOption func(*replayConfig)

type replayConfig struct {
	kv         map[string]yield.KVEntry
	kvSet      bool
	maxHistory int
	maxPayload int
	stuck      time.Duration
}

// ReplayWithStuckTimeout bounds how long the code may run between two yields during the
// replay (default DefaultStuckCodeTimeout, as in the runtime; negative: no bound). Code
// that overruns it ends the replay with a stuck-code failure instead of hanging it.
func ReplayWithStuckTimeout(d time.Duration) ReplayOption {
	return func(c *replayConfig) { c.stuck = d }
}

// ReplayWithKV sets the KV store the execution started with (what the earlier executions
// of the instance left). Replay starts from an empty KV store without it; ReplayInstance
// rebuilds it from the earlier executions still stored.
func ReplayWithKV(kv map[string]yield.KVEntry) ReplayOption {
	return func(c *replayConfig) {
		c.kv = kv
		c.kvSet = true
	}
}

// ReplayWithLimits sets the history and payload limits the runtime that recorded the
// history ran with (RuntimeOptions.MaxHistoryEvents and MaxPayloadBytes); 0 keeps a
// default.
func ReplayWithLimits(maxHistoryEvents, maxPayloadBytes int) ReplayOption {
	return func(c *replayConfig) {
		c.maxHistory = maxHistoryEvents
		c.maxPayload = maxPayloadBytes
	}
}

// ReplayReport is what a replay found.
type ReplayReport struct {
	// Clean: the code made every recorded step again, in order, and, when the history is
	// finished, ended the execution the same way (same outcome and output). Steps the code
	// makes past the end of a running history (NewSteps) do not make a replay unclean:
	// the runtime records them as new, as it would after a deploy.
	Clean bool
	// InstanceID, ExecutionID, Name and Version come from the history's
	// OrchestrationStarted event.
	InstanceID  string
	ExecutionID uint64
	Name        string
	Version     string
	// Events is the number of recorded events.
	Events int
	// Steps is the number of recorded steps (the code's decisions: activities, timers,
	// waits, children, system calls, custom status and KV writes, cancellations) that the
	// code made again before the first divergence; all of them when Clean.
	Steps int
	// Finished: the history ends with a terminal event (completed, failed, continued as new).
	Finished bool
	// Outcome is how the code left the execution after the whole history: OutcomeContinue
	// when it waits for more, else the terminal outcome it reached.
	Outcome yield.Outcome
	// Output is the code's output (OutcomeCompleted) or next input (OutcomeContinuedAsNew).
	Output yield.Value
	// Error is the failure message when Outcome is OutcomeFailed or OutcomeCancelled.
	Error string
	// NewSteps are the decisions the code made past the recorded ones: what the runtime
	// would record next for a running instance.
	NewSteps []Event
	// Divergence is the first point where the code departs from the history; nil when Clean.
	Divergence *Divergence
}

// Divergence is the first point where orchestration code departs from a recorded history.
// It is an error wrapping history.ErrNondeterminism (duroxide.ErrNondeterminism).
type Divergence struct {
	// Step is the 1-based number of the recorded step where the code departs; one past
	// the last step when the code matched every step but ended differently or went on.
	Step int
	// EventID is the id of the event where they part: the recorded step, or the terminal
	// event of a finished history.
	EventID uint64
	// Recorded is what the history has at that point.
	Recorded *Event
	// Code is what the code did instead: the decision it made, or the terminal event it
	// reached; nil when it made no decision there (it waits for something else).
	Code *Event
	// Message says it in one sentence, naming the step and both sides.
	Message string
}

// Error implements error.
func (d *Divergence) Error() string { return "nondeterministic: " + d.Message }

// Unwrap gives history.ErrNondeterminism, so errors.Is(err, ErrNondeterminism) holds.
func (d *Divergence) Unwrap() error { return history.ErrNondeterminism }

// Replay runs orch over the recorded history of one execution (as Client.ReadExecutionHistory
// returns it) with the pure replay engine, without a store or a runtime, and reports
// whether the code makes the same decisions again. Use it in tests and before deploying a
// change: replay the histories of running instances with the new code.
//
// On a divergence the report names the first nondeterministic step (ReplayReport.Divergence)
// and the error is that *Divergence, wrapped with the orchestration's name, so
// errors.Is(err, ErrNondeterminism) holds. A history that cannot be replayed at all (empty,
// not starting with OrchestrationStarted, mixing executions) gives an error wrapping
// history.ErrCorruptHistory. Activities are not run: their recorded results are delivered
// to the code. A history that ended with a system failure (poison, infrastructure,
// nondeterminism of older code) has its steps checked but not its end.
func Replay(events []Event, orch yield.Orchestration, opts ...ReplayOption) (ReplayReport, error) {
	if orch == nil {
		return ReplayReport{}, invalid("replay: nil orchestration")
	}
	var cfg replayConfig
	for _, o := range opts {
		o(&cfg)
	}
	rec, err := splitHistory(events)
	if err != nil {
		return ReplayReport{}, err
	}
	r := &replayer{orch: orch, cfg: cfg, rec: rec}
	rep := r.run()
	if rep.Divergence != nil {
		return rep, fmt.Errorf("replay of %q (instance %q, execution %d): %w", rep.Name, rep.InstanceID, rep.ExecutionID, rep.Divergence)
	}
	return rep, nil
}

// ReplayInstance reads execution executionID (0: the current one) of instanceID from the
// client's store and replays it with orch, as Replay does. The KV store the execution
// started with is rebuilt from the KV events of the instance's earlier executions still
// stored (pruned ones are skipped); ReplayWithKV overrides it. An unknown instance or
// execution gives an error wrapping ErrNotFound, as does an instance whose first turn has
// not run yet.
func (c *Client) ReplayInstance(ctx context.Context, instanceID string, executionID uint64, orch yield.Orchestration, opts ...ReplayOption) (ReplayReport, error) {
	events, err := c.store.ReadHistory(ctx, instanceID, executionID)
	if err != nil {
		return ReplayReport{}, fmt.Errorf("replay instance %q: %w", instanceID, err)
	}
	if len(events) == 0 {
		return ReplayReport{}, fmt.Errorf("replay instance %q: %w: no history yet (the first turn has not run)", instanceID, ErrNotFound)
	}
	var cfg replayConfig
	for _, o := range opts {
		o(&cfg)
	}
	if !cfg.kvSet {
		kv, err := c.kvBefore(ctx, instanceID, events[0].ExecutionID)
		if err != nil {
			return ReplayReport{}, fmt.Errorf("replay instance %q: %w", instanceID, err)
		}
		opts = append(slices.Clip(opts), ReplayWithKV(kv))
	}
	return Replay(events, orch, opts...)
}

// kvBefore folds the KV events of executions 1..executionID-1 into the KV store the
// execution started with.
func (c *Client) kvBefore(ctx context.Context, instanceID string, executionID uint64) (map[string]yield.KVEntry, error) {
	kv := map[string]yield.KVEntry{}
	for e := uint64(1); e < executionID; e++ {
		events, err := c.store.ReadHistory(ctx, instanceID, e)
		if errors.Is(err, ErrNotFound) {
			continue // pruned
		}
		if err != nil {
			return nil, err
		}
		for _, ev := range events {
			switch ev.Kind {
			case history.KeyValueSet:
				kv[ev.Key] = yield.KVEntry{Value: ev.Value, UpdatedAtMs: ev.TimestampMs}
			case history.KeyValueCleared:
				delete(kv, ev.Key)
			case history.KeyValuesCleared:
				clear(kv)
			}
		}
	}
	return kv, nil
}

// recordedHistory is a history split for replay.
type recordedHistory struct {
	all      []Event
	body     []Event // without the terminal event
	terminal *Event  // nil for a running execution
	steps    []int   // indices into body of the code's steps (terminal breadcrumbs excluded)
}

func splitHistory(events []Event) (*recordedHistory, error) {
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("replay: %w: %s", history.ErrCorruptHistory, fmt.Sprintf(format, args...))
	}
	if len(events) == 0 {
		return nil, corrupt("empty history")
	}
	if events[0].Kind != history.OrchestrationStarted {
		return nil, corrupt("the first event is %s, not OrchestrationStarted", events[0])
	}
	exec := events[0].ExecutionID
	for i, e := range events {
		if e.ExecutionID != exec {
			return nil, corrupt("event %d belongs to execution %d, the history starts execution %d (replay one execution at a time)", e.EventID, e.ExecutionID, exec)
		}
		if e.Kind.IsTerminal() && i != len(events)-1 {
			return nil, corrupt("%s is followed by more events", e)
		}
		if !e.Kind.Valid() {
			return nil, corrupt("unknown event kind %q at event %d", e.Kind, e.EventID)
		}
	}
	rec := &recordedHistory{all: events, body: events}
	if last := events[len(events)-1]; last.Kind.IsTerminal() {
		rec.terminal = &last
		rec.body = events[:len(events)-1]
	}
	for i, e := range rec.body {
		if e.Kind.IsScheduling() && !isTerminalBreadcrumb(e) {
			rec.steps = append(rec.steps, i)
		}
	}
	return rec, nil
}

// isTerminalBreadcrumb reports whether e is a cancel the engine records when an execution
// ends (not a decision of the code, which cancels with ReasonDroppedFuture).
func isTerminalBreadcrumb(e Event) bool {
	switch e.Kind {
	case history.ActivityCancelRequested, history.SubOrchestrationCancelRequested,
		history.ExternalSubscribedCancelled, history.QueueSubscriptionCancelled:
		switch e.Reason {
		case history.ReasonTerminal, history.ReasonTerminalCompleted, history.ReasonTerminalFailed,
			history.ReasonTerminalContinuedAsNew:
			return true
		}
	}
	return false
}

type replayer struct {
	orch yield.Orchestration
	cfg  replayConfig
	rec  *recordedHistory
}

// turn replays events in a fresh Execution and unwinds it.
func (r *replayer) turn(events []Event) yield.TurnResult {
	ex := yield.NewExecution(r.orch, yield.Options{
		InstanceID:       r.rec.all[0].InstanceID,
		KV:               r.cfg.kv,
		MaxHistoryEvents: r.cfg.maxHistory,
		MaxPayloadBytes:  r.cfg.maxPayload,
		StuckTimeout:     r.stuckTimeout(),
	})
	defer ex.Close()
	return ex.Turn(yield.TurnInput{History: events, NowMs: events[len(events)-1].TimestampMs})
}

func (r *replayer) stuckTimeout() time.Duration {
	switch {
	case r.cfg.stuck == 0:
		return DefaultStuckCodeTimeout
	case r.cfg.stuck < 0:
		return 0
	}
	return r.cfg.stuck
}

// prefix is the history before the j-th step (1-based).
func (r *replayer) prefix(j int) []Event { return r.rec.body[:r.rec.steps[j-1]] }

// step is the j-th recorded step (1-based).
func (r *replayer) step(j int) Event { return r.rec.body[r.rec.steps[j-1]] }

// matches reports whether the code makes the j-th recorded step: replaying the history
// before it, the code makes a new decision (every step of the history is made by the
// time the apply loop reaches it, so the j-th decision is made there), and replaying the
// history up to and including it, the engine matches that decision with the step.
func (r *replayer) matches(j int) bool {
	if decisions(r.turn(r.prefix(j)).Delta) == nil {
		return false
	}
	with := append(slices.Clip(r.prefix(j)), r.step(j))
	return !isReplayFailure(r.turn(with))
}

func (r *replayer) run() ReplayReport {
	rec := r.rec
	start := rec.all[0]
	rep := ReplayReport{
		InstanceID: start.InstanceID, ExecutionID: start.ExecutionID, Name: start.Name, Version: start.Version,
		Events: len(rec.all), Finished: rec.terminal != nil,
	}
	full := r.turn(rec.body)
	rep.Outcome, rep.Output = full.Outcome, full.Output
	if full.Error != nil {
		rep.Error = full.Error.DisplayMessage()
	}
	rep.NewSteps = decisions(full.Delta)

	// A clean full replay can still hide a divergence: code that ends before its last
	// recorded steps stops the apply loop, so the engine never reaches them.
	n := len(rec.steps)
	if isReplayFailure(full) || (full.Outcome.IsTerminal() && n > 0 && !r.matches(n)) {
		// Steps match up to some point and never after: find the first that does not.
		// The engine's message names the step; checking that hint takes four replays,
		// the binary search about two per halving.
		lo, hi := 1, n+1
		if k := stepHint(full); k >= 1 && k <= n && !r.matches(k) && (k == 1 || r.matches(k-1)) {
			lo, hi = k, k
		}
		for lo < hi {
			mid := (lo + hi) / 2
			if r.matches(mid) {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		rep.Steps = lo - 1
		if lo <= n {
			rep.Divergence = r.stepDivergence(lo)
		} else {
			msg := "the replay failed"
			if full.Error != nil {
				msg = full.Error.Message
			}
			rep.Divergence = &Divergence{Step: n + 1, Message: msg}
		}
		return rep
	}
	rep.Steps = n
	if t := rec.terminal; t != nil && !(t.Kind == history.OrchestrationFailed && t.Error != nil && t.Error.IsSystem()) {
		rep.Divergence = r.endDivergence(n+1, t, full)
	}
	rep.Clean = rep.Divergence == nil
	return rep
}

// stepDivergence describes how the code departs at recorded step j.
func (r *replayer) stepDivergence(j int) *Divergence {
	rec := r.step(j)
	d := &Divergence{Step: j, EventID: rec.EventID, Recorded: &rec}
	before := r.turn(r.prefix(j))
	if ds := decisions(before.Delta); ds != nil {
		// The code made a decision there, and the engine refused to match it.
		code := ds[0]
		d.Code = &code
		with := append(slices.Clip(r.prefix(j)), rec)
		if res := r.turn(with); res.Error != nil {
			d.Message = res.Error.Message
		} else {
			d.Message = fmt.Sprintf("step %d: orchestration %s %s, history has %s", j, verb(code), code.Describe(), rec)
		}
		return d
	}
	if before.Outcome.IsTerminal() {
		end := before.Delta[len(before.Delta)-1]
		d.Code = &end
		d.Message = fmt.Sprintf("step %d: history has %s, but the orchestration %s first", j, rec, describeOutcome(before))
		return d
	}
	d.Message = fmt.Sprintf("step %d: history has %s, but the orchestration did not schedule it (it waits for something else)", j, rec)
	return d
}

// endDivergence compares how a finished history ended with how the code ends.
func (r *replayer) endDivergence(step int, t *Event, full yield.TurnResult) *Divergence {
	d := &Divergence{Step: step, EventID: t.EventID, Recorded: t}
	if !full.Outcome.IsTerminal() {
		if ds := decisions(full.Delta); ds != nil {
			code := ds[0]
			d.Code = &code
			d.Message = fmt.Sprintf("step %d: orchestration %s %s, history has %s", step, verb(code), code.Describe(), describeEnd(*t))
			return d
		}
		d.Message = fmt.Sprintf("step %d (the end): history has %s, but the orchestration is still waiting", step, describeEnd(*t))
		return d
	}
	end := full.Delta[len(full.Delta)-1]
	if sameEnd(*t, end) {
		return nil
	}
	d.Code = &end
	d.Message = fmt.Sprintf("step %d (the end): history has %s, but the orchestration %s", step, describeEnd(*t), describeOutcome(full))
	return d
}

// stepHint reads the step number from the engine's nondeterminism message, 0 if none.
func stepHint(res yield.TurnResult) int {
	if res.Error == nil {
		return 0
	}
	m := stepPattern.FindStringSubmatch(res.Error.Message)
	if m == nil {
		return 0
	}
	k, err := strconv.Atoi(m[1])
	if err != nil {
		return 0
	}
	return k
}

var stepPattern = regexp.MustCompile(`\bstep (\d+)\b`)

// decisions lists the code's new steps in a turn's delta, nil when it made none.
func decisions(delta []Event) []Event {
	var out []Event
	for _, e := range delta {
		if e.Kind.IsScheduling() && !isTerminalBreadcrumb(e) {
			out = append(out, e)
		}
	}
	return out
}

// isReplayFailure reports whether the turn failed because code and history disagree.
func isReplayFailure(res yield.TurnResult) bool {
	return res.Outcome == yield.OutcomeFailed && res.Error != nil && errors.Is(res.Error, history.ErrConfiguration)
}

func verb(e Event) string {
	switch e.Kind {
	case history.ActivityCancelRequested, history.SubOrchestrationCancelRequested,
		history.ExternalSubscribedCancelled, history.QueueSubscriptionCancelled:
		return "cancelled"
	case history.CustomStatusUpdated, history.KeyValueSet, history.KeyValueCleared, history.KeyValuesCleared:
		return "recorded"
	}
	return "scheduled"
}

func describeOutcome(res yield.TurnResult) string {
	switch res.Outcome {
	case yield.OutcomeCompleted:
		return "completed with " + shortPayload(res.Output.Raw())
	case yield.OutcomeContinuedAsNew:
		return "continued as new with " + shortPayload(res.Output.Raw())
	case yield.OutcomeCancelled:
		return "was cancelled"
	case yield.OutcomeFailed:
		return fmt.Sprintf("failed (%s)", res.Error.DisplayMessage())
	}
	return "waits"
}

func describeEnd(e Event) string {
	switch e.Kind {
	case history.OrchestrationCompleted:
		return fmt.Sprintf("%s(output=%s) at event %d", e.Kind, shortPayload(e.Output), e.EventID)
	case history.OrchestrationContinuedAsNew:
		return fmt.Sprintf("%s(input=%s) at event %d", e.Kind, shortPayload(e.Input), e.EventID)
	case history.OrchestrationFailed:
		msg := ""
		if e.Error != nil {
			msg = e.Error.DisplayMessage()
		}
		return fmt.Sprintf("%s(%q) at event %d", e.Kind, shortString(msg), e.EventID)
	}
	return e.String()
}

// sameEnd reports whether two terminal events end an execution the same way.
func sameEnd(a, b Event) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case history.OrchestrationCompleted:
		return yield.RawValue(a.Output).Equal(yield.RawValue(b.Output))
	case history.OrchestrationContinuedAsNew:
		return yield.RawValue(a.Input).Equal(yield.RawValue(b.Input)) && a.Version == b.Version
	case history.OrchestrationFailed:
		if a.Error == nil || b.Error == nil {
			return a.Error == b.Error
		}
		return a.Error.DisplayMessage() == b.Error.DisplayMessage()
	}
	return true
}

func shortPayload(raw []byte) string {
	if len(raw) == 0 {
		return "null"
	}
	return shortString(string(raw))
}

func shortString(s string) string {
	const limit = 80
	if r := []rune(s); len(r) > limit {
		return string(r[:limit]) + "…"
	}
	return s
}
