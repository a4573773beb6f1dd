package random

import (
	crand "crypto/rand"
	"math/rand"
	randv2 "math/rand/v2"

	"github.com/duroxide-go/duroxide/yield"
)

func Orch(ctx *yield.Ctx, in yield.Value) (any, error) {
	_ = rand.Intn(10)   // want `rand.Intn gives other values on replay: use ctx.NewGUID\(\), or draw random numbers in an activity`
	_ = rand.Float64()  // want `rand.Float64 gives other values on replay`
	_ = randv2.IntN(10) // want `rand.IntN gives other values on replay`
	_ = randv2.N(10)    // want `rand.N gives other values on replay`
	b := make([]byte, 16)
	_, _ = crand.Read(b)                   // want `rand.Read gives other values on replay: use ctx.NewGUID\(\), or draw random bytes in an activity`
	_ = crand.Text()                       // want `rand.Text gives other values on replay`
	seeded := rand.New(rand.NewSource(42)) // a generator with a fixed seed is deterministic
	_ = seeded.Intn(10)
	pcg := randv2.New(randv2.NewPCG(1, 2))
	_ = pcg.IntN(10)
	return ctx.Yield(ctx.NewGUID()) // the deterministic way
}

// Outside orchestrations randomness is fine.
func Jitter() int { return rand.Intn(100) }
