package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
)

func init() {
	Register(Command{Name: "history", Args: "ID [-execution N] [-json]",
		Summary: "print an execution's history as a timeline", Run: runHistory})
}

// historyJSON is the -json shape of history: the execution and its events, each in
// the history codec's field names (id, type, ts, name, src, input, result, ...).
type historyJSON struct {
	InstanceID  string          `json:"instance_id"`
	ExecutionID uint64          `json:"execution_id"`
	Executions  []uint64        `json:"executions"`
	Status      string          `json:"status"`
	StartedAtMs int64           `json:"started_at_ms"`
	Events      []history.Event `json:"events"`
}

func runHistory(ctx context.Context, env *Env, args []string) error {
	cmd := commands["history"]
	fs := newFlags(cmd.Name)
	exec := fs.Uint64("execution", 0, "the execution `N` to show (0: the current one)")
	asJSON := fs.Bool("json", false, "print the events as JSON")
	pos, err := parseArgs(fs, cmd, args, 1, 1)
	if err != nil {
		return err
	}
	id := pos[0]
	info, err := env.Client.GetInstanceInfo(ctx, id)
	if err != nil {
		return notFound(id, err)
	}
	execs, err := env.Client.ListExecutions(ctx, id)
	if err != nil {
		return err
	}
	n := *exec
	if n == 0 {
		n = info.CurrentExecutionID
	}
	ei, err := env.Client.GetExecutionInfo(ctx, id, n)
	if err != nil {
		if errors.Is(err, duroxide.ErrNotFound) {
			return notFoundf("instance %q has no execution %d (it has %s)", id, n, fmtExecs(execs))
		}
		return err
	}
	events, err := env.Client.ReadExecutionHistory(ctx, id, n)
	if err != nil {
		return err
	}
	if *asJSON {
		if events == nil {
			events = []history.Event{}
		}
		if execs == nil {
			execs = []uint64{}
		}
		return writeJSON(env.Stdout, historyJSON{InstanceID: id, ExecutionID: n, Executions: execs,
			Status: string(ei.Status), StartedAtMs: ei.StartedAtMs, Events: events})
	}
	fmt.Fprintf(env.Stdout, "%s  execution %d of %s  %s  started %s\n", id, n, fmtExecs(execs), ei.Status, fmtTime(ei.StartedAtMs))
	return writeTimeline(env.Stdout, events)
}

func fmtExecs(execs []uint64) string {
	switch len(execs) {
	case 0:
		return "none"
	case 1:
		return strconv.FormatUint(execs[0], 10)
	}
	return fmt.Sprintf("%d..%d", execs[0], execs[len(execs)-1])
}

// writeTimeline prints one line per event: offset from the first event, event id,
// kind, name (a completion shows the name of the event it resolves) and a short
// rendering of its data.
func writeTimeline(w io.Writer, events []history.Event) error {
	if len(events) == 0 {
		fmt.Fprintln(w, "(no events yet: no runtime has run this execution)")
		return nil
	}
	base := events[0].TimestampMs
	byID := make(map[uint64]history.Event, len(events))
	for _, e := range events {
		byID[e.EventID] = e
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, e := range events {
		name := e.Name
		if e.SourceEventID != 0 && name == "" {
			name = byID[e.SourceEventID].Name
		}
		fmt.Fprintf(tw, "%s\t#%d\t%s\t%s\t%s\n", fmtOffset(e.TimestampMs-base), e.EventID, e.Kind, clip(name, 32), eventData(e, base))
	}
	return tw.Flush()
}

// eventData renders what matters of an event in at most a line.
func eventData(e history.Event, base int64) string {
	const n = 72
	src := ""
	if e.SourceEventID != 0 {
		src = "of #" + strconv.FormatUint(e.SourceEventID, 10) + " "
	}
	var s string
	switch e.Kind {
	case history.OrchestrationStarted:
		s = "version " + e.Version + " input " + js(e.Input)
		if e.ParentInstance != "" {
			s += " parent " + e.ParentInstance
		}
		if len(e.CarryForward) > 0 {
			s += fmt.Sprintf(" carried %d", len(e.CarryForward))
		}
	case history.OrchestrationCompleted:
		s = "output " + js(e.Output)
	case history.OrchestrationContinuedAsNew:
		s = "input " + js(e.Input)
	case history.ActivityScheduled:
		s = "input " + js(e.Input)
		if e.Tag != "" {
			s += " tag " + e.Tag
		}
		if e.SessionID != "" {
			s += " session " + e.SessionID
		}
	case history.ActivityCompleted, history.SubOrchestrationCompleted, history.SystemCall:
		s = src + "result " + js(e.Result)
	case history.TimerCreated:
		s = "fires at " + fmtOffset(e.FireAtMs-base)
	case history.ExternalEvent, history.QueueEventDelivered:
		s = "data " + js(e.Data)
	case history.SubOrchestrationScheduled, history.OrchestrationChained:
		s = e.Instance + " input " + js(e.Input)
	case history.CustomStatusUpdated:
		if e.Status == nil {
			s = "(reset)"
		} else {
			s = strconv.Quote(*e.Status)
		}
	case history.KeyValueSet:
		s = e.Key + " = " + strconv.Quote(e.Value)
	case history.KeyValueCleared:
		s = e.Key
	default:
		s = src
	}
	if e.Error != nil {
		s += " error " + e.Error.DisplayMessage()
	}
	if e.Reason != "" {
		s += " reason " + strconv.Quote(e.Reason)
	}
	return clip(strings.TrimSpace(s), n)
}

// js renders raw JSON, null when empty.
func js(b json.RawMessage) string {
	return string(rawOrNull(b))
}
