package yield

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/history"
	"github.com/google/go-cmp/cmp"
)

// Feature tests: retry policies, continue-as-new, sub-orchestrations and detached starts,
// cancellation, custom status, KV, system calls and history limits. Every scenario runs
// through bothModes (instance cache vs full replay, compared with go-cmp).

// ---------------------------------------------------------------------------------------
// Helpers

// featErr renders an error seen by orchestration code as "kind|message[|nonretryable]".
func featErr(err error) string {
	var te *TaskError
	if errors.As(err, &te) {
		s := string(te.Kind) + "|" + te.Message
		if te.NonRetryable {
			s += "|nonretryable"
		}
		return s
	}
	return "plain|" + err.Error()
}

// featDelta fails unless the kinds of the turn's delta are want.
func featDelta(t *testing.T, r TurnResult, want string) {
	t.Helper()
	if got := kinds(r.Delta); got != want {
		t.Fatalf("delta\n got: %s\nwant: %s", got, want)
	}
}

// featMsgs returns the turn's messages of kind k.
func featMsgs(r TurnResult, k history.MessageKind) []history.Message {
	var out []history.Message
	for _, m := range r.Messages {
		if m.Kind == k {
			out = append(out, m)
		}
	}
	return out
}

// featEvents returns the events of kind k.
func featEvents(evs []history.Event, k history.EventKind) []history.Event {
	var out []history.Event
	for _, e := range evs {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// featEq fails when got and want differ (payloads compared as JSON text).
func featEq(t *testing.T, what string, got, want any) {
	t.Helper()
	if diff := cmp.Diff(want, got, resultCmp...); diff != "" {
		t.Fatalf("%s (-want +got):\n%s", what, diff)
	}
}

// featJSON is the JSON text of v, for output assertions.
func featJSON(v any) string { return string(mustValue(v).Raw()) }

func featStr(s string) *string { return &s }

// featTraces returns the messages of the traces collected so far.
func featTraces(h *harness) []string {
	var out []string
	for _, r := range h.traces {
		out = append(out, r.Level+": "+r.Message)
	}
	return out
}

// featEv stamps a hand-built event of execution 1 of the test instance.
func featEv(id uint64, ts int64, e history.Event) history.Event {
	e.EventID, e.InstanceID, e.ExecutionID, e.TimestampMs = id, testInstance, 1, ts
	return e
}

// featExec2 re-addresses a message built for execution 1 to execution 2.
func featExec2(m history.Message) history.Message {
	m.ExecutionID = 2
	return m
}

// featLastCAN returns the ContinueAsNew message of the harness's last turn.
func featLastCAN(t *testing.T, h *harness) history.Message {
	t.Helper()
	r := h.results[len(h.results)-1]
	ms := featMsgs(r, history.MsgContinueAsNew)
	if len(ms) != 1 {
		t.Fatalf("want one ContinueAsNew message, got %+v", r.Messages)
	}
	return ms[0]
}

// ---------------------------------------------------------------------------------------
// Retry policies

func TestFeatRetryDelayFor(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		name string
		p    RetryPolicy
		k    int
		want time.Duration
	}{
		{"exp default k0 treated as 1", RetryPolicy{}, 0, 100 * ms},
		{"exp default k1", RetryPolicy{}, 1, 100 * ms},
		{"exp default k2", RetryPolicy{}, 2, 200 * ms},
		{"exp default k3", RetryPolicy{}, 3, 400 * ms},
		{"exp default k9", RetryPolicy{}, 9, 25600 * ms},
		{"exp default k10 capped", RetryPolicy{}, 10, 30 * time.Second},
		{"exp default k1000 capped", RetryPolicy{}, 1000, 30 * time.Second},
		{"exp default k5000 (inf) capped", RetryPolicy{}, 5000, 30 * time.Second},
		{"exp default maxint capped", RetryPolicy{}, math.MaxInt, 30 * time.Second},
		{"exp custom k1", RetryPolicy{BaseDelay: time.Second, MaxDelay: 5 * time.Second}, 1, time.Second},
		{"exp custom k3", RetryPolicy{BaseDelay: time.Second, MaxDelay: 5 * time.Second}, 3, 4 * time.Second},
		{"exp custom k4 capped", RetryPolicy{BaseDelay: time.Second, MaxDelay: 5 * time.Second}, 4, 5 * time.Second},
		{"fixed default k1", RetryPolicy{Backoff: BackoffFixed}, 1, time.Second},
		{"fixed default k7", RetryPolicy{Backoff: BackoffFixed}, 7, time.Second},
		{"fixed custom", RetryPolicy{Backoff: BackoffFixed, BaseDelay: 250 * ms}, 3, 250 * ms},
		{"linear default k1", RetryPolicy{Backoff: BackoffLinear}, 1, 100 * ms},
		{"linear default k3", RetryPolicy{Backoff: BackoffLinear}, 3, 300 * ms},
		{"linear default k300", RetryPolicy{Backoff: BackoffLinear}, 300, 30 * time.Second},
		{"linear default k301 capped", RetryPolicy{Backoff: BackoffLinear}, 301, 30 * time.Second},
		{"linear default maxint capped", RetryPolicy{Backoff: BackoffLinear}, math.MaxInt, 30 * time.Second},
		{"linear custom k2", RetryPolicy{Backoff: BackoffLinear, BaseDelay: 2 * time.Second, MaxDelay: 5 * time.Second}, 2, 4 * time.Second},
		{"linear custom k3 capped", RetryPolicy{Backoff: BackoffLinear, BaseDelay: 2 * time.Second, MaxDelay: 5 * time.Second}, 3, 5 * time.Second},
		{"linear custom huge k capped", RetryPolicy{Backoff: BackoffLinear, BaseDelay: 2 * time.Second, MaxDelay: 5 * time.Second}, 1 << 40, 5 * time.Second},
		{"none k1", RetryPolicy{Backoff: BackoffNone}, 1, 0},
		{"none k50", RetryPolicy{Backoff: BackoffNone, BaseDelay: time.Second}, 50, 0},
	}
	for _, c := range cases {
		if got := c.p.DelayFor(c.k); got != c.want {
			t.Errorf("%s: DelayFor(%d) = %v, want %v", c.name, c.k, got, c.want)
		}
	}
	for b, want := range map[Backoff]string{BackoffExponential: "exponential", BackoffFixed: "fixed", BackoffLinear: "linear", BackoffNone: "none"} {
		if b.String() != want {
			t.Errorf("Backoff(%d).String() = %q, want %q", int(b), b.String(), want)
		}
	}
}

// featRetryFn runs one retried activity "X" and returns "ok:<result>" or featErr.
func featRetryFn(p RetryPolicy) Orchestration {
	return func(ctx *Ctx, in Value) (any, error) {
		v, err := ctx.Yield(ctx.ScheduleActivityWithRetry("X", "in", p))
		if err != nil {
			return featErr(err), nil
		}
		return "ok:" + v.String(), nil
	}
}

func TestFeatRetryFixedFailsTwiceThenSucceeds(t *testing.T) {
	fn := featRetryFn(RetryPolicy{Backoff: BackoffFixed})
	h := bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Retry", nil))
		featDelta(t, r, "1:OrchestrationStarted 2:ActivityScheduled")
		if len(r.Activities) != 1 || r.Activities[0].Name != "X" || string(r.Activities[0].Input) != `"in"` {
			t.Fatalf("activities %+v", r.Activities)
		}

		r = h.turn(actFailed(2, "boom1"))
		featDelta(t, r, "3:ActivityFailed 4:TimerCreated")
		if got, want := r.Delta[1].FireAtMs, h.now+1000; got != want {
			t.Fatalf("back-off timer fire_at = %d, want turn time + 1000 = %d", got, want)
		}
		featEq(t, "timer message", featMsgs(r, history.MsgTimerFired), []history.Message{
			{Kind: history.MsgTimerFired, Instance: testInstance, ExecutionID: 1, ID: 4, FireAtMs: h.now + 1000},
		})
		if len(r.Activities) != 0 {
			t.Fatalf("no activity may be sent during the back-off: %+v", r.Activities)
		}
		featEq(t, "traces", featTraces(h), []string{"warn: Activity 'X' attempt 1/3 failed: boom1. Retrying..."})

		r = h.turn(timerFired(4))
		featDelta(t, r, "5:TimerFired 6:ActivityScheduled")
		if len(r.Activities) != 1 || r.Activities[0].ID != 6 {
			t.Fatalf("activities %+v", r.Activities)
		}

		r = h.turn(actFailed(6, "boom2"))
		featDelta(t, r, "7:ActivityFailed 8:TimerCreated")
		if got, want := r.Delta[1].FireAtMs, h.now+1000; got != want {
			t.Fatalf("second back-off fire_at = %d, want %d", got, want)
		}

		r = h.turn(timerFired(8))
		featDelta(t, r, "9:TimerFired 10:ActivityScheduled")

		r = h.turn(actDone(10, "yes"))
		mustOutput(t, r, `"ok:yes"`)
		featDelta(t, r, "11:ActivityCompleted 12:OrchestrationCompleted")

		// Once per failure, never repeated by the replays of later turns.
		featEq(t, "traces", featTraces(h), []string{
			"warn: Activity 'X' attempt 1/3 failed: boom1. Retrying...",
			"warn: Activity 'X' attempt 2/3 failed: boom2. Retrying...",
		})
	})
	if n := len(featEvents(h.persisted, history.ActivityScheduled)); n != 3 {
		t.Fatalf("ActivityScheduled count = %d, want 3", n)
	}
	if n := len(featEvents(h.persisted, history.TimerCreated)); n != 2 {
		t.Fatalf("TimerCreated count = %d, want 2", n)
	}
}

