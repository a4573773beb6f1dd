// Command toygres is a small PostgreSQL-as-a-service control plane, the flagship scenario
// of the Python SDK: CreateInstance provisions a database (deploy, poll readiness on a
// durable timer, test the connection, compensate on failure) and starts a detached
// InstanceActor, an eternal health monitor that continues as new every cycle and stops
// when DeleteInstance signals it. The "cloud" is an in-memory mock (a CMS of instance
// records and health checks), so the program runs anywhere.
//
//	go run ./examples/toygres          # uses ./toygres.db (or -db PATH)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/sqlitestore"
	"github.com/duroxide-go/duroxide/yield"
)

// CreateRequest asks for a new database.
type CreateRequest struct {
	Name string `json:"name"`
	SKU  string `json:"sku"`
}

// Record is the CMS's record of a database.
type Record struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	K8sName string `json:"k8s_name"`
	State   string `json:"state"`
	ActorID string `json:"actor_id,omitempty"`
}

// ActorState is carried by the health monitor from one cycle to the next.
type ActorState struct {
	InstanceID string `json:"instance_id"`
	Iteration  int    `json:"iteration"`
	// IntervalMs is the pause between two health checks.
	IntervalMs int64 `json:"interval_ms"`
}

// CreateInstance provisions a database and starts its health monitor.
func CreateInstance(ctx *yield.Ctx, input yield.Value) (any, error) {
	var req CreateRequest
	if err := input.Decode(&req); err != nil {
		return nil, err
	}
	rec, err := yield.Await[Record](ctx, ctx.ScheduleActivity("cms-create-instance-record", req))
	if err != nil {
		return nil, err
	}
	failed := func(reason error) (any, error) {
		// Compensation: mark the record failed and tear down what was deployed.
		if _, err := ctx.Yield(ctx.ScheduleActivity("cms-update-instance-state", map[string]string{"id": rec.ID, "state": "failed"})); err != nil {
			return nil, err
		}
		if _, err := ctx.Yield(ctx.ScheduleActivity("delete-postgres", rec.K8sName)); err != nil {
			return nil, err
		}
		return map[string]any{"status": "failed", "reason": reason.Error(), "instance_id": rec.ID}, nil
	}
	if _, err := ctx.Yield(ctx.ScheduleActivity("deploy-postgres", map[string]string{"k8s_name": rec.K8sName, "sku": req.SKU})); err != nil {
		return failed(err)
	}
	ready := false
	for poll := 0; poll < 60 && !ready; poll++ {
		if ready, err = yield.Await[bool](ctx, ctx.ScheduleActivity("wait-for-ready", rec.K8sName)); err != nil {
			return failed(err)
		}
		if !ready {
			ctx.TraceInfo(fmt.Sprintf("%s not ready yet (poll %d)", rec.K8sName, poll+1))
			if _, err := ctx.Yield(ctx.ScheduleTimer(20 * time.Millisecond)); err != nil {
				return nil, err
			}
		}
	}
	if !ready {
		return failed(errors.New("pod readiness timeout"))
	}
	if _, err := ctx.Yield(ctx.ScheduleActivity("cms-update-instance-state", map[string]string{"id": rec.ID, "state": "running"})); err != nil {
		return failed(err)
	}
	actorID := "actor-" + rec.ID
	if _, err := ctx.Yield(ctx.StartOrchestration("InstanceActor", actorID, ActorState{InstanceID: rec.ID, IntervalMs: 20})); err != nil {
		return nil, err
	}
	if _, err := ctx.Yield(ctx.ScheduleActivity("cms-record-instance-actor", map[string]string{"id": rec.ID, "actor_id": actorID})); err != nil {
		return nil, err
	}
	return map[string]any{"status": "created", "instance_id": rec.ID, "actor_id": actorID}, nil
}

