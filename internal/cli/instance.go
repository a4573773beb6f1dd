package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

func init() {
	Register(Command{Name: "start", Args: "NAME [-id ID] [-input JSON] [-version V] [-json]",
		Summary: "start an orchestration instance and print its id", Run: runStart})
	Register(Command{Name: "status", Args: "ID [-json]",
		Summary: "show an instance's status, custom status, output or error", Run: runStatus})
	Register(Command{Name: "wait", Args: "ID [-timeout D] [-json]",
		Summary: "wait until an instance completes (exit 0) or fails (exit 1)", Run: runWait})
	Register(Command{Name: "raise", Args: "ID EVENT [JSON]",
		Summary: "raise an external event on an instance (WaitForEvent)", Run: runRaise})
	Register(Command{Name: "enqueue", Args: "ID QUEUE [JSON]",
		Summary: "append a message to an instance's event queue (DequeueEvent)", Run: runEnqueue})
	Register(Command{Name: "cancel", Args: "ID [-reason TEXT]",
		Summary: "cancel a running instance and its children", Run: runCancel})
	Register(Command{Name: "kv", Args: "ID [KEY] [-json]",
		Summary: "print an instance's KV store, or one key's value", Run: runKV})
}

func runStart(ctx context.Context, env *Env, args []string) error {
	cmd := commands["start"]
	fs := newFlags(cmd.Name)
	id := fs.String("id", "", "instance `ID` (default: a new random UUID)")
	input := fs.String("input", "", "orchestration input as `JSON` (default null)")
	version := fs.String("version", "", "pin the orchestration `version` (default: the latest registered)")
	asJSON := fs.Bool("json", false, `print {"instance_id": ...} instead of the bare id`)
	pos, err := parseArgs(fs, cmd, args, 1, 1)
	if err != nil {
		return err
	}
	var in yield.Value
	if *input != "" {
		if in, err = parseJSON("-input", *input); err != nil {
			return err
		}
	}
	if *id == "" {
		*id = newUUID()
	}
	if *version != "" {
		err = env.Client.StartOrchestrationVersioned(ctx, *id, pos[0], in, *version)
	} else {
		err = env.Client.StartOrchestration(ctx, *id, pos[0], in)
	}
	if err != nil {
		if errors.Is(err, duroxide.ErrAlreadyExists) {
			return fmt.Errorf("instance %q already exists: %w", *id, err)
		}
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, map[string]string{"instance_id": *id})
	}
	fmt.Fprintln(env.Stdout, *id)
	return nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// describe reads an instance's status and metadata; ErrNotFound for an unknown id.
func describe(ctx context.Context, c *duroxide.Client, id string) (instanceJSON, error) {
	info, err := c.GetInstanceInfo(ctx, id)
	if err != nil {
		return instanceJSON{}, notFound(id, err)
	}
	res, err := c.GetStatus(ctx, id)
	if err != nil {
		return instanceJSON{}, err
	}
	if res.Status == duroxide.StatusNotFound {
		return instanceJSON{}, notFoundf("no instance %q", id)
	}
	return fromResult(info, res), nil
}

// notFoundError says what does not exist; it matches duroxide.ErrNotFound (exit 3).
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }

func (e *notFoundError) Unwrap() error { return duroxide.ErrNotFound }

func notFoundf(format string, args ...any) error {
	return &notFoundError{msg: fmt.Sprintf(format, args...)}
}

// notFound rewrites an ErrNotFound into a message naming the instance.
func notFound(id string, err error) error {
	if errors.Is(err, duroxide.ErrNotFound) {
		return notFoundf("no instance %q", id)
	}
	return err
}

func runStatus(ctx context.Context, env *Env, args []string) error {
	cmd := commands["status"]
	fs := newFlags(cmd.Name)
	asJSON := fs.Bool("json", false, "print the status as a JSON object")
	pos, err := parseArgs(fs, cmd, args, 1, 1)
	if err != nil {
		return err
	}
	j, err := describe(ctx, env.Client, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, j)
	}
	writeInstance(env.Stdout, j)
	return nil
}

func runWait(ctx context.Context, env *Env, args []string) error {
	cmd := commands["wait"]
	fs := newFlags(cmd.Name)
	timeout := fs.Duration("timeout", 0, "give up after this `duration` with exit code 4 (0: wait until the instance finishes)")
	asJSON := fs.Bool("json", false, "print the final status as a JSON object")
	pos, err := parseArgs(fs, cmd, args, 1, 1)
	if err != nil {
		return err
	}
	if *timeout < 0 {
		return usagef("-timeout must not be negative")
	}
	id := pos[0]
	if _, err := env.Client.GetInstanceInfo(ctx, id); err != nil {
		return notFound(id, err)
	}
	stopProgress := watchProgress(ctx, env, id)
	res, err := env.Client.WaitForOrchestration(ctx, id, *timeout)
	stopProgress()
	if errors.Is(err, duroxide.ErrTimeout) {
		return &ExitError{Code: ExitTimeout, Err: fmt.Errorf("instance %q still running after %s", id, *timeout)}
	}
	if err != nil {
		return notFound(id, err)
	}
	// The metadata (times, parent) comes from a second read; the outcome is the one the
	// wait saw, so the printed status always agrees with the exit code.
	j, err := describe(ctx, env.Client, id)
	if errors.Is(err, duroxide.ErrNotFound) {
		j = fromResult(duroxide.InstanceInfo{InstanceID: id}, res) // deleted since it finished
	} else if err != nil {
		return err
	}
	j.Status, j.Output, j.Error, j.ErrorKind = string(res.Status), rawOrNull(res.Output.Raw()), res.Error, string(res.ErrorKind)
	if *asJSON {
		err = writeJSON(env.Stdout, j)
	} else {
		writeInstance(env.Stdout, j)
	}
	if err != nil {
		return err
	}
	if res.Status == duroxide.StatusFailed {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("instance %q failed: %s", id, res.Error)}
	}
	return nil
}