func TestFeatRetryExhaustedReturnsLastError(t *testing.T) {
	// Default policy: 3 attempts, exponential 100 ms, 200 ms.
	fn := featRetryFn(RetryPolicy{})
	bothModes(t, fn, Options{}, func(h *harness) {
		h.turn(startMsg("Retry", nil))
		r := h.turn(actFailed(2, "e1"))
		featDelta(t, r, "3:ActivityFailed 4:TimerCreated")
		if got := r.Delta[1].FireAtMs - h.now; got != 100 {
			t.Fatalf("first back-off = %d ms, want 100", got)
		}
		h.turn(timerFired(4))
		r = h.turn(actFailed(6, "e2"))
		featDelta(t, r, "7:ActivityFailed 8:TimerCreated")
		if got := r.Delta[1].FireAtMs - h.now; got != 200 {
			t.Fatalf("second back-off = %d ms, want 200", got)
		}
		h.turn(timerFired(8))
		r = h.turn(actFailed(10, "e3"))
		featDelta(t, r, "11:ActivityFailed 12:OrchestrationCompleted")
		mustOutput(t, r, `"activity|e3"`)
		featEq(t, "traces", featTraces(h), []string{
			"warn: Activity 'X' attempt 1/3 failed: e1. Retrying...",
			"warn: Activity 'X' attempt 2/3 failed: e2. Retrying...",
		})
	})
}

func TestFeatRetryPerAttemptTimeout(t *testing.T) {
	fn := featRetryFn(RetryPolicy{MaxAttempts: 3, Timeout: 5 * time.Second})
	h := bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Retry", nil))
		// The activity first, then the timer it races against (replay-spec §8).
		featDelta(t, r, "1:OrchestrationStarted 2:ActivityScheduled 3:TimerCreated")
		if got := r.Delta[2].FireAtMs - h.now; got != 5000 {
			t.Fatalf("attempt timer = now+%d, want now+5000", got)
		}
		r = h.turn(timerFired(3))
		mustOutput(t, r, `"timeout|timeout: activity timed out"`)
		featDelta(t, r, "4:TimerFired 5:ActivityCancelRequested 6:OrchestrationCompleted")
		if r.Delta[1].SourceEventID != 2 {
			t.Fatalf("cancel breadcrumb %+v, want source 2", r.Delta[1])
		}
		featEq(t, "cancelled activities", r.CancelledActivities, []history.ActivityRef{{Instance: testInstance, ExecutionID: 1, ID: 2}})
		if len(r.Activities) != 0 {
			t.Fatalf("a timed-out attempt is not retried: %+v", r.Activities)
		}
		if len(h.traces) != 0 {
			t.Fatalf("no retry trace for a timeout: %v", featTraces(h))
		}
	})
	if n := len(featEvents(h.persisted, history.ActivityScheduled)); n != 1 {
		t.Fatalf("ActivityScheduled count = %d, want 1", n)
	}
}

func TestFeatRetryPerAttemptTimeoutFailureIsRetried(t *testing.T) {
	fn := featRetryFn(RetryPolicy{MaxAttempts: 2, Backoff: BackoffNone, Timeout: 5 * time.Second})
	bothModes(t, fn, Options{}, func(h *harness) {
		h.turn(startMsg("Retry", nil))
		// The attempt fails before its timer: the race goes to the activity, and the
		// failure is retried with a fresh attempt timer.
		r := h.turn(actFailed(2, "e1"))
		featDelta(t, r, "4:ActivityFailed 5:ActivityScheduled 6:TimerCreated")
		if got := r.Delta[2].FireAtMs - h.now; got != 5000 {
			t.Fatalf("second attempt timer = now+%d, want now+5000", got)
		}
		r = h.turn(actDone(5, "ok"))
		mustOutput(t, r, `"ok:ok"`)
		featEq(t, "traces", featTraces(h), []string{"warn: Activity 'X' attempt 1/2 failed: e1. Retrying..."})
	})
}

func TestFeatRetryTotalTimeoutBackoffPastDeadline(t *testing.T) {
	p := RetryPolicy{Backoff: BackoffFixed, BaseDelay: 10 * time.Second, TotalTimeout: 15 * time.Second}
	bothModes(t, featRetryFn(p), Options{}, func(h *harness) {
		r := h.turn(startMsg("Retry", nil))
		featDelta(t, r, "1:OrchestrationStarted 2:ActivityScheduled 3:TimerCreated")
		deadline := h.now + 15000
		if r.Delta[2].FireAtMs != deadline {
			t.Fatalf("deadline timer fire_at = %d, want %d", r.Delta[2].FireAtMs, deadline)
		}
		// The first attempt fails 9 s after the start: a 10 s back-off would end past the
		// 15 s deadline, so the policy gives up at once.
		h.now += 8000
		r = h.turn(actFailed(2, "e1"))
		featDelta(t, r, "4:ActivityFailed 5:OrchestrationCompleted")
		out := r.Output.String()
		for _, want := range []string{"timeout|", "total timeout", "15s", "e1"} {
			if !strings.Contains(out, want) {
				t.Fatalf("output %q does not mention %q", out, want)
			}
		}
		if len(r.Activities) != 0 || len(featMsgs(r, history.MsgTimerFired)) != 0 {
			t.Fatalf("nothing more may be scheduled: %+v %+v", r.Activities, r.Messages)
		}
	})
}

