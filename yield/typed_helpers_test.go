package yield

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestAwaitAllOfDecodesEachResult(t *testing.T) {
	type item struct {
		ID     int    `json:"id"`
		Status string `json:"status"`
	}
	fn := func(ctx *Ctx, _ Value) (any, error) {
		items, err := AwaitAllOf[item](ctx, ctx.ScheduleActivity("Make", 0), ctx.ScheduleActivity("Make", 1))
		if err != nil {
			return nil, err
		}
		_, failed := AwaitAllOf[int](ctx, ctx.ScheduleActivity("Ok", nil), ctx.ScheduleActivity("Fail", nil))
		_, undecodable := AwaitAllOf[int](ctx, ctx.ScheduleActivity("Text", nil))
		return fmt.Sprintf("%+v|%v|%v", items, failed != nil && strings.Contains(failed.Error(), "boom"),
			undecodable != nil && strings.Contains(undecodable.Error(), "decode")), nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		h.turn(startMsg("AllOf", nil))
		h.turn(actDone(2, map[string]any{"id": 0, "status": "created"}), actDone(3, map[string]any{"id": 1, "status": "created"}))
		h.turn(actDone(6, 7), actFailed(7, "boom"))
		r := h.turn(actDone(10, "seven"))
		mustOutput(t, r, `"[{ID:0 Status:created} {ID:1 Status:created}]|true|true"`)
	})
}

func TestAwaitRaceOfDecodesWinner(t *testing.T) {
	type win struct {
		Winner bool   `json:"winner"`
		Data   string `json:"data"`
	}
	fn := func(ctx *Ctx, _ Value) (any, error) {
		i, w, err := AwaitRaceOf[win](ctx, ctx.ScheduleActivity("Fast", nil), ctx.ScheduleTimer(time.Minute))
		if err != nil {
			return nil, err
		}
		_, _, failed := AwaitRaceOf[int](ctx, ctx.ScheduleActivity("Fail", nil), ctx.ScheduleTimer(time.Minute))
		return fmt.Sprintf("%d %+v %v", i, w, failed != nil && strings.Contains(failed.Error(), "nope")), nil
	}
	bothModes(t, fn, Options{}, func(h *harness) {
		h.turn(startMsg("RaceOf", nil))
		h.turn(actDone(2, map[string]any{"winner": true, "data": "speedy"}))
		r := h.turn(actFailed(5, "nope"))
		mustOutput(t, r, `"0 {Winner:true Data:speedy} true"`)
	})
}
