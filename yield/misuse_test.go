package yield_test

import (
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

// Orchestration code that breaks the rules: it loops without yielding, or yields from
// a goroutine of its own. The engine fails the execution with a clear error instead of
// hanging or corrupting the hand-off.

func startMsg() history.Message {
	return history.Message{Kind: history.MsgStartOrchestration, Instance: "i", Name: "O", Version: "1.0.0", Input: []byte(`1`)}
}

func waitGoroutinesBelow(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines leaked: %d > %d", runtime.NumGoroutine(), base)
		}
		time.Sleep(time.Millisecond)
	}
}

//go:noinline
func busyLoop(stop *atomic.Bool) int {
	n := 0
	for !stop.Load() {
		n++
	}
	return n
}

func TestStuckCodeFailsTheExecution(t *testing.T) {
	base := runtime.NumGoroutine()
	var stop atomic.Bool
	defer stop.Store(true)
	fn := func(ctx *yield.Ctx, in yield.Value) (any, error) {
		if _, err := ctx.Yield(ctx.ScheduleTimer(time.Second)); err != nil {
			return nil, err
		}
		return busyLoop(&stop), nil
	}
	ex := yield.NewExecution(fn, yield.Options{InstanceID: "i", StuckTimeout: 100 * time.Millisecond})
	res := ex.Turn(yield.TurnInput{Messages: []history.Message{startMsg()}, NowMs: 1000})
	if res.Outcome != yield.OutcomeContinue || len(res.Messages) != 1 {
		t.Fatalf("first turn: %v, %d messages", res.Outcome, len(res.Messages))
	}
	began := time.Now()
	res = ex.Turn(yield.TurnInput{Messages: []history.Message{{Kind: history.MsgTimerFired, Instance: "i", ExecutionID: 1, ID: 2, FireAtMs: 2000}}, NowMs: 2000})
	if d := time.Since(began); d > 5*time.Second {
		t.Fatalf("stuck turn took %v", d)
	}
	if res.Outcome != yield.OutcomeFailed || res.Error == nil {
		t.Fatalf("stuck turn: %v %v, want failed", res.Outcome, res.Error)
	}
	if res.Error.Category != history.CategoryInfrastructure || res.Error.Kind != history.KindStuckCode || res.Error.Retryable {
		t.Fatalf("stuck failure %+v, want infrastructure/stuck_code, not retryable", res.Error)
	}
	if !strings.Contains(res.Error.Stack, "busyLoop") {
		t.Fatalf("stuck failure stack does not show busyLoop:\n%s", res.Error.Stack)
	}
	if !strings.Contains(res.Error.DisplayMessage(), "neither yielded nor returned within 100ms") {
		t.Fatalf("message: %s", res.Error.DisplayMessage())
	}
	last := res.Delta[len(res.Delta)-1]
	if last.Kind != history.OrchestrationFailed {
		t.Fatalf("last event %s, want OrchestrationFailed", last)
	}
	if ex.Stuck() != 1 {
		t.Fatalf("Stuck() = %d, want 1", ex.Stuck())
	}
	ex.Close()
	stop.Store(true)
	waitGoroutinesBelow(t, base)
}

func TestStuckTimeoutZeroWaits(t *testing.T) {
	fn := func(ctx *yield.Ctx, in yield.Value) (any, error) {
		time.Sleep(20 * time.Millisecond) // slow but finishing code
		return "ok", nil
	}
	ex := yield.NewExecution(fn, yield.Options{InstanceID: "i", StuckTimeout: 5 * time.Second})
	res := ex.Turn(yield.TurnInput{Messages: []history.Message{startMsg()}, NowMs: 1000})
	if res.Outcome != yield.OutcomeCompleted || ex.Stuck() != 0 {
		t.Fatalf("outcome %v, stuck %d", res.Outcome, ex.Stuck())
	}
	ex.Close()
}

func TestYieldFromForeignGoroutineWhileParked(t *testing.T) {
	base := runtime.NumGoroutine()
	errc := make(chan error, 1)
	fn := func(ctx *yield.Ctx, in yield.Value) (any, error) {
		if ctx.IsReplaying() {
			return nil, errors.New("unexpected replay")
		}
		go func() {
			time.Sleep(time.Millisecond) // let the code park in its own Yield
			_, err := ctx.Yield(ctx.ScheduleActivity("A", 1))
			errc <- err
		}()
		_, err := ctx.Yield(ctx.ScheduleTimer(time.Second))
		return nil, err
	}
	ex := yield.NewExecution(fn, yield.Options{InstanceID: "i"})
	defer ex.Close()
	res := ex.Turn(yield.TurnInput{Messages: []history.Message{startMsg()}, NowMs: 1000})
	if err := <-errc; !errors.Is(err, yield.ErrForeignGoroutine) {
		t.Fatalf("foreign Yield returned %v, want ErrForeignGoroutine", err)
	}
	if res.Outcome == yield.OutcomeContinue {
		res = ex.Turn(yield.TurnInput{NowMs: 2000}) // the next turn sees the misuse
	}
	if res.Outcome != yield.OutcomeFailed || !strings.Contains(res.Error.Message, "goroutine the orchestration started") {
		t.Fatalf("outcome %v (%v), want failed with the foreign-goroutine error", res.Outcome, res.Error)
	}
	ex.Close()
	waitGoroutinesBelow(t, base)
}

func TestYieldFromForeignGoroutineAfterReturn(t *testing.T) {
	errc := make(chan error, 1)
	release := make(chan struct{})
	fn := func(ctx *yield.Ctx, in yield.Value) (any, error) {
		go func() {
			<-release
			_, err := ctx.Yield(ctx.ScheduleActivity("A", 1))
			errc <- err
		}()
		return "done", nil
	}
	ex := yield.NewExecution(fn, yield.Options{InstanceID: "i"})
	res := ex.Turn(yield.TurnInput{Messages: []history.Message{startMsg()}, NowMs: 1000})
	if res.Outcome != yield.OutcomeCompleted {
		t.Fatalf("outcome %v, want completed", res.Outcome)
	}
	ex.Close()
	close(release)
	if err := <-errc; !errors.Is(err, yield.ErrForeignGoroutine) {
		t.Fatalf("Yield after the execution ended returned %v, want ErrForeignGoroutine", err)
	}
}

func TestYieldFromForeignGoroutineWhileCodeWaits(t *testing.T) {
	fn := func(ctx *yield.Ctx, in yield.Value) (any, error) {
		errc := make(chan error, 1)
		go func() {
			_, err := ctx.Yield(ctx.ScheduleActivity("A", 1))
			errc <- err
		}()
		return nil, <-errc // the code holds control while its goroutine yields
	}
	ex := yield.NewExecution(fn, yield.Options{InstanceID: "i"})
	defer ex.Close()
	res := ex.Turn(yield.TurnInput{Messages: []history.Message{startMsg()}, NowMs: 1000})
	if res.Outcome != yield.OutcomeFailed || !strings.Contains(res.Error.Message, "goroutine the orchestration started") {
		t.Fatalf("outcome %v (%v), want failed with the foreign-goroutine error", res.Outcome, res.Error)
	}
	if len(res.Activities) != 0 {
		t.Fatalf("the foreign Yield scheduled %d activities", len(res.Activities))
	}
}
