package printing

import (
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/duroxide-go/duroxide/yield"
)

var logger = log.New(os.Stderr, "", 0)

func Orch(ctx *yield.Ctx, in yield.Value) (any, error) {
	fmt.Println("starting")     // want `fmt.Println prints again on every replay: use ctx.TraceInfo \(silent while replaying\)`
	fmt.Printf("%d\n", 1)       // want `fmt.Printf prints again on every replay`
	fmt.Print("x")              // want `fmt.Print prints again on every replay`
	log.Printf("x %d", 1)       // want `log.Printf logs again on every replay`
	log.Println("x")            // want `log.Println logs again on every replay`
	logger.Printf("x")          // want `\(\*log.Logger\).Printf logs again on every replay`
	ctx.TraceInfo("starting")   // the replay-safe way
	msg := fmt.Sprintf("%d", 1) // formatting is fine
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s", msg) // writing to memory is fine
	return sb.String(), nil
}

// Outside orchestrations printing is fine.
func Report() { fmt.Println("done") }
