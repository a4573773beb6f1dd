package yield

import (
	"errors"
	"strings"
	"testing"

	"github.com/duroxide-go/duroxide/history"
)

// The tag limit: a tag longer than history.MaxTagBytes fails the Yield with ErrInvalidTask
// and schedules nothing; returning that error fails the orchestration with Rust's message.

func TestTagLimitFailsOrchestration(t *testing.T) {
	long := strings.Repeat("g", history.MaxTagBytes+1)
	fn := func(ctx *Ctx, in Value) (any, error) {
		_, err := ctx.Yield(ctx.ScheduleActivity("Train", nil).WithTag(long))
		return nil, err
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Tags", nil))
		mustFail(t, r, "Activity 'Train' tag size (257 bytes) exceeds limit (256 bytes)")
		if len(r.Activities) != 0 {
			t.Fatalf("activities %+v, want none", r.Activities)
		}
		featDelta(t, r, "1:OrchestrationStarted 2:OrchestrationFailed")
	})
}

func TestTagLimitIsInvalidTask(t *testing.T) {
	long := strings.Repeat("é", 129) // 258 bytes, 129 runes: the limit counts bytes
	fn := func(ctx *Ctx, in Value) (any, error) {
		_, err1 := ctx.Yield(ctx.ScheduleActivityWithRetry("R", nil, RetryPolicy{MaxAttempts: 2}).WithTag(long))
		_, err2 := ctx.Yield(ctx.All(ctx.ScheduleActivity("A", nil).WithTag(long)))
		ok := errors.Is(err1, ErrInvalidTask) && errors.Is(err2, ErrInvalidTask) &&
			strings.Contains(err1.Error(), "Activity 'R' tag size (258 bytes) exceeds limit (256 bytes)") &&
			strings.Contains(err2.Error(), "Activity 'A' tag size (258 bytes)")
		return ok, nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Tags", nil))
		mustOutput(t, r, `true`)
		featDelta(t, r, "1:OrchestrationStarted 2:OrchestrationCompleted")
	})
}

func TestTagAtLimitIsScheduled(t *testing.T) {
	tag := strings.Repeat("t", history.MaxTagBytes)
	fn := func(ctx *Ctx, in Value) (any, error) {
		return ctx.Yield(ctx.ScheduleActivity("A", nil).WithTag(tag))
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Tags", nil))
		if len(r.Activities) != 1 || r.Activities[0].Tag != tag {
			t.Fatalf("activities %+v, want one tagged with the 256-byte tag", r.Activities)
		}
		r = h.turn(actDone(2, "x"))
		mustOutput(t, r, `"x"`)
	})
}