func TestFeatRetryTotalTimeoutDeadlineFiresDuringAttempt(t *testing.T) {
	p := RetryPolicy{Backoff: BackoffNone, TotalTimeout: 15 * time.Second}
	bothModes(t, featRetryFn(p), Options{}, func(h *harness) {
		r := h.turn(startMsg("Retry", nil))
		deadline := h.now + 15000
		featDelta(t, r, "1:OrchestrationStarted 2:ActivityScheduled 3:TimerCreated")

		r = h.turn(actFailed(2, "e1"))
		featDelta(t, r, "4:ActivityFailed 5:ActivityScheduled 6:TimerCreated")
		timers := featMsgs(r, history.MsgTimerFired)
		if len(timers) != 1 || timers[0].FireAtMs != deadline {
			t.Fatalf("second attempt's deadline timer %+v, want fire_at %d (the same overall deadline)", timers, deadline)
		}
		act := r.Activities[0].ID

		r = h.turn(timerFired(timers[0].ID))
		featDelta(t, r, "7:TimerFired 8:ActivityCancelRequested 9:OrchestrationCompleted")
		out := r.Output.String()
		for _, want := range []string{"timeout|", "total timeout", "e1"} {
			if !strings.Contains(out, want) {
				t.Fatalf("output %q does not mention %q", out, want)
			}
		}
		if r.Delta[1].SourceEventID != act {
			t.Fatalf("cancel breadcrumb %+v, want source %d", r.Delta[1], act)
		}
		featEq(t, "cancelled activities", r.CancelledActivities, []history.ActivityRef{{Instance: testInstance, ExecutionID: 1, ID: act}})
	})
}

func TestFeatRetryNonRetryable(t *testing.T) {
	fn := featRetryFn(RetryPolicy{MaxAttempts: 5, Backoff: BackoffNone})
	bothModes(t, fn, Options{}, func(h *harness) {
		h.turn(startMsg("Retry", nil))
		m := actFailed(2, "fatal")
		m.Error.NonRetryable = true
		r := h.turn(m)
		featDelta(t, r, "3:ActivityFailed 4:OrchestrationCompleted")
		mustOutput(t, r, `"activity|fatal|nonretryable"`)
		if len(h.traces) != 0 {
			t.Fatalf("no Retrying trace for a non-retryable error: %v", featTraces(h))
		}
	})
}

func TestFeatRetryTagAndSession(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 2, Backoff: BackoffNone}
	fn := func(ctx *Ctx, in Value) (any, error) {
		a, err := ctx.Yield(ctx.ScheduleActivityWithRetry("T", 1, p).WithTag("gpu"))
		if err != nil {
			return nil, err
		}
		b, err := ctx.Yield(ctx.ScheduleActivityWithRetryOnSession("S", 2, p, "s1"))
		if err != nil {
			return nil, err
		}
		return []Value{a, b}, nil
	}
	h := bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Retry", nil))
		if len(r.Activities) != 1 || r.Activities[0].Tag != "gpu" || r.Activities[0].SessionID != "" {
			t.Fatalf("attempt 1 work %+v, want tag gpu", r.Activities)
		}
		r = h.turn(actFailed(2, "f1"))
		featDelta(t, r, "3:ActivityFailed 4:ActivityScheduled")
		if len(r.Activities) != 1 || r.Activities[0].Tag != "gpu" {
			t.Fatalf("attempt 2 work %+v, want tag gpu", r.Activities)
		}
		r = h.turn(actDone(4, "a"))
		featDelta(t, r, "5:ActivityCompleted 6:ActivityScheduled")
		if len(r.Activities) != 1 || r.Activities[0].SessionID != "s1" || r.Activities[0].Tag != "" {
			t.Fatalf("session attempt 1 work %+v, want session s1", r.Activities)
		}
		r = h.turn(actFailed(6, "f2"))
		featDelta(t, r, "7:ActivityFailed 8:ActivityScheduled")
		if len(r.Activities) != 1 || r.Activities[0].SessionID != "s1" {
			t.Fatalf("session attempt 2 work %+v, want session s1", r.Activities)
		}
		r = h.turn(actDone(8, "b"))
		mustOutput(t, r, `["a","b"]`)
		featEq(t, "traces", featTraces(h), []string{
			"warn: Activity 'T' attempt 1/2 failed: f1. Retrying...",
			"warn: Activity 'S' (session=s1) attempt 1/2 failed: f2. Retrying...",
		})
	})
	for _, e := range featEvents(h.persisted, history.ActivityScheduled) {
		switch e.Name {
		case "T":
			if e.Tag != "gpu" || e.SessionID != "" {
				t.Errorf("event %d: tag %q session %q, want tag gpu", e.EventID, e.Tag, e.SessionID)
			}
		case "S":
			if e.SessionID != "s1" || e.Tag != "" {
				t.Errorf("event %d: tag %q session %q, want session s1", e.EventID, e.Tag, e.SessionID)
			}
		}
	}
}

func TestFeatRetryInvalidPolicy(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		_, err := ctx.Yield(ctx.ScheduleActivityWithRetry("X", nil, RetryPolicy{MaxAttempts: -1}))
		return errors.Is(err, ErrInvalidTask), nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Retry", nil))
		mustOutput(t, r, `true`)
		featDelta(t, r, "1:OrchestrationStarted 2:OrchestrationCompleted")
	})
}

// ---------------------------------------------------------------------------------------
// Continue-as-new

type featCANOut struct {
	Exec      uint64   `json:"exec"`
	Status    string   `json:"status"`
	HasStatus bool     `json:"has_status"`
	Queue     []string `json:"queue"`
	Events    []string `json:"events"`
	Input     string   `json:"input"`
	Act       string   `json:"act"`
}

// featCANFn: execution 1 sets a status, waits for "go" and continues as new; execution 2
// drains 25 queue messages and two "a" events, then runs activity "B".
func featCANFn(ctx *Ctx, in Value) (any, error) {
	if ctx.ExecutionID() == 1 {
		ctx.SetCustomStatus("phase-1")
		if _, err := ctx.Yield(ctx.WaitForEvent("go")); err != nil {
			return nil, err
		}
		return ctx.Yield(ctx.ContinueAsNew("next"))
	}
	out := featCANOut{Exec: ctx.ExecutionID(), Input: in.String()}
	out.Status, out.HasStatus = ctx.GetCustomStatus()
	for range 25 {
		v, err := ctx.Yield(ctx.DequeueEvent("q"))
		if err != nil {
			return nil, err
		}
		out.Queue = append(out.Queue, v.String())
	}
	for range 2 {
		v, err := ctx.Yield(ctx.WaitForEvent("a"))
		if err != nil {
			return nil, err
		}
		out.Events = append(out.Events, v.String())
	}
	v, err := ctx.Yield(ctx.ScheduleActivity("B", nil))
	if err != nil {
		return nil, err
	}
	out.Act = v.String()
	return out, nil
}

