package random

import (
	crand "crypto/rand"
	"math/rand"
	randv2 "math/rand/v2"

	"github.com/duroxide-go/duroxide/yield"
	"github.com/google/uuid"
)

func Orch(ctx *yield.Ctx, in yield.Value) (any, error) {
	_ = rand.Intn(10)   // want `rand.Intn gives other values on replay: use ctx.NewGUID\(\), or draw random numbers in an activity`
	_ = rand.Float64()  // want `rand.Float64 gives other values on replay`
	_ = randv2.IntN(10) // want `rand.IntN gives other values on replay`
	_ = randv2.N(10)    // want `rand.N gives other values on replay`
	b := make([]byte, 16)
	_, _ = crand.Read(b)                                      // want `rand.Read gives other values on replay: use ctx.NewGUID\(\), or draw random bytes in an activity`
	_ = crand.Text()                                          // want `rand.Text gives other values on replay`
	_ = uuid.New()                                            // want `uuid.New gives another id on replay: use ctx.NewGUID\(\)`
	_ = uuid.NewString()                                      // want `uuid.NewString gives another id on replay`
	_ = uuid.Must(uuid.NewV7())                               // want `uuid.NewV7 gives another id on replay`
	_ = uuid.NewSHA1(uuid.UUID{}, []byte("order-1")).String() // name-based ids are deterministic
	_, _ = uuid.Parse("00000000-0000-0000-0000-000000000000")
	seeded := rand.New(rand.NewSource(42)) // a generator with a fixed seed is deterministic
	_ = seeded.Intn(10)
	pcg := randv2.New(randv2.NewPCG(1, 2))
	_ = pcg.IntN(10)
	return ctx.Yield(ctx.NewGUID()) // the deterministic way
}

// Outside orchestrations randomness is fine.
func Jitter() int { return rand.Intn(100) }
