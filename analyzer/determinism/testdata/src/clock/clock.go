package clock

import (
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

func Orch(ctx *yield.Ctx, in yield.Value) (any, error) {
	start := time.Now()             // want `time.Now reads the wall clock, which differs on replay: use ctx.UtcNow\(\)`
	_ = time.Since(start)           // want `time.Since reads the wall clock`
	_ = time.Until(start)           // want `time.Until reads the wall clock`
	now, err := yield.Now(ctx)      // the deterministic clock
	_ = now.Add(time.Minute).Unix() // methods of time.Time are fine
	_ = time.Unix(0, 0).Sub(now)    // building times from recorded values is fine
	_, _ = ctx.Yield(ctx.UtcNow())  // fine
	return nil, err
}

// Activity code may read the clock.
func Activity(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
	return time.Now(), nil
}

// Plain functions are not orchestrations.
func Plain() time.Time { return time.Now() }