func TestFeatContinueAsNewCarryForward(t *testing.T) {
	var batch []history.Message
	var carry []history.CarriedEvent
	batch = append(batch, raised("a", 1))
	carry = append(carry, history.CarriedEvent{Name: "a", Data: raw(1)})
	for i := range 25 {
		batch = append(batch, enqueued("q", i))
		carry = append(carry, history.CarriedEvent{Queue: true, Name: "q", Data: raw(i)})
	}
	batch = append(batch, raised("a", 2), raised("go", true))
	carry = append(carry, history.CarriedEvent{Name: "a", Data: raw(2)})

	h1 := bothModes(t, featCANFn, Options{}, func(h *harness) {
		r := h.turn(startMsg("CAN", "first"))
		featDelta(t, r, "1:OrchestrationStarted 2:CustomStatusUpdated 3:ExternalSubscribed")
		r = h.turn(batch...)
		mustOutcome(t, r, OutcomeContinuedAsNew)
		if string(r.Output.Raw()) != `"next"` {
			t.Fatalf("output %s, want the next input", r.Output.Raw())
		}
		last := r.Delta[len(r.Delta)-1]
		if last.Kind != history.OrchestrationContinuedAsNew || string(last.Input) != `"next"` {
			t.Fatalf("last delta event %+v, want OrchestrationContinuedAsNew{Input: \"next\"}", last)
		}
		if len(r.Messages) != 1 {
			t.Fatalf("messages %+v, want only ContinueAsNew", r.Messages)
		}
		featEq(t, "ContinueAsNew message", r.Messages[0], history.Message{
			Kind: history.MsgContinueAsNew, Instance: testInstance, ExecutionID: 1,
			Name: "CAN", Version: "", Input: raw("next"),
			CarryForward: carry, InitialCustomStatus: featStr("phase-1"),
		})
	})
	can := featLastCAN(t, h1)

	bothModes(t, featCANFn, Options{}, func(h *harness) {
		r := h.turn(can)
		mustOutcome(t, r, OutcomeContinue)
		st := r.Delta[0]
		if st.Kind != history.OrchestrationStarted || st.EventID != 1 || st.ExecutionID != 2 || st.Name != "CAN" || string(st.Input) != `"next"` {
			t.Fatalf("started %+v", st)
		}
		featEq(t, "started carry forward", st.CarryForward, carry)
		featEq(t, "started initial custom status", st.InitialCustomStatus, featStr("phase-1"))
		for i, c := range carry {
			e := r.Delta[1+i]
			want := history.ExternalEvent
			if c.Queue {
				want = history.QueueEventDelivered
			}
			if e.EventID != uint64(2+i) || e.Kind != want || e.Name != c.Name || string(e.Data) != string(c.Data) || e.ExecutionID != 2 {
				t.Fatalf("carried event %d = %+v, want %s %s %s", 2+i, e, want, c.Name, c.Data)
			}
		}
		if len(r.Activities) != 1 || r.Activities[0].ExecutionID != 2 {
			t.Fatalf("activities %+v", r.Activities)
		}
		id := r.Activities[0].ID

		// A late completion for execution 1 is dropped without a trace.
		r = h.turn(actDone(id, "stale"))
		mustOutcome(t, r, OutcomeContinue)
		featDelta(t, r, "")
		if len(r.Messages)+len(r.Activities)+len(r.CancelledActivities) != 0 {
			t.Fatalf("a stale completion must produce nothing: %+v", r)
		}

		r = h.turn(featExec2(actDone(id, "fresh")))
		want := featCANOut{Exec: 2, Status: "phase-1", HasStatus: true, Input: "next", Act: "fresh", Events: []string{"1", "2"}}
		for i := range 25 {
			want.Queue = append(want.Queue, fmt.Sprint(i))
		}
		mustOutput(t, r, featJSON(want))
	})
}

// Events raised in the same batch after the one that triggers ContinueAsNew are
// recorded in execution 1 but never consumed: DECISIONS 1/2 require carrying them.
func TestFeatContinueAsNewCarriesArrivalsAfterTrigger(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		if _, err := ctx.Yield(ctx.WaitForEvent("go")); err != nil {
			return nil, err
		}
		return ctx.Yield(ctx.ContinueAsNew(nil))
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		h.turn(startMsg("CAN", nil))
		r := h.turn(enqueued("q", "before"), raised("go", 1), enqueued("q", "after"), raised("x", "after"))
		mustOutcome(t, r, OutcomeContinuedAsNew)
		featDelta(t, r, "3:QueueEventDelivered 4:ExternalEvent 5:QueueEventDelivered 6:ExternalEvent 7:OrchestrationContinuedAsNew")
		can := featMsgs(r, history.MsgContinueAsNew)
		if len(can) != 1 {
			t.Fatalf("messages %+v", r.Messages)
		}
		featEq(t, "carry forward (every unconsumed arrival recorded in execution 1, oldest first)", can[0].CarryForward, []history.CarriedEvent{
			{Queue: true, Name: "q", Data: raw("before")},
			{Queue: true, Name: "q", Data: raw("after")},
			{Name: "x", Data: raw("after")},
		})
	})
}

// A wait that took an event but lost its race consumes nothing: the event is carried.
func TestFeatContinueAsNewCarriesEventOfLostWait(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		if _, err := ctx.Yield(ctx.Race(ctx.All(ctx.WaitForEvent("a"), ctx.ScheduleTimer(time.Hour)), ctx.ScheduleTimer(time.Minute))); err != nil {
			return nil, err
		}
		return ctx.Yield(ctx.ContinueAsNew(nil))
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("CAN", nil))
		featDelta(t, r, "1:OrchestrationStarted 2:ExternalSubscribed 3:TimerCreated 4:TimerCreated")
		r = h.turn(raised("a", "kept"))
		mustOutcome(t, r, OutcomeContinue)
		r = h.turn(timerFired(4))
		mustOutcome(t, r, OutcomeContinuedAsNew)
		can := featMsgs(r, history.MsgContinueAsNew)
		if len(can) != 1 {
			t.Fatalf("messages %+v", r.Messages)
		}
		featEq(t, "carry forward", can[0].CarryForward, []history.CarriedEvent{{Name: "a", Data: raw("kept")}})
	})
}

func TestFeatContinueAsNewKeepsParentLink(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		if ctx.ExecutionID() == 1 {
			return ctx.Yield(ctx.ContinueAsNew("again"))
		}
		return "done:" + in.String(), nil
	}
	start := history.Message{
		Kind: history.MsgStartOrchestration, Instance: testInstance, ExecutionID: 1, Name: "Kid", Version: "1.0.0",
		ParentInstance: "parent", ParentExecutionID: 3, ParentEventID: 7,
	}
	h1 := bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(start)
		mustOutcome(t, r, OutcomeContinuedAsNew)
		if len(r.Messages) != 1 {
			t.Fatalf("a continuing child reports nothing to its parent yet: %+v", r.Messages)
		}
		m := r.Messages[0]
		if m.Kind != history.MsgContinueAsNew || m.ParentInstance != "parent" || m.ParentExecutionID != 3 || m.ParentEventID != 7 {
			t.Fatalf("ContinueAsNew message %+v, want the parent link kept", m)
		}
	})
	can := featLastCAN(t, h1)
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(can)
		mustOutput(t, r, `"done:again"`)
		st := r.Delta[0]
		if st.ExecutionID != 2 || st.ParentInstance != "parent" || st.ParentExecutionID != 3 || st.ParentEventID != 7 {
			t.Fatalf("started %+v, want execution 2 with the parent link", st)
		}
		featEq(t, "report to parent", featMsgs(r, history.MsgSubOrchCompleted), []history.Message{
			{Kind: history.MsgSubOrchCompleted, Instance: "parent", ExecutionID: 3, ID: 7, Result: raw("done:again")},
		})
	})
}

func TestFeatContinueAsNewChain(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		var n int
		if err := in.Decode(&n); err != nil {
			return nil, err
		}
		if n < 2 {
			return ctx.Yield(ctx.ContinueAsNew(n + 1))
		}
		return []any{ctx.ExecutionID(), n}, nil
	}
	next := startMsg("Chain", 0)
	for exec := uint64(1); exec <= 3; exec++ {
		h := bothModes(t, fn, Options{}, func(h *harness) {
			r := h.turn(next)
			if r.Delta[0].ExecutionID != exec {
				t.Fatalf("execution id %d, want %d", r.Delta[0].ExecutionID, exec)
			}
			for _, e := range r.Delta {
				if e.ExecutionID != exec {
					t.Fatalf("event %+v not stamped with execution %d", e, exec)
				}
			}
			if exec < 3 {
				mustOutcome(t, r, OutcomeContinuedAsNew)
				featDelta(t, r, "1:OrchestrationStarted 2:OrchestrationContinuedAsNew")
			} else {
				mustOutput(t, r, `[3,2]`)
			}
		})
		if exec < 3 {
			next = featLastCAN(t, h)
			if next.ExecutionID != exec {
				t.Fatalf("ContinueAsNew message execution %d, want %d", next.ExecutionID, exec)
			}
		}
	}
}

