package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/duroxide-go/duroxide"
)

func init() {
	Register(Command{Name: "list", Args: "[-status S] [-limit N] [-q] [-json]",
		Summary: "list instances, newest first", Run: runList})
	Register(Command{Name: "tree", Args: "ID [-json]",
		Summary: "show an instance and its sub-orchestrations as a tree", Run: runTree})
	Register(Command{Name: "delete", Args: "ID... [-force] [-json]",
		Summary: "delete root instances with their sub-orchestrations and history", Run: runDelete})
	Register(Command{Name: "prune", Args: "ID... [-keep N] [-completed-before D] [-json]",
		Summary: "delete an instance's old executions (continue-as-new history)", Run: runPrune})
	Register(Command{Name: "metrics", Args: "[-json]",
		Summary: "show store-wide counts and queue depths", Run: runMetrics})
}

// statusNames maps the accepted -status values (any case) to the store's names.
var statusNames = map[string]string{
	"running": "Running", "completed": "Completed", "failed": "Failed", "continuedasnew": "ContinuedAsNew",
}

func runList(ctx context.Context, env *Env, args []string) error {
	cmd := commands["list"]
	fs := newFlags(cmd.Name)
	status := fs.String("status", "", "only instances with this `status`: Running, Completed, Failed or ContinuedAsNew")
	limit := fs.Int("limit", 100, "show at most `N` instances (0: all)")
	quiet := fs.Bool("q", false, "print only the instance ids, one a line")
	asJSON := fs.Bool("json", false, "print a JSON array of instances")
	if _, err := parseArgs(fs, cmd, args, 0, 0); err != nil {
		return err
	}
	if *limit < 0 {
		return usagef("-limit must not be negative")
	}
	if *quiet && *asJSON {
		return usagef("give -q or -json, not both")
	}
	st := ""
	if *status != "" {
		var ok bool
		if st, ok = statusNames[strings.ToLower(*status)]; !ok {
			return usagef("unknown -status %q: use Running, Completed, Failed or ContinuedAsNew", *status)
		}
	}
	ids, err := env.Client.ListInstancesByStatus(ctx, st)
	if err != nil {
		return err
	}
	if *limit > 0 && len(ids) > *limit {
		fmt.Fprintf(env.Stderr, "showing the newest %d of %d instances (-limit 0 shows all)\n", *limit, len(ids))
		ids = ids[:*limit]
	}
	if len(ids) == 0 && !*asJSON {
		fmt.Fprintln(env.Stderr, "no instances")
		return nil
	}
	if *quiet {
		for _, id := range ids {
			fmt.Fprintln(env.Stdout, id)
		}
		return nil
	}
	p := startProgress(env, "reading instances")
	out := make([]instanceJSON, 0, len(ids))
	for i, id := range ids {
		p.set("reading instance %d/%d", i+1, len(ids))
		info, err := env.Client.GetInstanceInfo(ctx, id)
		if errors.Is(err, duroxide.ErrNotFound) {
			continue // deleted since it was listed
		}
		if err != nil {
			p.stop()
			return err
		}
		out = append(out, fromInfo(info))
	}
	p.stop()
	if *asJSON {
		return writeJSON(env.Stdout, out)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tSTATUS\tORCHESTRATION\tVERSION\tEXEC\tUPDATED")
	for _, j := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", j.InstanceID, j.Status, j.Name, j.Version, j.ExecutionID, fmtTime(j.UpdatedAtMs))
	}
	return tw.Flush()
}

// treeJSON is the -json shape of tree: an instance with its children, recursively.
type treeJSON struct {
	instanceJSON
	Children []*treeJSON `json:"children"`
}

