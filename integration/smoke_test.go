package integration_test

import (
	"testing"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

func TestHarnessSmoke(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "Echo", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			var v string
			return v, in.Decode(&v)
		})
		orchestration(t, rt, "Smoke", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.ScheduleActivity("Echo", "hi"))
		})
		s.start(rt)
		got := mustComplete[string](t, s.run(uid("smoke"), "Smoke", nil))
		equal(t, "output", got, "hi")
	})
}
