package yield

import (
	"testing"
	"time"
)

func TestActivitySequence(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		a, err := ctx.Yield(ctx.ScheduleActivity("A", in))
		if err != nil {
			return nil, err
		}
		b, err := ctx.Yield(ctx.ScheduleActivity("B", a))
		if err != nil {
			return nil, err
		}
		return "done:" + b.String(), nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Seq", "x"))
		mustOutcome(t, r, OutcomeContinue)
		if got := kinds(r.Delta); got != "1:OrchestrationStarted 2:ActivityScheduled" {
			t.Fatalf("delta %s", got)
		}
		if len(r.Activities) != 1 || r.Activities[0].Name != "A" || r.Activities[0].ID != 2 {
			t.Fatalf("activities %+v", r.Activities)
		}
		r = h.turn(actDone(2, "y"))
		if got := kinds(r.Delta); got != "3:ActivityCompleted 4:ActivityScheduled" {
			t.Fatalf("delta %s", got)
		}
		r = h.turn(actDone(4, "z"))
		mustOutput(t, r, `"done:z"`)
		if got := kinds(r.Delta); got != "5:ActivityCompleted 6:OrchestrationCompleted" {
			t.Fatalf("delta %s", got)
		}
	})
}

func TestAllAndRaceShapes(t *testing.T) {
	fn := func(ctx *Ctx, in Value) (any, error) {
		all, err := ctx.Yield(ctx.All(ctx.ScheduleActivity("A", 1), ctx.ScheduleTimer(time.Second), ctx.ScheduleActivity("B", 2)))
		if err != nil {
			return nil, err
		}
		race, err := ctx.Yield(ctx.Race(ctx.WaitForEvent("go"), ctx.ScheduleTimer(time.Minute)))
		if err != nil {
			return nil, err
		}
		return []Value{all, race}, nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		r := h.turn(startMsg("Shapes", nil))
		if got := kinds(r.Delta); got != "1:OrchestrationStarted 2:ActivityScheduled 3:TimerCreated 4:ActivityScheduled" {
			t.Fatalf("delta %s", got)
		}
		h.turn(actFailed(4, "boom"), timerFired(3))
		r = h.turn(actDone(2, map[string]any{"n": 1}))
		if got := kinds(r.Delta); got != "7:ActivityCompleted 8:ExternalSubscribed 9:TimerCreated" {
			t.Fatalf("delta %s", got)
		}
		r = h.turn(raised("go", true))
		mustOutput(t, r, `[[{"ok":{"n":1}},{"ok":null},{"err":"boom"}],{"index":0,"value":true}]`)
	})
}