func TestFeatContinueAsNewVersioned(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		if ctx.ExecutionID() == 1 {
			return ctx.Yield(ctx.ContinueAsNewVersioned("x", "2.0.0"))
		}
		return ctx.OrchestrationVersion(), nil
	}
	h1 := bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("V", nil))
		mustOutcome(t, r, OutcomeContinuedAsNew)
		last := r.Delta[len(r.Delta)-1]
		if last.Kind != history.OrchestrationContinuedAsNew || last.Version != "2.0.0" {
			t.Fatalf("terminal event %+v, want version 2.0.0", last)
		}
	})
	can := featLastCAN(t, h1)
	if can.Version != "2.0.0" || can.Name != "V" || string(can.Input) != `"x"` {
		t.Fatalf("ContinueAsNew message %+v, want V@2.0.0 with input x", can)
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(can)
		mustOutput(t, r, `"2.0.0"`)
		if r.Delta[0].Version != "2.0.0" {
			t.Fatalf("started version %q, want 2.0.0", r.Delta[0].Version)
		}
	})
}

// ---------------------------------------------------------------------------------------
// Sub-orchestrations and detached starts

func TestFeatSubOrchIDsAndStartMessages(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		return ctx.Yield(ctx.All(
			ctx.ScheduleSubOrchestration("Child", 1),
			ctx.ScheduleSubOrchestrationVersionedWithID("Child", "2.0.0", "kid-x", 2),
		))
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Parent", nil))
		featDelta(t, r, "1:OrchestrationStarted 2:SubOrchestrationScheduled 3:SubOrchestrationScheduled")
		if r.Delta[1].Instance != "inst::sub::2" || r.Delta[2].Instance != "kid-x" {
			t.Fatalf("child ids %q %q, want inst::sub::2 and kid-x", r.Delta[1].Instance, r.Delta[2].Instance)
		}
		featEq(t, "child starts", featMsgs(r, history.MsgStartOrchestration), []history.Message{
			{Kind: history.MsgStartOrchestration, Instance: "inst::sub::2", ExecutionID: 1, Name: "Child", Input: raw(1),
				ParentInstance: testInstance, ParentExecutionID: 1, ParentEventID: 2},
			{Kind: history.MsgStartOrchestration, Instance: "kid-x", ExecutionID: 1, Name: "Child", Version: "2.0.0", Input: raw(2),
				ParentInstance: testInstance, ParentExecutionID: 1, ParentEventID: 3},
		})
		r = h.turn(childDone(2, map[string]int{"r": 1}), childFailed(3, history.Application(history.KindOrchestrationFailed, "child boom")))
		mustOutput(t, r, `[{"ok":{"r":1}},{"err":"child boom"}]`)
	})
}

func TestFeatSubOrchIDInLaterExecution(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		if ctx.ExecutionID() == 1 {
			return ctx.Yield(ctx.ContinueAsNew(nil))
		}
		return ctx.Yield(ctx.All(ctx.ScheduleSubOrchestration("Child", 1), ctx.ScheduleSubOrchestrationWithID("Child", "kid-y", 2)))
	}
	can := history.Message{Kind: history.MsgContinueAsNew, Instance: testInstance, ExecutionID: 1, Name: "Parent"}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(can)
		featDelta(t, r, "1:OrchestrationStarted 2:SubOrchestrationScheduled 3:SubOrchestrationScheduled")
		if r.Delta[1].Instance != "inst::sub::2.2" || r.Delta[2].Instance != "kid-y" {
			t.Fatalf("child ids %q %q, want inst::sub::2.2 and kid-y", r.Delta[1].Instance, r.Delta[2].Instance)
		}
		featEq(t, "child starts", featMsgs(r, history.MsgStartOrchestration), []history.Message{
			{Kind: history.MsgStartOrchestration, Instance: "inst::sub::2.2", ExecutionID: 1, Name: "Child", Input: raw(1),
				ParentInstance: testInstance, ParentExecutionID: 2, ParentEventID: 2},
			{Kind: history.MsgStartOrchestration, Instance: "kid-y", ExecutionID: 1, Name: "Child", Input: raw(2),
				ParentInstance: testInstance, ParentExecutionID: 2, ParentEventID: 3},
		})
		// A report addressed to execution 1 is stale.
		r = h.turn(childDone(2, "old"))
		featDelta(t, r, "")
		r = h.turn(featExec2(childDone(2, "a")), featExec2(childDone(3, "b")))
		mustOutput(t, r, `[{"ok":"a"},{"ok":"b"}]`)
	})
}

func TestFeatSubOrchFailures(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		_, err := ctx.Yield(ctx.ScheduleSubOrchestration("Child", nil))
		ctx.TraceInfo("parent code ran after the child")
		if err != nil {
			return featErr(err), nil
		}
		return "ok", nil
	}
	t.Run("application", func(t *testing.T) {
		bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("Parent", nil))
			r := h.turn(childFailed(2, history.Application(history.KindOrchestrationFailed, "child boom")))
			mustOutput(t, r, `"sub-orchestration|child boom"`)
		})
	})
	t.Run("cancelled", func(t *testing.T) {
		bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("Parent", nil))
			r := h.turn(childFailed(2, history.Cancelled("stop")))
			mustOutput(t, r, `"cancelled|canceled: stop"`)
		})
	})
	t.Run("configuration", func(t *testing.T) {
		details := history.Nondeterminism("step 3: child went astray")
		bothModes(t, fn, Options{}, func(h *harness) {
			h.turn(startMsg("Parent", nil))
			r := h.turn(childFailed(2, details))
			mustOutcome(t, r, OutcomeFailed)
			featEq(t, "parent failure details", r.Error, details)
			featDelta(t, r, "3:SubOrchestrationFailed 4:OrchestrationFailed")
			if len(h.traces) != 0 {
				t.Fatalf("code must not run after a system failure: %v", featTraces(h))
			}
		})
	})
}

func TestFeatSubOrchChildReportsToParent(t *testing.T) {
	start := history.Message{
		Kind: history.MsgStartOrchestration, Instance: "kid", ExecutionID: 1, Name: "Child", Version: "1.0.0", Input: raw("in"),
		ParentInstance: "inst", ParentExecutionID: 2, ParentEventID: 5,
	}
	opts := Options{InstanceID: "kid"}
	report := func(kind history.MessageKind) history.Message {
		return history.Message{Kind: kind, Instance: "inst", ExecutionID: 2, ID: 5}
	}
	t.Run("completes", func(t *testing.T) {
		fn := func(ctx *Ctx, in Value) (any, error) {
			v, err := ctx.Yield(ctx.ScheduleActivity("A", in))
			if err != nil {
				return nil, err
			}
			return "r:" + v.String(), nil
		}
		bothModes(t, fn, opts, func(h *harness) {
			r := h.turn(start)
			st := r.Delta[0]
			if st.InstanceID != "kid" || st.ParentInstance != "inst" || st.ParentExecutionID != 2 || st.ParentEventID != 5 {
				t.Fatalf("child started %+v, want the parent link", st)
			}
			if len(featMsgs(r, history.MsgSubOrchCompleted)) != 0 {
				t.Fatalf("no report before the child ends: %+v", r.Messages)
			}
			r = h.turn(history.Message{Kind: history.MsgActivityCompleted, Instance: "kid", ExecutionID: 1, ID: 2, Result: raw("x")})
			mustOutput(t, r, `"r:x"`)
			want := report(history.MsgSubOrchCompleted)
			want.Result = raw("r:x")
			featEq(t, "report", r.Messages, []history.Message{want})
		})
	})
	t.Run("fails", func(t *testing.T) {
		fn := func(ctx *Ctx, in Value) (any, error) { return nil, errors.New("child broke") }
		bothModes(t, fn, opts, func(h *harness) {
			r := h.turn(start)
			mustFail(t, r, "child broke")
			want := report(history.MsgSubOrchFailed)
			want.Error = history.Application(history.KindOrchestrationFailed, "child broke")
			featEq(t, "report", r.Messages, []history.Message{want})
		})
	})
	t.Run("cancelled", func(t *testing.T) {
		fn := func(ctx *Ctx, in Value) (any, error) { return ctx.Yield(ctx.WaitForEvent("never")) }
		bothModes(t, fn, opts, func(h *harness) {
			h.turn(start)
			r := h.turn(history.Message{Kind: history.MsgCancelInstance, Instance: "kid", Reason: "parent canceled"})
			mustOutcome(t, r, OutcomeCancelled)
			want := report(history.MsgSubOrchFailed)
			want.Error = history.Cancelled("parent canceled")
			featEq(t, "report", r.Messages, []history.Message{want})
		})
	})
}

