// Package app registers orchestrations with nondeterministic code on the real duroxide
// module, for the go vet end-to-end test.
package app

import (
	"fmt"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

// Register registers the orchestration.
func Register(rt *duroxide.Runtime) error {
	return rt.RegisterOrchestration("Clocky", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		deadline := time.Now().Add(time.Hour)
		fmt.Println("deadline", deadline)
		return ctx.Yield(ctx.ScheduleTimer(time.Minute))
	})
}
