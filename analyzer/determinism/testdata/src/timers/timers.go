package timers

import (
	"time"

	"github.com/duroxide-go/duroxide/yield"
)

func Orch(ctx *yield.Ctx, in yield.Value) (any, error) {
	time.Sleep(time.Second)                           // want `time.Sleep blocks outside the scheduler and is not durable: use ctx.ScheduleTimer\(d\)`
	_ = time.After(time.Second)                       // want `time.After is a timer outside the scheduler`
	_ = time.Tick(time.Second)                        // want `time.Tick is a timer outside the scheduler`
	t := time.NewTimer(time.Second)                   // want `time.NewTimer is a timer outside the scheduler`
	t.Stop()                                          // methods are not reported again
	_ = time.NewTicker(time.Second)                   // want `time.NewTicker is a timer outside the scheduler`
	_ = time.AfterFunc(time.Second, func() {})        // want `time.AfterFunc is a timer`
	_, err := ctx.Yield(ctx.ScheduleTimer(time.Hour)) // the durable timer
	_ = time.Duration(3) * time.Second                // durations are fine
	return nil, err
}

// Outside orchestrations timers are fine.
func Wait() { time.Sleep(time.Millisecond) }