func TestFeatDetachedStart(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		v, err := ctx.Yield(ctx.StartOrchestration("Bg", "bg-1", map[string]int{"n": 1}))
		if err != nil {
			return nil, err
		}
		if _, err := ctx.Yield(ctx.ScheduleActivity("A", nil)); err != nil {
			return nil, err
		}
		// Right before returning: still dispatched in the terminal turn (DECISIONS 5).
		if _, err := ctx.Yield(ctx.StartOrchestrationVersioned("Bg", "3.0.0", "bg-2", 2)); err != nil {
			return nil, err
		}
		return v.IsNull(), nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Parent", nil))
		featDelta(t, r, "1:OrchestrationStarted 2:OrchestrationChained 3:ActivityScheduled")
		if e := r.Delta[1]; e.Name != "Bg" || e.Instance != "bg-1" || string(e.Input) != `{"n":1}` {
			t.Fatalf("chained event %+v", e)
		}
		featEq(t, "detached start", r.Messages, []history.Message{
			{Kind: history.MsgStartOrchestration, Instance: "bg-1", ExecutionID: 1, Name: "Bg", Input: raw(map[string]int{"n": 1})},
		})
		r = h.turn(actDone(3, nil))
		mustOutput(t, r, `true`)
		featDelta(t, r, "4:ActivityCompleted 5:OrchestrationChained 6:OrchestrationCompleted")
		featEq(t, "detached start in the terminal turn", r.Messages, []history.Message{
			{Kind: history.MsgStartOrchestration, Instance: "bg-2", ExecutionID: 1, Name: "Bg", Version: "3.0.0", Input: raw(2)},
		})
	})
}

func TestFeatDetachedStartBeforeContinueAsNew(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		if _, err := ctx.Yield(ctx.StartOrchestration("Bg", "bg-1", 1)); err != nil {
			return nil, err
		}
		return ctx.Yield(ctx.ContinueAsNew(2))
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Parent", nil))
		mustOutcome(t, r, OutcomeContinuedAsNew)
		featDelta(t, r, "1:OrchestrationStarted 2:OrchestrationChained 3:OrchestrationContinuedAsNew")
		featEq(t, "detached start", featMsgs(r, history.MsgStartOrchestration), []history.Message{
			{Kind: history.MsgStartOrchestration, Instance: "bg-1", ExecutionID: 1, Name: "Bg", Input: raw(1)},
		})
		if len(featMsgs(r, history.MsgContinueAsNew)) != 1 {
			t.Fatalf("messages %+v, want the ContinueAsNew too", r.Messages)
		}
	})
}

// ---------------------------------------------------------------------------------------
// Cancellation

func TestFeatCancelInFlight(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		return ctx.Yield(ctx.All(ctx.ScheduleActivity("A", nil), ctx.ScheduleSubOrchestration("Child", nil)))
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("P", nil))
		featDelta(t, r, "1:OrchestrationStarted 2:ActivityScheduled 3:SubOrchestrationScheduled")
		r = h.turn(cancelMsg("stop"))
		mustOutcome(t, r, OutcomeCancelled)
		if got := r.Error.DisplayMessage(); got != "canceled: stop" {
			t.Fatalf("error %q, want canceled: stop", got)
		}
		featDelta(t, r, "4:OrchestrationCancelRequested 5:ActivityCancelRequested 6:SubOrchestrationCancelRequested 7:OrchestrationFailed")
		if e := r.Delta[1]; e.SourceEventID != 2 || e.Reason != history.ReasonTerminalFailed {
			t.Fatalf("activity breadcrumb %+v, want source 2 reason %s", e, history.ReasonTerminalFailed)
		}
		if e := r.Delta[2]; e.SourceEventID != 3 {
			t.Fatalf("child breadcrumb %+v, want source 3", e)
		}
		featEq(t, "withdrawn activities", r.CancelledActivities, []history.ActivityRef{{Instance: testInstance, ExecutionID: 1, ID: 2}})
		featEq(t, "child cancel", r.Messages, []history.Message{
			{Kind: history.MsgCancelInstance, Instance: "inst::sub::3", Reason: "parent canceled"},
		})
		// A second cancel on the terminal instance records nothing.
		r = h.turn(cancelMsg("again"))
		featDelta(t, r, "")
		if len(r.Messages) != 0 {
			t.Fatalf("messages %+v", r.Messages)
		}
	})
}

func TestFeatCancelTwiceInOneBatch(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) { return ctx.Yield(ctx.WaitForEvent("x")) }
	bothModes(t, fn, Options{}, func(h *harness) {
		h.turn(startMsg("P", nil))
		r := h.turn(cancelMsg("one"), cancelMsg("two"))
		mustOutcome(t, r, OutcomeCancelled)
		if n := len(featEvents(r.Delta, history.OrchestrationCancelRequested)); n != 1 {
			t.Fatalf("%d cancel requests recorded, want 1: %s", n, kinds(r.Delta))
		}
		if got := r.Error.DisplayMessage(); got != "canceled: one" {
			t.Fatalf("error %q, want canceled: one", got)
		}
	})
}

func TestFeatCancelWithStartInOneBatch(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) { return ctx.Yield(ctx.ScheduleActivity("A", nil)) }
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("P", nil), cancelMsg("early"))
		mustOutcome(t, r, OutcomeCancelled)
		if r.Delta[1].Kind != history.OrchestrationCancelRequested || r.Delta[1].EventID != 2 {
			t.Fatalf("delta %s, want the cancel as event 2", kinds(r.Delta))
		}
		if got := r.Error.DisplayMessage(); got != "canceled: early" {
			t.Fatalf("error %q", got)
		}
		if last := r.Delta[len(r.Delta)-1]; last.Kind != history.OrchestrationFailed {
			t.Fatalf("last event %+v", last)
		}
		if len(r.Activities) != 0 {
			t.Fatalf("an activity scheduled in the cancelled turn must not be sent: %+v", r.Activities)
		}
	})
}

// ---------------------------------------------------------------------------------------
// Custom status

func TestFeatCustomStatusAcrossTurns(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		var seen []string
		look := func() {
			s, ok := ctx.GetCustomStatus()
			seen = append(seen, fmt.Sprintf("%s/%v", s, ok))
		}
		look()
		ctx.SetCustomStatus("a")
		look()
		if _, err := ctx.Yield(ctx.ScheduleActivity("A", 1)); err != nil {
			return nil, err
		}
		look()
		if _, err := ctx.Yield(ctx.ScheduleActivity("A", 2)); err != nil {
			return nil, err
		}
		ctx.SetCustomStatus("b")
		look()
		if _, err := ctx.Yield(ctx.ScheduleActivity("A", 3)); err != nil {
			return nil, err
		}
		ctx.ResetCustomStatus()
		look()
		return seen, nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("CS", nil))
		featDelta(t, r, "1:OrchestrationStarted 2:CustomStatusUpdated 3:ActivityScheduled")
		if !r.CustomStatusChanged || r.CustomStatus == nil || *r.CustomStatus != "a" {
			t.Fatalf("turn 1 status %v changed %v", r.CustomStatus, r.CustomStatusChanged)
		}
		r = h.turn(actDone(3, nil))
		featDelta(t, r, "4:ActivityCompleted 5:ActivityScheduled")
		if r.CustomStatusChanged || r.CustomStatus == nil || *r.CustomStatus != "a" {
			t.Fatalf("turn 2 status %v changed %v, want a, unchanged", r.CustomStatus, r.CustomStatusChanged)
		}
		r = h.turn(actDone(5, nil))
		featDelta(t, r, "6:ActivityCompleted 7:CustomStatusUpdated 8:ActivityScheduled")
		if !r.CustomStatusChanged || r.CustomStatus == nil || *r.CustomStatus != "b" {
			t.Fatalf("turn 3 status %v changed %v", r.CustomStatus, r.CustomStatusChanged)
		}
		if r.Delta[1].Status == nil || *r.Delta[1].Status != "b" {
			t.Fatalf("status event %+v", r.Delta[1])
		}
		r = h.turn(actDone(8, nil))
		featDelta(t, r, "9:ActivityCompleted 10:CustomStatusUpdated 11:OrchestrationCompleted")
		if !r.CustomStatusChanged || r.CustomStatus != nil || r.Delta[1].Status != nil {
			t.Fatalf("turn 4 status %v changed %v, want reset", r.CustomStatus, r.CustomStatusChanged)
		}
		mustOutput(t, r, `["/false","a/true","a/true","b/true","/false"]`)
	})
}