func runTree(ctx context.Context, env *Env, args []string) error {
	cmd := commands["tree"]
	fs := newFlags(cmd.Name)
	asJSON := fs.Bool("json", false, "print the tree as nested JSON objects")
	pos, err := parseArgs(fs, cmd, args, 1, 1)
	if err != nil {
		return err
	}
	id := pos[0]
	if _, err := env.Client.GetInstanceInfo(ctx, id); err != nil {
		return notFound(id, err)
	}
	tree, err := env.Client.GetInstanceTree(ctx, id)
	if err != nil {
		return notFound(id, err)
	}
	nodes := map[string]*treeJSON{}
	var root *treeJSON
	// AllIDs is breadth-first, so every parent is met before its children.
	for _, cid := range tree.AllIDs {
		info, err := env.Client.GetInstanceInfo(ctx, cid)
		if errors.Is(err, duroxide.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		n := &treeJSON{instanceJSON: fromInfo(info), Children: []*treeJSON{}}
		nodes[cid] = n
		if cid == tree.RootID {
			root = n
		} else if parent, ok := nodes[info.ParentInstanceID]; ok {
			parent.Children = append(parent.Children, n)
		}
	}
	if root == nil {
		return notFoundf("no instance %q", id)
	}
	if *asJSON {
		return writeJSON(env.Stdout, root)
	}
	writeTree(env, root, "", "")
	return nil
}

// writeTree draws n and its children with box-drawing branches.
func writeTree(env *Env, n *treeJSON, first, rest string) {
	fmt.Fprintf(env.Stdout, "%s%s  %s  %s\n", first, n.InstanceID, n.Status, strings.TrimSpace(n.Name+" "+n.Version))
	for i, c := range n.Children {
		if i == len(n.Children)-1 {
			writeTree(env, c, rest+"└── ", rest+"    ")
		} else {
			writeTree(env, c, rest+"├── ", rest+"│   ")
		}
	}
}

// deleteJSON is one element of delete's -json array.
type deleteJSON struct {
	InstanceID           string `json:"instance_id"`
	Error                string `json:"error"`
	InstancesDeleted     int    `json:"instances_deleted"`
	ExecutionsDeleted    int    `json:"executions_deleted"`
	EventsDeleted        int    `json:"events_deleted"`
	QueueMessagesDeleted int    `json:"queue_messages_deleted"`
}

func runDelete(ctx context.Context, env *Env, args []string) error {
	cmd := commands["delete"]
	fs := newFlags(cmd.Name)
	force := fs.Bool("force", false, "delete running instances too (their next step fails and is dropped)")
	asJSON := fs.Bool("json", false, "print a JSON array with one result per id")
	ids, err := parseArgs(fs, cmd, args, 1, -1)
	if err != nil {
		return err
	}
	out := make([]deleteJSON, 0, len(ids))
	err = eachID(ctx, env, "delete", "deleting", ids, func(id string) error {
		r, err := env.Client.DeleteInstance(ctx, id, *force)
		j := deleteJSON{InstanceID: id, InstancesDeleted: r.InstancesDeleted, ExecutionsDeleted: r.ExecutionsDeleted,
			EventsDeleted: r.EventsDeleted, QueueMessagesDeleted: r.QueueMessagesDeleted}
		switch {
		case errors.Is(err, duroxide.ErrStillRunning):
			err = fmt.Errorf("instance %q (or one of its sub-orchestrations) is still running; cancel it first or use -force: %w", id, err)
		case errors.Is(err, duroxide.ErrIsSubOrchestration):
			err = fmt.Errorf("instance %q is a sub-orchestration; delete its root instead: %w", id, err)
		case err != nil:
			err = notFound(id, err)
		}
		if err != nil {
			j.Error = err.Error()
		}
		out = append(out, j)
		if err == nil && !*asJSON {
			fmt.Fprintf(env.Stdout, "deleted %s: %d instances, %d executions, %d events, %d queue messages\n",
				id, r.InstancesDeleted, r.ExecutionsDeleted, r.EventsDeleted, r.QueueMessagesDeleted)
		}
		return err
	})
	if *asJSON {
		if werr := writeJSON(env.Stdout, out); werr != nil {
			return werr
		}
	}
	return err
}

// pruneJSON is one element of prune's -json array.
type pruneJSON struct {
	InstanceID        string `json:"instance_id"`
	Error             string `json:"error"`
	ExecutionsDeleted int    `json:"executions_deleted"`
	EventsDeleted     int    `json:"events_deleted"`
}

func runPrune(ctx context.Context, env *Env, args []string) error {
	cmd := commands["prune"]
	fs := newFlags(cmd.Name)
	keep := fs.Int("keep", 1, "keep the `N` newest executions (the current one always stays)")
	before := fs.Duration("completed-before", 0, "prune only executions that completed at least this `duration` ago (0: any age)")
	asJSON := fs.Bool("json", false, "print a JSON array with one result per id")
	ids, err := parseArgs(fs, cmd, args, 1, -1)
	if err != nil {
		return err
	}
	if *keep < 0 || *before < 0 {
		return usagef("-keep and -completed-before must not be negative")
	}
	opts := duroxide.PruneOptions{KeepLast: *keep}
	if *before > 0 {
		opts.CompletedBeforeMs = time.Now().Add(-*before).UnixMilli()
	}
	out := make([]pruneJSON, 0, len(ids))
	err = eachID(ctx, env, "prune", "pruning", ids, func(id string) error {
		r, err := env.Client.PruneExecutions(ctx, id, opts)
		j := pruneJSON{InstanceID: id, ExecutionsDeleted: r.ExecutionsDeleted, EventsDeleted: r.EventsDeleted}
		if err != nil {
			err = notFound(id, err)
			j.Error = err.Error()
		}
		out = append(out, j)
		if err == nil && !*asJSON {
			fmt.Fprintf(env.Stdout, "pruned %s: %d executions, %d events\n", id, r.ExecutionsDeleted, r.EventsDeleted)
		}
		return err
	})
	if *asJSON {
		if werr := writeJSON(env.Stdout, out); werr != nil {
			return werr
		}
	}
	return err
}

// eachID runs f for every id, with a progress line on a terminal when there are
// several. A failure is reported on stderr and the others still run; the result is
// the first failure (its exit code is the command's), or nil.
func eachID(ctx context.Context, env *Env, name, verb string, ids []string, f func(id string) error) error {
	var p *progress
	if len(ids) > 1 {
		p = startProgress(env, verb)
	}
	var first error
	for i, id := range ids {
		if err := ctx.Err(); err != nil {
			p.stop()
			return err
		}
		p.set("%s %d/%d", verb, i+1, len(ids))
		if err := f(id); err != nil {
			if ctx.Err() != nil {
				p.stop()
				return ctx.Err()
			}
			if len(ids) > 1 {
				p.stop()
				fmt.Fprintf(env.Stderr, "duroxide %s: %v\n", name, err)
				if i+1 < len(ids) {
					p = startProgress(env, verb)
				}
			}
			if first == nil {
				first = err
			}
		}
	}
	p.stop()
	if first != nil && len(ids) > 1 {
		// Each failure has been printed; return only the exit code.
		return &ExitError{Code: exitCode(first), Err: nil}
	}
	return first
}

// metricsJSON is the -json shape of metrics.
type metricsJSON struct {
	TotalInstances     int `json:"total_instances"`
	RunningInstances   int `json:"running_instances"`
	CompletedInstances int `json:"completed_instances"`
	FailedInstances    int `json:"failed_instances"`
	TotalExecutions    int `json:"total_executions"`
	TotalEvents        int `json:"total_events"`
	Queues             struct {
		Orchestrator int `json:"orchestrator"`
		Worker       int `json:"worker"`
		Timer        int `json:"timer"`
	} `json:"queues"`
}

func runMetrics(ctx context.Context, env *Env, args []string) error {
	cmd := commands["metrics"]
	fs := newFlags(cmd.Name)
	asJSON := fs.Bool("json", false, "print a JSON object")
	if _, err := parseArgs(fs, cmd, args, 0, 0); err != nil {
		return err
	}
	m, err := env.Client.GetSystemMetrics(ctx)
	if err != nil {
		return err
	}
	q, err := env.Client.GetQueueDepths(ctx)
	if err != nil {
		return err
	}
	var j metricsJSON
	j.TotalInstances, j.RunningInstances, j.CompletedInstances, j.FailedInstances = m.TotalInstances, m.RunningInstances, m.CompletedInstances, m.FailedInstances
	j.TotalExecutions, j.TotalEvents = m.TotalExecutions, m.TotalEvents
	j.Queues.Orchestrator, j.Queues.Worker, j.Queues.Timer = q.OrchestratorQueue, q.WorkerQueue, q.TimerQueue
	if *asJSON {
		return writeJSON(env.Stdout, j)
	}
	line := func(name string, n int, note string) {
		fmt.Fprintf(env.Stdout, "%-19s %6d%s\n", name, n, note)
	}
	line("instances", j.TotalInstances, fmt.Sprintf("  (running %d, completed %d, failed %d)", j.RunningInstances, j.CompletedInstances, j.FailedInstances))
	line("executions", j.TotalExecutions, "")
	line("events", j.TotalEvents, "")
	line("orchestrator queue", j.Queues.Orchestrator, "  (messages ready to run)")
	line("worker queue", j.Queues.Worker, "  (activities waiting for a worker)")
	line("timer queue", j.Queues.Timer, "  (messages not yet due)")
	return nil
}