// InstanceActor checks the database's health once per execution, then sleeps; the
// "InstanceDeleted" event wakes it early and ends it.
func InstanceActor(ctx *yield.Ctx, input yield.Value) (any, error) {
	var st ActorState
	if err := input.Decode(&st); err != nil {
		return nil, err
	}
	rec, err := yield.Await[*Record](ctx, ctx.ScheduleActivity("cms-get-instance", st.InstanceID))
	if err != nil {
		return nil, err
	}
	if rec == nil || rec.State == "deleted" {
		return map[string]any{"status": "exited", "reason": "instance_not_found", "iterations": st.Iteration}, nil
	}
	if _, err := ctx.Yield(ctx.ScheduleActivity("cms-record-health-check", st.InstanceID)); err != nil {
		return nil, err
	}
	ctx.SetCustomStatus(fmt.Sprintf("healthy, check %d", st.Iteration+1))
	idx, _, err := yield.AwaitRace(ctx, ctx.ScheduleTimer(time.Duration(st.IntervalMs)*time.Millisecond), ctx.WaitForEvent("InstanceDeleted"))
	if err != nil {
		return nil, err
	}
	if idx == 1 {
		return map[string]any{"status": "exited", "reason": "signal", "iterations": st.Iteration + 1}, nil
	}
	st.Iteration++
	return ctx.Yield(ctx.ContinueAsNew(st))
}

// DeleteInstance signals the monitor, tears the database down and removes its record.
func DeleteInstance(ctx *yield.Ctx, input yield.Value) (any, error) {
	id := input.String()
	rec, err := yield.Await[*Record](ctx, ctx.ScheduleActivity("cms-get-instance", id))
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return map[string]any{"status": "not_found"}, nil
	}
	if _, err := ctx.Yield(ctx.ScheduleActivity("cms-update-instance-state", map[string]string{"id": id, "state": "deleting"})); err != nil {
		return nil, err
	}
	if rec.ActorID != "" {
		// Best effort: the monitor also exits on its own when it finds the record gone.
		if _, err := ctx.Yield(ctx.ScheduleActivity("send-external-event", map[string]string{"instance": rec.ActorID, "event": "InstanceDeleted"})); err != nil {
			ctx.TraceWarn("could not signal the monitor: " + err.Error())
		}
	}
	if _, err := ctx.Yield(ctx.ScheduleActivity("delete-postgres", rec.K8sName)); err != nil {
		return nil, err
	}
	if _, err := ctx.Yield(ctx.ScheduleActivity("cms-delete-instance-record", id)); err != nil {
		return nil, err
	}
	return map[string]any{"status": "deleted", "instance_id": id}, nil
}

// cloud is the mock control-plane database and Kubernetes cluster. Activities run in
// parallel, so it locks.
type cloud struct {
	mu           sync.Mutex
	records      map[string]*Record
	readyPolls   map[string]int
	healthChecks map[string]int
	pods         map[string]bool
}

func newCloud() *cloud {
	return &cloud{records: map[string]*Record{}, readyPolls: map[string]int{}, healthChecks: map[string]int{}, pods: map[string]bool{}}
}

func (c *cloud) register(rt *duroxide.Runtime) error {
	acts := map[string]func(a *duroxide.ActivityContext, in yield.Value) (any, error){
		"cms-create-instance-record": func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			var req CreateRequest
			if err := in.Decode(&req); err != nil {
				return nil, duroxide.NonRetryable(err)
			}
			rec := &Record{ID: "inst-" + req.Name, Name: req.Name, K8sName: "pg-" + req.Name, State: "provisioning"}
			c.records[rec.ID] = rec
			return rec, nil
		},
		"deploy-postgres": func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			c.pods[in.Field("k8s_name").String()] = true
			return nil, nil
		},
		"wait-for-ready": func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			name := in.String()
			c.readyPolls[name]++
			return c.readyPolls[name] >= 3, nil // ready on the third poll
		},
		"cms-update-instance-state": func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			if rec := c.records[in.Field("id").String()]; rec != nil {
				rec.State = in.Field("state").String()
			}
			return nil, nil
		},
		"cms-record-instance-actor": func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			if rec := c.records[in.Field("id").String()]; rec != nil {
				rec.ActorID = in.Field("actor_id").String()
			}
			return nil, nil
		},
		"cms-get-instance": func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			if rec := c.records[in.String()]; rec != nil {
				cp := *rec
				return &cp, nil
			}
			return nil, nil
		},
		"cms-record-health-check": func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			c.healthChecks[in.String()]++
			return nil, nil
		},
		"delete-postgres": func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			delete(c.pods, in.String())
			return nil, nil
		},
		"cms-delete-instance-record": func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			delete(c.records, in.String())
			return nil, nil
		},
	}
	for name, fn := range acts {
		locked := func(a *duroxide.ActivityContext, in yield.Value) (any, error) {
			c.mu.Lock()
			defer c.mu.Unlock()
			return fn(a, in)
		}
		if err := rt.RegisterActivity(name, locked); err != nil {
			return err
		}
	}
	// Signalling another instance goes through the activity's client, outside the lock.
	return rt.RegisterActivity("send-external-event", func(a *duroxide.ActivityContext, in yield.Value) (any, error) {
		return nil, a.Client().RaiseEvent(a.Context(), in.Field("instance").String(), in.Field("event").String(), nil)
	})
}