// featStatusHistory is the persisted history of an orchestration that set the status to
// "v1" and then scheduled activity A.
func featStatusHistory() []history.Event {
	return []history.Event{
		featEv(1, 900_000, history.Event{Kind: history.OrchestrationStarted, Name: "CS", Version: "1.0.0"}),
		featEv(2, 900_000, history.Event{Kind: history.CustomStatusUpdated, Status: featStr("v1")}),
		featEv(3, 900_000, history.Event{Kind: history.ActivityScheduled, Name: "A"}),
	}
}

func TestFeatCustomStatusValueChangeIsNotNondeterminism(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		ctx.SetCustomStatus("v2") // the code now sets another value: matched by kind only
		if _, err := ctx.Yield(ctx.ScheduleActivity("A", nil)); err != nil {
			return nil, err
		}
		s, _ := ctx.GetCustomStatus()
		return s, nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		h.persisted = featStatusHistory()
		r := h.turn(actDone(3, nil))
		mustOutput(t, r, `"v2"`)
	})
}

func TestFeatCustomStatusAddedCallIsNondeterminism(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		ctx.SetCustomStatus("v1")
		ctx.SetCustomStatus("extra") // a call the history does not have
		return ctx.Yield(ctx.ScheduleActivity("A", nil))
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		h.persisted = featStatusHistory()
		r := h.turn(actDone(3, nil))
		mustFail(t, r, "nondeterministic")
		mustFail(t, r, "CustomStatusUpdated")
		if !errors.Is(r.Error, history.ErrNondeterminism) {
			t.Fatalf("error %v is not nondeterminism", r.Error)
		}
	})
}

func TestFeatCustomStatusLimit(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		var n int
		if err := in.Decode(&n); err != nil {
			return nil, err
		}
		ctx.SetCustomStatus(strings.Repeat("s", n))
		return "set", nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("CS", MaxCustomStatusBytes))
		mustOutput(t, r, `"set"`)
		if r.CustomStatus == nil || len(*r.CustomStatus) != 262144 {
			t.Fatalf("status of exactly 256 KiB must be kept")
		}
	})
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("CS", MaxCustomStatusBytes+1))
		mustFail(t, r, "Custom status size (262145 bytes) exceeds limit (262144 bytes)")
	})
}

// ---------------------------------------------------------------------------------------
// KV

func TestFeatKVAcrossTurns(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		var log []string
		note := func(s string) { log = append(log, s) }
		ctx.SetKVValue("zeta", "1")
		ctx.SetKVValue("alpha", "2")
		ctx.SetKVValue("mid", "3")
		note(fmt.Sprint(ctx.GetKVAllKeys(), ctx.GetKVLength()))
		if _, err := ctx.Yield(ctx.ScheduleActivity("A", 1)); err != nil {
			return nil, err
		}
		v, ok := ctx.GetKVValue("zeta")
		note(fmt.Sprintf("%s %v", v, ok))
		ctx.SetKVValue("zeta", "1b")
		ctx.ClearKVValue("mid")
		_, ok = ctx.GetKVValue("mid")
		note(fmt.Sprint(ctx.GetKVAllValues(), ctx.GetKVLength(), ok))
		if _, err := ctx.Yield(ctx.ScheduleActivity("A", 2)); err != nil {
			return nil, err
		}
		ctx.ClearAllKVValues()
		note(fmt.Sprint(ctx.GetKVAllKeys(), ctx.GetKVLength()))
		ctx.SetKVValue("after", "x")
		note(fmt.Sprint(ctx.GetKVAllValues()))
		return log, nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("KV", nil))
		featDelta(t, r, "1:OrchestrationStarted 2:KeyValueSet 3:KeyValueSet 4:KeyValueSet 5:ActivityScheduled")
		r = h.turn(actDone(5, nil))
		featDelta(t, r, "6:ActivityCompleted 7:KeyValueSet 8:KeyValueCleared 9:ActivityScheduled")
		if e := r.Delta[1]; e.Key != "zeta" || e.Value != "1b" || e.TimestampMs != h.now {
			t.Fatalf("set event %+v", e)
		}
		if e := r.Delta[2]; e.Key != "mid" {
			t.Fatalf("clear event %+v", e)
		}
		r = h.turn(actDone(9, nil))
		featDelta(t, r, "10:ActivityCompleted 11:KeyValuesCleared 12:KeyValueSet 13:OrchestrationCompleted")
		mustOutput(t, r, featJSON([]string{
			"[alpha mid zeta] 3",
			"1 true",
			"map[alpha:2 zeta:1b] 2 false",
			"[] 0",
			"map[after:x]",
		}))
	})
}

func TestFeatKVSnapshotAndPrune(t *testing.T) {
	opts := Options{KV: map[string]KVEntry{"old": {Value: "o", UpdatedAtMs: 500_000}}}
	fn := func(ctx *Ctx, in Value) (any, error) {
		seed, _ := ctx.GetKVValue("old")
		ctx.SetKVValue("t1", "a") // turn 1: 1_001_000
		if _, err := ctx.Yield(ctx.ScheduleActivity("A", 1)); err != nil {
			return nil, err
		}
		ctx.SetKVValue("t2", "b") // turn 2: 1_002_000
		// t1 keeps the time of turn 1 also when turn 2 replays it, so it is pruned.
		n := ctx.PruneKVValuesUpdatedBefore(1_001_001)
		if _, err := ctx.Yield(ctx.ScheduleActivity("A", 2)); err != nil {
			return nil, err
		}
		return []any{seed, n, ctx.GetKVAllKeys()}, nil
	}
	bothModes(t, fn, opts, func(h *harness) {
		r := h.turn(startMsg("KV", nil))
		featDelta(t, r, "1:OrchestrationStarted 2:KeyValueSet 3:ActivityScheduled")
		if r.Delta[1].TimestampMs != 1_001_000 {
			t.Fatalf("turn 1 set stamped %d", r.Delta[1].TimestampMs)
		}
		r = h.turn(actDone(3, nil))
		featDelta(t, r, "4:ActivityCompleted 5:KeyValueSet 6:KeyValueCleared 7:KeyValueCleared 8:ActivityScheduled")
		if r.Delta[2].Key != "old" || r.Delta[3].Key != "t1" {
			t.Fatalf("pruned %q %q, want old then t1 (sorted)", r.Delta[2].Key, r.Delta[3].Key)
		}
		r = h.turn(actDone(8, nil))
		mustOutput(t, r, `["o",2,["t2"]]`)
	})
	if opts.KV["old"].Value != "o" || len(opts.KV) != 1 {
		t.Fatalf("the engine must not modify the caller's snapshot: %+v", opts.KV)
	}
}

// featKVHistory is a hand-built history: key k set to "old" at 900_000, then activity A.
func featKVHistory() []history.Event {
	return []history.Event{
		featEv(1, 900_000, history.Event{Kind: history.OrchestrationStarted, Name: "KV", Version: "1.0.0"}),
		featEv(2, 900_000, history.Event{Kind: history.KeyValueSet, Key: "k", Value: "old"}),
		featEv(3, 900_000, history.Event{Kind: history.ActivityScheduled, Name: "A"}),
	}
}

