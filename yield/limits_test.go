package yield

import (
	"errors"
	"strings"
	"testing"
)

func TestPayloadLimitOnInputsAndOutput(t *testing.T) {
	big := strings.Repeat("x", 100)
	fn := func(ctx *Ctx, in Value) (any, error) {
		_, err := ctx.Yield(ctx.ScheduleActivity("A", big))
		if !errors.Is(err, ErrInvalidTask) || !strings.Contains(err.Error(), "input is 102 bytes (limit 64)") {
			return nil, errors.New("unexpected: " + errString(err))
		}
		_, err = ctx.Yield(ctx.All(ctx.ScheduleTimer(0), ctx.ScheduleSubOrchestration("C", big)))
		if !errors.Is(err, ErrInvalidTask) {
			return nil, errors.New("unexpected in All: " + errString(err))
		}
		if in.String() == "small" {
			return "ok", nil
		}
		return big, nil
	}
	bothModes(t, fn, Options{MaxPayloadBytes: 64}, func(h *harness) {
		res := h.turn(startMsg("Limits", "small"))
		mustOutput(t, res, `"ok"`)
		if len(res.Activities) != 0 || len(res.Messages) != 0 {
			t.Fatalf("an oversized task scheduled work: %+v %+v", res.Activities, res.Messages)
		}
	})
	bothModes(t, fn, Options{MaxPayloadBytes: 64}, func(h *harness) {
		mustFail(t, h.turn(startMsg("Limits", "large")), "output is 102 bytes (limit 64)")
	})
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
