// Command replay drives the pure replay engine by hand, playing the runtime's part: it
// runs a small orchestration turn by turn, executes its activities in process, prints the
// history it records, and then replays that history from scratch to show that the code
// makes the same decisions again. No store is involved.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

// greet is the orchestration: two activities in parallel, then a race against a timer.
func greet(ctx *yield.Ctx, input yield.Value) (any, error) {
	name := input.String()
	ctx.TraceInfo("greeting " + name)
	results, err := yield.AwaitAll(ctx,
		ctx.ScheduleActivity("Hello", name),
		ctx.ScheduleActivity("Shout", name),
	)
	if err != nil {
		return nil, err
	}
	idx, v, err := yield.AwaitRace(ctx, ctx.ScheduleActivity("Hello", "again"), ctx.ScheduleTimer(time.Minute))
	if err != nil {
		return nil, err
	}
	return map[string]any{"hello": results[0].Value, "shout": results[1].Value, "race_winner": idx, "race_value": v}, nil
}

// activities are run in process by this driver.
var activities = map[string]func(string) string{
	"Hello": func(s string) string { return "Hello, " + s + "!" },
	"Shout": strings.ToUpper,
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "replay:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	const instance = "greet-1"
	opts := yield.Options{InstanceID: instance, Trace: func(r yield.TraceRecord) {
		fmt.Fprintf(out, "  trace %s: %s\n", r.Level, r.Message)
	}}
	ex := yield.NewExecution(greet, opts)
	defer ex.Close()

	var persisted []history.Event
	msgs := []history.Message{{Kind: history.MsgStartOrchestration, Instance: instance, Name: "Greet", Version: "1.0.0", Input: []byte(`"world"`)}}
	now := time.Now().UnixMilli()
	var final yield.Value
	for turn := 1; len(msgs) > 0; turn++ {
		res := ex.Turn(yield.TurnInput{Messages: msgs, NowMs: now})
		persisted = append(persisted, res.Delta...)
		fmt.Fprintf(out, "turn %d -> %s\n", turn, res.Outcome)
		for _, e := range res.Delta {
			fmt.Fprintf(out, "  %s\n", e)
		}
		msgs = nil
		for _, a := range res.Activities { // a real runtime hands these to workers
			var in string
			_ = yield.RawValue(a.Input).Decode(&in)
			out, _ := yield.ValueOf(activities[a.Name](in))
			msgs = append(msgs, history.Message{Kind: history.MsgActivityCompleted, Instance: instance, ExecutionID: a.ExecutionID, ID: a.ID, Result: out.Raw()})
		}
		if res.Outcome.IsTerminal() {
			fmt.Fprintf(out, "output: %s\n", res.Output.Raw())
			final = res.Output
			break
		}
	}

	// A cache miss: a fresh Execution replays everything but the terminal event, makes
	// the same decisions again, and reaches the same output.
	replay := yield.NewExecution(greet, yield.Options{InstanceID: instance})
	defer replay.Close()
	res := replay.Turn(yield.TurnInput{History: persisted[:len(persisted)-1], NowMs: now})
	if res.Outcome != yield.OutcomeCompleted || !res.Output.Equal(final) {
		return fmt.Errorf("replay diverged: %s %s", res.Outcome, res.Output.Raw())
	}
	fmt.Fprintf(out, "replayed %d recorded events from scratch: same output, no trace repeated\n", len(persisted)-1)
	return nil
}