// watchProgress shows, on a terminal, a spinner with the instance's status, custom
// status and the time waited, updated as the custom status changes. The returned
// function stops it and waits for its goroutines.
func watchProgress(ctx context.Context, env *Env, id string) func() {
	p := startProgress(env, "waiting for "+id)
	if p == nil {
		return func() {}
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var seen uint64
		for {
			res, err := env.Client.WaitForStatusChange(wctx, id, seen, time.Second, 0)
			if err != nil || res.IsTerminal() {
				return
			}
			seen = res.CustomStatusVersion
			label := fmt.Sprintf("waiting for %s (%s)", id, res.Status)
			if res.CustomStatus != nil {
				label += " " + clip(*res.CustomStatus, 40)
			}
			p.set("%s", label)
		}
	}()
	return func() {
		cancel()
		<-done
		p.stop()
	}
}

func runRaise(ctx context.Context, env *Env, args []string) error {
	return runSend(ctx, env, "raise", "event", env.raise, args)
}

func runEnqueue(ctx context.Context, env *Env, args []string) error {
	return runSend(ctx, env, "enqueue", "queue message", env.enqueue, args)
}

func (env *Env) raise(ctx context.Context, id, name string, v yield.Value) error {
	return env.Client.RaiseEvent(ctx, id, name, v)
}

func (env *Env) enqueue(ctx context.Context, id, name string, v yield.Value) error {
	return env.Client.EnqueueEvent(ctx, id, name, v)
}

// runSend is raise and enqueue: ID NAME [JSON], the data validated as JSON.
func runSend(ctx context.Context, env *Env, name, what string, send func(context.Context, string, string, yield.Value) error, args []string) error {
	cmd := commands[name]
	fs := newFlags(cmd.Name)
	pos, err := parseArgs(fs, cmd, args, 2, 3)
	if err != nil {
		return err
	}
	var data yield.Value
	if len(pos) == 3 {
		if data, err = parseJSON(what+" data", pos[2]); err != nil {
			return err
		}
	}
	if err := send(ctx, pos[0], pos[1], data); err != nil {
		return notFound(pos[0], err)
	}
	return nil
}

func runCancel(ctx context.Context, env *Env, args []string) error {
	cmd := commands["cancel"]
	fs := newFlags(cmd.Name)
	reason := fs.String("reason", "cancelled from the duroxide CLI", "the cancellation `reason` the instance fails with")
	pos, err := parseArgs(fs, cmd, args, 1, 1)
	if err != nil {
		return err
	}
	id := pos[0]
	res, err := env.Client.GetStatus(ctx, id)
	if err != nil {
		return err
	}
	if res.Status == duroxide.StatusNotFound {
		return notFoundf("no instance %q", id)
	}
	if res.IsTerminal() {
		fmt.Fprintf(env.Stderr, "instance %s already %s: nothing to cancel\n", id, res.Status)
		return nil
	}
	if err := env.Client.CancelInstance(ctx, id, *reason); err != nil {
		return notFound(id, err)
	}
	return nil
}

// kvJSON is the -json shape of kv ID: every key with its value.
type kvJSON struct {
	InstanceID string            `json:"instance_id"`
	Values     map[string]string `json:"values"`
}

// kvKeyJSON is the -json shape of kv ID KEY.
type kvKeyJSON struct {
	InstanceID string `json:"instance_id"`
	Key        string `json:"key"`
	Value      string `json:"value"`
}

func runKV(ctx context.Context, env *Env, args []string) error {
	cmd := commands["kv"]
	fs := newFlags(cmd.Name)
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	pos, err := parseArgs(fs, cmd, args, 1, 2)
	if err != nil {
		return err
	}
	id := pos[0]
	if len(pos) == 2 {
		if _, err := env.Client.GetInstanceInfo(ctx, id); err != nil {
			return notFound(id, err)
		}
		v, ok, err := env.Client.GetKVValue(ctx, id, pos[1])
		if err != nil {
			return err
		}
		if !ok {
			return notFoundf("instance %q has no KV key %q", id, pos[1])
		}
		if *asJSON {
			return writeJSON(env.Stdout, kvKeyJSON{InstanceID: id, Key: pos[1], Value: v})
		}
		fmt.Fprintln(env.Stdout, v)
		return nil
	}
	kv, err := env.Client.GetKVAllValues(ctx, id)
	if err != nil {
		return notFound(id, err)
	}
	if *asJSON {
		return writeJSON(env.Stdout, kvJSON{InstanceID: id, Values: kv})
	}
	if len(kv) == 0 {
		fmt.Fprintf(env.Stderr, "instance %s has no KV keys\n", id)
		return nil
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\n", k, oneLine(kv[k]))
	}
	return tw.Flush()
}

// oneLine keeps a value on its line: one with line breaks or tabs is printed quoted.
func oneLine(v string) string {
	if strings.ContainsAny(v, "\n\r\t") {
		return strconv.Quote(v)
	}
	return v
}