func TestFeatKVReplayTakesRecordedTimestamp(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		ctx.SetKVValue("k", "old")
		if _, err := ctx.Yield(ctx.ScheduleActivity("A", nil)); err != nil {
			return nil, err
		}
		return ctx.PruneKVValuesUpdatedBefore(950_000), nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		h.persisted = featKVHistory()
		r := h.turn(actDone(3, nil))
		mustOutput(t, r, `1`)
		featDelta(t, r, "4:ActivityCompleted 5:KeyValueCleared 6:OrchestrationCompleted")
	})
}

func TestFeatKVSetMismatchIsNondeterminism(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		ctx.SetKVValue("k", "new")
		return ctx.Yield(ctx.ScheduleActivity("A", nil))
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		h.persisted = featKVHistory()
		r := h.turn(actDone(3, nil))
		mustFail(t, r, "nondeterministic")
		msg := r.Error.DisplayMessage()
		for _, want := range []string{`KeyValueSet(key="k", value="new")`, `value="old"`} {
			if !strings.Contains(msg, want) {
				t.Fatalf("error %q does not name %s", msg, want)
			}
		}
		if !errors.Is(r.Error, history.ErrNondeterminism) {
			t.Fatalf("error %v is not nondeterminism", r.Error)
		}
	})
}

func TestFeatKVKeyLimit(t *testing.T) {
	snap := map[string]KVEntry{}
	for i := range 100 {
		snap[fmt.Sprintf("s%03d", i)] = KVEntry{Value: "v", UpdatedAtMs: 1}
	}
	fn := func(ctx *Ctx, in Value) (any, error) {
		for i := range 30 {
			ctx.SetKVValue(fmt.Sprintf("a%03d", i), "v")
		}
		if _, err := ctx.Yield(ctx.ScheduleActivity("A", nil)); err != nil {
			return nil, err
		}
		for i := range 20 {
			ctx.SetKVValue(fmt.Sprintf("b%03d", i), "v")
		}
		ctx.SetKVValue("s000", "overwrite is fine at the limit")
		ctx.SetKVValue("a000", "and so is this")
		if ctx.GetKVLength() != 150 {
			return nil, fmt.Errorf("length %d", ctx.GetKVLength())
		}
		if _, err := ctx.Yield(ctx.ScheduleActivity("A", nil)); err != nil {
			return nil, err
		}
		ctx.SetKVValue("one-too-many", "v")
		return "not reached", nil
	}
	bothModes(t, fn, Options{KV: snap}, func(h *harness) {
		r := h.turn(startMsg("KV", nil))
		mustOutcome(t, r, OutcomeContinue)
		r = h.turn(actDone(32, nil))
		mustOutcome(t, r, OutcomeContinue)
		id := r.Activities[0].ID
		r = h.turn(actDone(id, nil))
		mustFail(t, r, "KV key count (151) exceeds limit (150)")
	})
}

func TestFeatKVValueLimit(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		var n int
		if err := in.Decode(&n); err != nil {
			return nil, err
		}
		ctx.SetKVValue("big", strings.Repeat("v", n))
		v, _ := ctx.GetKVValue("big")
		return len(v), nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		mustOutput(t, h.turn(startMsg("KV", MaxKVValueBytes)), `65536`)
	})
	bothModes(t, fn, Options{}, func(h *harness) {
		mustFail(t, h.turn(startMsg("KV", MaxKVValueBytes+1)), "KV value for key 'big' (65537 bytes) exceeds limit (65536 bytes)")
	})
}

// ---------------------------------------------------------------------------------------
// System calls

func TestFeatSystemCallsRecorded(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		now1, err := ctx.Yield(ctx.UtcNow())
		if err != nil {
			return nil, err
		}
		g, err := ctx.Yield(ctx.NewGUID())
		if err != nil {
			return nil, err
		}
		if _, err := ctx.Yield(ctx.ScheduleActivity("A", nil)); err != nil {
			return nil, err
		}
		now2, err := Now(ctx)
		if err != nil {
			return nil, err
		}
		return []any{now1, g, now2.UnixMilli()}, nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Sys", nil))
		featDelta(t, r, "1:OrchestrationStarted 2:SystemCall 3:SystemCall 4:ActivityScheduled")
		t1 := h.now
		if e := r.Delta[1]; e.Name != history.SysUtcNow || string(e.Result) != fmt.Sprint(t1) {
			t.Fatalf("utc_now event %+v, want %d", e, t1)
		}
		if e := r.Delta[2]; e.Name != history.SysNewGUID || string(e.Result) != `"00000000-0000-4000-8000-000000000001"` {
			t.Fatalf("new_guid event %+v", e)
		}
		r = h.turn(actDone(4, nil))
		featDelta(t, r, "5:ActivityCompleted 6:SystemCall 7:OrchestrationCompleted")
		mustOutput(t, r, fmt.Sprintf(`[%d,"00000000-0000-4000-8000-000000000001",%d]`, t1, h.now))
	})
}

func TestFeatGetKVValueFromInstance(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		v, err := ctx.Yield(ctx.GetKVValueFromInstance("other", "k"))
		if err != nil {
			return nil, err
		}
		w, err := ctx.Yield(ctx.GetKVValueFromInstance("other", "missing"))
		if err != nil {
			return nil, err
		}
		return []any{v, w.IsNull()}, nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Sys", nil))
		featDelta(t, r, "1:OrchestrationStarted 2:ActivityScheduled")
		e := r.Delta[1]
		if e.Name != "__duroxide_syscall:get_kv_value" || !RawValue(e.Input).Equal(mustValue(map[string]string{"instance_id": "other", "key": "k"})) {
			t.Fatalf("scheduled %+v", e)
		}
		if len(r.Activities) != 1 || r.Activities[0].Name != SysGetKVActivity || string(r.Activities[0].Input) != `{"instance_id":"other","key":"k"}` {
			t.Fatalf("work %+v", r.Activities)
		}
		h.turn(actDone(2, "val"))
		r = h.turn(actDone(4, nil))
		mustOutput(t, r, `["val",true]`)
	})
}

// ---------------------------------------------------------------------------------------
// History size

func TestFeatContinueAsNewSuggested(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		var seen []bool
		for i := 0; ; i++ {
			s := ctx.IsContinueAsNewSuggested()
			seen = append(seen, s)
			if s || i == 15 {
				return seen, nil
			}
			if _, err := ctx.Yield(ctx.ScheduleActivity("A", i)); err != nil {
				return nil, err
			}
		}
	}
	bothModes(t, fn, Options{MaxHistoryEvents: 20}, func(h *harness) {
		r := h.turn(startMsg("Long", nil))
		for r.Outcome == OutcomeContinue {
			r = h.turn(actDone(r.Activities[0].ID, nil))
		}
		// At the 9th check 17 events are in use (85% of 20); at the 8th, 15 (75%).
		mustOutput(t, r, `[false,false,false,false,false,false,false,false,true]`)
	})
}

func TestFeatHistoryLimit(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		for i := range 30 {
			if _, err := ctx.Yield(ctx.ScheduleActivity("A", i)); err != nil {
				return nil, err
			}
		}
		return "no limit", nil
	}
	bothModes(t, fn, Options{MaxHistoryEvents: 20}, func(h *harness) {
		r := h.turn(startMsg("Long", nil))
		for turns := 0; r.Outcome == OutcomeContinue && turns < 40; turns++ {
			r = h.turn(actDone(r.Activities[0].ID, nil))
		}
		mustFail(t, r, "ContinueAsNew")
		mustFail(t, r, "20")
		if n := len(h.persisted); n > 22 {
			t.Fatalf("history grew to %d events past a limit of 20", n)
		}
	})
}
