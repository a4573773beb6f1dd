package printing

import (
	"fmt"
	"log"
	"log/slog"
	"os"
	"strings"

	"github.com/duroxide-go/duroxide/yield"
)

var logger = log.New(os.Stderr, "", 0)

func Orch(ctx *yield.Ctx, in yield.Value) (any, error) {
	fmt.Println("starting")              // want `fmt.Println prints again on every replay: use ctx.TraceInfo \(silent while replaying\)`
	fmt.Printf("%d\n", 1)                // want `fmt.Printf prints again on every replay`
	fmt.Print("x")                       // want `fmt.Print prints again on every replay`
	log.Printf("x %d", 1)                // want `log.Printf logs again on every replay`
	log.Println("x")                     // want `log.Println logs again on every replay`
	logger.Printf("x")                   // want `\(\*log.Logger\).Printf logs again on every replay`
	fmt.Fprintln(os.Stdout, "x")         // want `fmt.Fprintln to the standard output prints again on every replay`
	fmt.Fprintf(os.Stderr, "x")          // want `fmt.Fprintf to the standard output prints again`
	slog.Info("x")                       // want `slog.Info logs again on every replay: use ctx.TraceInfo, TraceWarn, TraceError or TraceDebug`
	slog.Default().WarnContext(nil, "x") // want `\(\*slog.Logger\).WarnContext logs again on every replay`
	_ = slog.String("k", "v")            // building attributes is fine
	ctx.TraceInfo("starting")            // the replay-safe way
	msg := fmt.Sprintf("%d", 1)          // formatting is fine
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s", msg) // writing to memory is fine
	return sb.String(), nil
}

// Outside orchestrations printing is fine.
func Report() { fmt.Println("done") }
