package concurrency

import (
	"github.com/duroxide-go/duroxide/yield"
)

func Orch(ctx *yield.Ctx, in yield.Value) (any, error) {
	ch := make(chan int, 1)
	go func() {}() // want `go statement in orchestration code: goroutines run outside the deterministic scheduler; compose with ctx.All, ctx.Race and ctx.Block`
	ch <- 1        // want `channel send in orchestration code blocks outside the scheduler`
	v := <-ch      // want `channel receive in orchestration code blocks outside the scheduler`
	select {       // want `select in orchestration code waits outside the scheduler and picks at random: use ctx.Race`
	case x := <-ch: // the select is reported once, not its cases
		v += x
	default:
	}
	for x := range ch { // want `ranging over a channel in orchestration code blocks outside the scheduler`
		v += x
	}
	close(ch) // closing is not blocking
	// The deterministic way to compose.
	_, err := ctx.Yield(ctx.Race(ctx.WaitForEvent("a"), ctx.All(ctx.WaitForEvent("b"), ctx.WaitForEvent("c"))))
	return v, err
}

// Outside orchestrations concurrency is fine.
func Pump(ch chan int) {
	go func() { ch <- 1 }()
	select {
	case <-ch:
	default:
	}
}
