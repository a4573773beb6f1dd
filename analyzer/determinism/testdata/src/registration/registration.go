package registration

import (
	"fmt"
	"math/rand"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

type Order struct{ ID string }

type Workflows struct{}

func (w Workflows) Ship(ctx *yield.Ctx, in yield.Value) (any, error) {
	_ = time.Now() // want `time.Now reads the wall clock`
	return w.label(), nil
}

// label is a method helper of an orchestration.
func (Workflows) label() string {
	return fmt.Sprint(rand.Int()) // want `rand.Int gives other values on replay.*\(in label, called from orchestration code\)`
}

func named(ctx *yield.Ctx, in yield.Value) (any, error) {
	_ = time.Now() // want `time.Now reads the wall clock`
	stamp()
	return nil, nil
}

func typed(ctx *yield.Ctx, o Order) (string, error) {
	_ = time.Now() // want `time.Now reads the wall clock`
	return o.ID, nil
}

// stamp is a helper called by an orchestration: checked one level deep.
func stamp() int64 {
	deeper()
	return time.Now().UnixNano() // want `time.Now reads the wall clock, which differs on replay: use ctx.UtcNow\(\) \(or yield.Now\(ctx\)\) in orchestration code \(in stamp, called from orchestration code\)`
}

// deeper is two calls away from the orchestration: not checked.
func deeper() { time.Sleep(time.Millisecond) }

// unused is never called from orchestration code.
func unused() { time.Sleep(time.Millisecond) }

func Register(rt *duroxide.Runtime) {
	_ = rt.RegisterOrchestration("Named", named)
	_ = rt.RegisterOrchestration("Method", Workflows{}.Ship)
	_ = rt.RegisterOrchestrationVersioned("Lit", "2.0.0", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		time.Sleep(time.Second) // want `time.Sleep blocks outside the scheduler`
		return ctx.Yield(ctx.Block(func(ctx *yield.Ctx) (any, error) {
			_ = time.Now() // want `time.Now reads the wall clock`
			return nil, nil
		}))
	})
	_ = duroxide.RegisterOrchestrationTyped(rt, "Typed", typed)
	_ = duroxide.RegisterOrchestrationVersionedTyped(rt, "TypedLit", "1.0.1", func(ctx *yield.Ctx, o Order) (int, error) {
		_ = time.Since(time.Time{}) // want `time.Since reads the wall clock`
		return 0, nil
	})
	// Activities are not orchestrations.
	_ = rt.RegisterActivity("Clock", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
		time.Sleep(time.Millisecond)
		return time.Now(), nil
	})
	_ = duroxide.RegisterActivityTyped(rt, "TypedClock", func(ctx *duroxide.ActivityContext, in int) (int64, error) {
		return time.Now().Unix(), nil
	})
	unused()
}
