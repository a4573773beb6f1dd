// Package clean registers a deterministic orchestration on the real duroxide module.
package clean

import (
	"maps"
	"slices"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

// Register registers the orchestration and its activity.
func Register(rt *duroxide.Runtime) error {
	if err := rt.RegisterActivity("Stamp", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
		return time.Now().UnixMilli(), nil
	}); err != nil {
		return err
	}
	return rt.RegisterOrchestration("Tidy", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		now, err := yield.Now(ctx)
		if err != nil {
			return nil, err
		}
		ctx.TraceInfo("started at " + now.Format(time.RFC3339))
		for _, k := range slices.Sorted(maps.Keys(ctx.GetKVAllValues())) {
			if _, err := ctx.Yield(ctx.ScheduleActivity("Stamp", k)); err != nil {
				return nil, err
			}
		}
		return ctx.Yield(ctx.ScheduleTimer(time.Minute))
	})
}
