package suppress

import (
	"fmt"
	"time"

	"github.com/duroxide-go/duroxide/yield"
)

func Orch(ctx *yield.Ctx, in yield.Value) (any, error) {
	started := time.Now() //duroxide:nondeterministic-ok only logged, never decides
	//duroxide:nondeterministic-ok
	fmt.Println("debug", started)
	fmt.Println("loud") // want `fmt.Println prints again on every replay`
	_ = time.Now()      //duroxide:nondeterministic-okay is not the directive // want `time.Now reads the wall clock`
	_ = time.Now()      // want `time.Now reads the wall clock`
	m := map[string]int{}
	for k := range m { //duroxide:nondeterministic-ok summing is order-free
		_ = k
	}
	return nil, nil
}
