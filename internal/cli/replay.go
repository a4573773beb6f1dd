package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

// The orchestration code replay can run. A binary is needed that has the code compiled
// in: the stock duroxide binary has none, a user's own main adds theirs.
var (
	orchMu sync.RWMutex
	orchs  = map[string]yield.Orchestration{}
)

// RegisterOrchestrations makes orchestration code known to the replay command. A key is
// an orchestration name ("OrderFlow": every version) or a name and version
// ("OrderFlow@2.0.0": that version, preferred over the bare name). A later call
// replaces the code of a key given again; a nil function removes the key.
func RegisterOrchestrations(m map[string]yield.Orchestration) {
	orchMu.Lock()
	defer orchMu.Unlock()
	for k, f := range m {
		if f == nil {
			delete(orchs, k)
			continue
		}
		orchs[k] = f
	}
}

// lookupOrchestration finds the code for name at version, and lists the keys known.
func lookupOrchestration(name, version string) (yield.Orchestration, []string) {
	orchMu.RLock()
	defer orchMu.RUnlock()
	keys := make([]string, 0, len(orchs))
	for k := range orchs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if f, ok := orchs[name+"@"+version]; ok {
		return f, keys
	}
	return orchs[name], keys
}

func init() {
	Register(Command{Name: "replay", Args: "ID [-execution N] [-json]",
		Summary: "check a stored instance against the orchestration code in this binary",
		Run:     runReplay})
}

// replayJSON is the -json shape of replay.
type replayJSON struct {
	InstanceID  string          `json:"instance_id"`
	ExecutionID uint64          `json:"execution_id"`
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	Clean       bool            `json:"clean"`
	Finished    bool            `json:"finished"`
	Events      int             `json:"events"`
	Steps       int             `json:"steps"`
	NewSteps    []history.Event `json:"new_steps"`
	Divergence  *divergenceJSON `json:"divergence"`
}

type divergenceJSON struct {
	Step     int            `json:"step"`
	EventID  uint64         `json:"event_id"`
	Recorded *history.Event `json:"recorded"`
	Code     *history.Event `json:"code"`
	Message  string         `json:"message"`
}

// noCodeHelp explains why the stock binary cannot replay.
const noCodeHelp = `this duroxide binary has no orchestration code to replay: replay runs your code over a
stored history, so it needs a binary built with your orchestrations. Build one with a main of
a few lines (see "Replaying stored instances" in docs/cli.md):

    package main

    import (
        "github.com/duroxide-go/duroxide/cmd/duroxide/duroxidecli"
        "github.com/duroxide-go/duroxide/yield"
        "example.com/app/orders"
    )

    func main() {
        duroxidecli.Main(map[string]yield.Orchestration{"OrderFlow": orders.OrderFlow})
    }`

func runReplay(ctx context.Context, env *Env, args []string) error {
	cmd := commands["replay"]
	fs := newFlags(cmd.Name)
	exec := fs.Uint64("execution", 0, "the execution `N` to replay (0: the current one)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, err := parseArgs(fs, cmd, args, 1, 1)
	if err != nil {
		return err
	}
	if _, keys := lookupOrchestration("", ""); len(keys) == 0 {
		return &ExitError{Code: ExitUsage, Err: errors.New(noCodeHelp)}
	}
	id := pos[0]
	info, err := env.Client.GetInstanceInfo(ctx, id)
	if err != nil {
		return notFound(id, err)
	}
	n := *exec
	if n == 0 {
		n = info.CurrentExecutionID
	}
	events, err := env.Client.ReadExecutionHistory(ctx, id, n)
	if errors.Is(err, duroxide.ErrNotFound) || err == nil && len(events) == 0 {
		return notFoundf("instance %q has no recorded execution %d (not run yet, or pruned)", id, n)
	}
	if err != nil {
		return err
	}
	name, version := info.OrchestrationName, info.OrchestrationVersion
	if events[0].Kind == history.OrchestrationStarted {
		name, version = events[0].Name, events[0].Version
	}
	orch, keys := lookupOrchestration(name, version)
	if orch == nil {
		return usagef("no code for orchestration %s %s in this binary (it has %s)", name, version, strings.Join(keys, ", "))
	}
	rep, rerr := env.Client.ReplayInstance(ctx, id, n, orch)
	var div *duroxide.Divergence
	if rerr != nil && !errors.As(rerr, &div) {
		if errors.Is(rerr, duroxide.ErrNotFound) {
			return notFound(id, rerr)
		}
		return fmt.Errorf("replay %s execution %d: %w", id, n, rerr)
	}
	if rep.Divergence != nil {
		div = rep.Divergence
	}
	if *asJSON {
		j := replayJSON{InstanceID: id, ExecutionID: n, Name: rep.Name, Version: rep.Version, Clean: rep.Clean,
			Finished: rep.Finished, Events: rep.Events, Steps: rep.Steps, NewSteps: rep.NewSteps}
		if j.NewSteps == nil {
			j.NewSteps = []history.Event{}
		}
		if div != nil {
			j.Divergence = &divergenceJSON{Step: div.Step, EventID: div.EventID, Recorded: div.Recorded, Code: div.Code, Message: div.Message}
		}
		if err := writeJSON(env.Stdout, j); err != nil {
			return err
		}
	} else {
		writeReplay(env, id, n, rep, div)
	}
	if div != nil || !rep.Clean {
		msg := "nondeterministic"
		if div != nil {
			msg += ": " + div.Message
		}
		return &ExitError{Code: ExitFailed, Err: errors.New(msg)}
	}
	return nil
}

// writeReplay prints the report, one "label  value" line each.
func writeReplay(env *Env, id string, n uint64, rep duroxide.ReplayReport, div *duroxide.Divergence) {
	line := func(label, format string, args ...any) {
		fmt.Fprintf(env.Stdout, "%-12s"+format+"\n", append([]any{label}, args...)...)
	}
	state := "running"
	if rep.Finished {
		state = "finished"
	}
	line("instance", "%s", id)
	line("execution", "%d (%s %s, %s)", n, rep.Name, rep.Version, state)
	line("events", "%d", rep.Events)
	line("steps", "%d replayed", rep.Steps)
	if div == nil && rep.Clean {
		line("result", "clean")
	} else {
		line("result", "NONDETERMINISTIC")
	}
	if len(rep.NewSteps) > 0 {
		kinds := make([]string, 0, len(rep.NewSteps))
		for _, e := range rep.NewSteps {
			k := string(e.Kind)
			if e.Name != "" {
				k += "(" + e.Name + ")"
			}
			kinds = append(kinds, k)
		}
		line("new steps", "%s", clip(strings.Join(kinds, ", "), 120))
	}
	if div != nil {
		line("divergence", "%s", div.Message)
	}
}