func (c *cloud) polls(k8sName string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readyPolls[k8sName]
}

func (c *cloud) checks(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.healthChecks[id]
}

func main() {
	dbPath := flag.String("db", "toygres.db", "SQLite database file")
	flag.Parse()
	if err := run(context.Background(), *dbPath, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "toygres:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dbPath string, out io.Writer) error {
	store, err := sqlitestore.Open(dbPath)
	if err != nil {
		return err
	}
	defer store.Close()
	rt, err := duroxide.NewRuntime(store, duroxide.RuntimeOptions{DispatcherPollInterval: 20 * time.Millisecond, WorkerConcurrency: 4})
	if err != nil {
		return err
	}
	c := newCloud()
	if err := c.register(rt); err != nil {
		return err
	}
	for name, fn := range map[string]yield.Orchestration{
		"CreateInstance": CreateInstance, "InstanceActor": InstanceActor, "DeleteInstance": DeleteInstance,
	} {
		if err := rt.RegisterOrchestration(name, fn); err != nil {
			return err
		}
	}
	if err := rt.Start(ctx); err != nil {
		return err
	}
	defer rt.Shutdown(5 * time.Second)
	client := duroxide.NewClient(store)
	// Instance ids of this control plane are the database names, so a run cleans up after
	// itself: the actor and the records are gone at the end, the workflow histories stay.
	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	name := "orders-" + suffix

	create := "create-" + name
	if err := client.StartOrchestration(ctx, create, "CreateInstance", CreateRequest{Name: name, SKU: "basic"}); err != nil {
		return err
	}
	res, err := client.WaitForOrchestration(ctx, create, 30*time.Second)
	if err != nil {
		return err
	}
	created, err := duroxide.OutputAs[map[string]string](res)
	if err != nil {
		return fmt.Errorf("create: %s %s: %w", res.Status, res.Error, err)
	}
	fmt.Fprintf(out, "create: %s (readiness polled %d times)\n", created["status"], c.polls("pg-"+name))

	// Let the monitor run a few cycles.
	actor := created["actor_id"]
	for version := uint64(0); version < 3; {
		st, err := client.WaitForStatusChange(ctx, actor, version, 10*time.Millisecond, 30*time.Second)
		if err != nil {
			return err
		}
		version = st.CustomStatusVersion
	}
	fmt.Fprintf(out, "monitor: at least 3 health checks (%v)\n", c.checks(created["instance_id"]) >= 3)

	del := "delete-" + name
	if err := client.StartOrchestration(ctx, del, "DeleteInstance", created["instance_id"]); err != nil {
		return err
	}
	for _, id := range []string{del, actor} {
		res, err := client.WaitForOrchestration(ctx, id, 30*time.Second)
		if err != nil {
			return err
		}
		got, err := duroxide.OutputAs[map[string]any](res)
		if err != nil {
			return fmt.Errorf("%s: %s %s: %w", id, res.Status, res.Error, err)
		}
		what := "delete"
		if id == actor {
			what = "monitor"
		}
		line := fmt.Sprintf("%s: %s", what, got["status"])
		if reason, ok := got["reason"]; ok {
			line += fmt.Sprintf(" (%s)", reason)
		}
		fmt.Fprintln(out, line)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(out, "cloud: %d records, %d pods\n", len(c.records), len(c.pods))
	return nil
}
