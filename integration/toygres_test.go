package integration_test

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

// Ports of the Python SDK's tests/scenarios/test_toygres.py (python-sdk.md §3.12 and §4):
// the toygres control plane (a PostgreSQL-as-a-service) with its activities mocked over
// an in-memory CMS. Go runs activities in parallel, so the CMS and every counter sit
// behind one mutex, and activities hand out copies of CMS records, never the records.
// Where Python sleeps to "let it run a few cycles", the Go tests wait for the cycles to
// happen (up to 20 s) and log how long they took.

// cToygresCMS is the Python create_cms_state(): the simulated CMS shared by the
// activities of one test, with the test's counters.
type cToygresCMS struct {
	mu           sync.Mutex
	instances    map[string]map[string]any
	healthChecks []map[string]any
	images       map[string]map[string]any
	dnsNames     map[string]bool
	actors       map[string]any
	counters     map[string]int
}

func cNewToygresCMS() *cToygresCMS {
	return &cToygresCMS{
		instances: map[string]map[string]any{},
		images:    map[string]map[string]any{},
		dnsNames:  map[string]bool{},
		actors:    map[string]any{},
		counters:  map[string]int{},
	}
}

// with runs fn under the CMS lock.
func (c *cToygresCMS) with(fn func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fn()
}

// count reads a counter under the lock.
func (c *cToygresCMS) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counters[name]
}

// cStr is input[name] for a string field.
func cStr(v yield.Value, name string) string { return v.Field(name).String() }

// cTruthy is Python truthiness for a JSON value: null, false, 0, "" and empty containers
// are false.
func cTruthy(v yield.Value) bool {
	var x any
	if err := v.Decode(&x); err != nil {
		return false
	}
	switch x := x.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	default:
		return fmt.Sprint(x) != "0"
	}
}

// cInt is input.get(name, 0) for an integer field.
func cInt(v yield.Value, name string) (int, error) {
	n := 0
	if f := v.Field(name); !f.IsNull() {
		if err := f.Decode(&n); err != nil {
			return 0, fmt.Errorf("field %q: %w", name, err)
		}
	}
	return n, nil
}

// cWaitCount waits until counter name of cms reaches n and says how long it took.
func cWaitCount(t *testing.T, cms *cToygresCMS, name string, n int) time.Duration {
	t.Helper()
	start := time.Now()
	eventually(t, fmt.Sprintf("%s >= %d", name, n), func() bool { return cms.count(name) >= n })
	return time.Since(start)
}

// test_toygres.py::test_create_instance
func TestToygres_CreateInstance(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{DispatcherPollInterval: 50 * time.Millisecond})
		cms := cNewToygresCMS()

		// Activities.
		activity(t, rt, "cms-create-instance-record", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			name := cStr(in, "name")
			ctx.TraceInfo("creating CMS record for " + name)
			record := map[string]any{
				"id":      "inst-" + name,
				"name":    name,
				"k8sName": "pg-" + name,
				"state":   "provisioning",
				"dnsName": name + ".postgres.local",
			}
			cms.with(func() {
				cms.instances[record["id"].(string)] = record
				cms.dnsNames[record["dnsName"].(string)] = true
			})
			return maps.Clone(record), nil
		})
		activity(t, rt, "deploy-postgres-v2", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			ctx.TraceInfo("deploying K8s resources for " + cStr(in, "k8sName"))
			return map[string]any{"statefulSet": cStr(in, "k8sName"), "service": cStr(in, "k8sName") + "-svc"}, nil
		})
		activity(t, rt, "wait-for-ready", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			var attempts int
			cms.with(func() {
				cms.counters["ready_attempts"]++
				attempts = cms.counters["ready_attempts"]
			})
			ctx.TraceInfo(fmt.Sprintf("checking pod readiness (attempt %d)", attempts))
			if attempts < 2 {
				return map[string]any{"ready": false}, nil
			}
			return map[string]any{"ready": true}, nil
		})
		activity(t, rt, "get-connection-strings", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			k8s := cStr(in, "k8sName")
			ctx.TraceInfo("fetching connection strings for " + k8s)
			return map[string]any{
				"host":             k8s + ".default.svc.cluster.local",
				"port":             5432,
				"connectionString": "postgresql://postgres:secret@" + k8s + ":5432/postgres",
			}, nil
		})
		activity(t, rt, "test-connection", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			ctx.TraceInfo("testing connection to " + cStr(in, "host"))
			return map[string]any{"connected": true, "latencyMs": 3}, nil
		})
		activity(t, rt, "cms-update-instance-state", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			ctx.TraceInfo("updating " + cStr(in, "id") + " state → " + cStr(in, "state"))
			cms.with(func() {
				if inst, ok := cms.instances[cStr(in, "id")]; ok {
					inst["state"] = cStr(in, "state")
				}
			})
			return map[string]any{"ok": true}, nil
		})
		activity(t, rt, "cms-record-instance-actor", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			ctx.TraceInfo("recording actor " + cStr(in, "actorInstanceId") + " for " + cStr(in, "id"))
			cms.with(func() {
				if inst, ok := cms.instances[cStr(in, "id")]; ok {
					inst["actorInstanceId"] = cStr(in, "actorInstanceId")
				}
			})
			return map[string]any{"ok": true}, nil
		})
		activity(t, rt, "delete-postgres", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			ctx.TraceInfo("deleting K8s resources for " + cStr(in, "k8sName"))
			return map[string]any{"deleted": true}, nil
		})

		// Orchestrations.
		orchestration(t, rt, "InstanceActor", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			ctx.TraceInfo("actor started for " + cStr(in, "instanceId"))
			return map[string]any{"status": "started"}, nil
		})
		orchestration(t, rt, "CreateInstance", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			ctx.TraceInfo("[v1.0.6] creating instance " + cStr(in, "name"))
			sku := "basic"
			if f := in.Field("sku"); !f.IsNull() {
				sku = f.String()
			}

			// Step 1: reserve the CMS record.
			record, err := ctx.Yield(ctx.ScheduleActivity("cms-create-instance-record", map[string]any{
				"name": cStr(in, "name"),
				"sku":  sku,
			}))
			if err != nil {
				return nil, err
			}

			// Python's try block; its except clause is the compensation below.
			output, err := func() (any, error) {
				// Step 2: deploy K8s resources.
				if _, err := ctx.Yield(ctx.ScheduleActivity("deploy-postgres-v2", map[string]any{
					"k8sName": cStr(record, "k8sName"),
					"sku":     sku,
				})); err != nil {
					return nil, err
				}

				// Step 3: wait for pod readiness (polling loop).
				ready := false
				for attempt := range 60 {
					status, err := ctx.Yield(ctx.ScheduleActivity("wait-for-ready", map[string]any{
						"k8sName": cStr(record, "k8sName"),
					}))
					if err != nil {
						return nil, err
					}
					if cTruthy(status.Field("ready")) {
						ready = true
						break
					}
					ctx.TraceInfo(fmt.Sprintf("pod not ready, waiting (attempt %d)", attempt+1))
					if _, err := ctx.Yield(ctx.ScheduleTimer(100 * time.Millisecond)); err != nil {
						return nil, err
					}
				}
				if !ready {
					return nil, errors.New("pod readiness timeout")
				}

				// Step 4: get connection info and test it.
				connInfo, err := ctx.Yield(ctx.ScheduleActivity("get-connection-strings", map[string]any{
					"k8sName": cStr(record, "k8sName"),
				}))
				if err != nil {
					return nil, err
				}
				if _, err := ctx.Yield(ctx.ScheduleActivity("test-connection", map[string]any{
					"host": connInfo.Field("host"),
					"port": connInfo.Field("port"),
				})); err != nil {
					return nil, err
				}

				// Step 5: mark running.
				if _, err := ctx.Yield(ctx.ScheduleActivity("cms-update-instance-state", map[string]any{
					"id":    cStr(record, "id"),
					"state": "running",
				})); err != nil {
					return nil, err
				}

				// Step 6: spawn the instance actor (fire-and-forget).
				actorID := "actor-" + cStr(record, "id")
				if _, err := ctx.Yield(ctx.StartOrchestration("InstanceActor", actorID, map[string]any{
					"instanceId": cStr(record, "id"),
					"iteration":  0,
				})); err != nil {
					return nil, err
				}
				if _, err := ctx.Yield(ctx.ScheduleActivity("cms-record-instance-actor", map[string]any{
					"id":              cStr(record, "id"),
					"actorInstanceId": actorID,
				})); err != nil {
					return nil, err
				}

				ctx.TraceInfo("instance " + cStr(in, "name") + " created successfully")
				return map[string]any{
					"status":           "created",
					"instanceId":       cStr(record, "id"),
					"actorId":          actorID,
					"connectionString": connInfo.Field("connectionString"),
				}, nil
			}()
			if err == nil {
				return output, nil
			}
			ctx.TraceError(fmt.Sprintf("creation failed: %v", err))
			if _, err := ctx.Yield(ctx.ScheduleActivity("cms-update-instance-state", map[string]any{
				"id":    cStr(record, "id"),
				"state": "failed",
			})); err != nil {
				return nil, err
			}
			if _, err := ctx.Yield(ctx.ScheduleActivity("delete-postgres", map[string]any{
				"k8sName": cStr(record, "k8sName"),
			})); err != nil {
				return nil, err
			}
			return map[string]any{"status": "failed", "reason": err.Error(), "instanceId": cStr(record, "id")}, nil
		})

		s.start(rt)
		defer s.shutdown(rt)

		s.startOrch(uid("create-mydb"), "CreateInstance", map[string]any{"name": "mydb", "sku": "basic"})
		out := mustComplete[map[string]any](t, s.wait(uid("create-mydb"), 15*time.Second))
		equal(t, "output status", out["status"], any("created"))
		equal(t, "output instanceId", out["instanceId"], any("inst-mydb"))
		equal(t, "output actorId", out["actorId"], any("actor-inst-mydb"))
		contains(t, "output connectionString", fmt.Sprint(out["connectionString"]), "mydb")

		// Verify the CMS state.
		cms.with(func() {
			equal(t, "CMS state", cms.instances["inst-mydb"]["state"], any("running"))
			equal(t, "CMS actorInstanceId", cms.instances["inst-mydb"]["actorInstanceId"], any("actor-inst-mydb"))
		})
		if n := cms.count("ready_attempts"); n < 2 {
			t.Fatalf("polled readiness %d times, want at least twice", n)
		}
	})
}

// cInstanceActor is the InstanceActor of test_instance_actor and test_full_lifecycle: an
// eternal health monitor that exits with exitReason once its instance is gone.
func cInstanceActor(trace bool, exitReason string) yield.Orchestration {
	return func(ctx *yield.Ctx, in yield.Value) (any, error) {
		iteration, err := cInt(in, "iteration")
		if err != nil {
			return nil, err
		}
		if trace {
			ctx.TraceInfo(fmt.Sprintf("[v1.0.1] actor iteration %d for %s", iteration, cStr(in, "instanceId")))
		}

		connInfo, err := ctx.Yield(ctx.ScheduleActivity("cms-get-instance-connection", map[string]any{
			"instanceId": cStr(in, "instanceId"),
		}))
		if err != nil {
			return nil, err
		}
		if !cTruthy(connInfo.Field("found")) || cStr(connInfo, "state") == "deleted" {
			if trace {
				ctx.TraceInfo("instance gone, actor exiting")
			}
			return map[string]any{"status": "exited", "reason": exitReason, "iterations": iteration}, nil
		}

		health, err := ctx.Yield(ctx.ScheduleActivity("test-connection", map[string]any{
			"connectionString": connInfo.Field("connectionString"),
		}))
		if err != nil {
			return nil, err
		}
		if _, err := ctx.Yield(ctx.ScheduleActivity("cms-record-health-check", map[string]any{
			"instanceId": cStr(in, "instanceId"),
			"healthy":    health.Field("connected"),
			"latencyMs":  health.Field("latencyMs"),
		})); err != nil {
			return nil, err
		}

		// Wait: a 100 ms timer or the InstanceDeleted event.
		winner, err := ctx.Yield(ctx.Race(
			ctx.ScheduleTimer(100*time.Millisecond),
			ctx.WaitForEvent("InstanceDeleted"),
		))
		if err != nil {
			return nil, err
		}
		if cRaceIndex(winner) == 1 {
			if trace {
				ctx.TraceInfo("received InstanceDeleted signal, exiting")
			}
			return map[string]any{"status": "exited", "reason": "signal", "iterations": iteration + 1}, nil
		}

		// Continue as new for the next health check cycle.
		return ctx.Yield(ctx.ContinueAsNew(map[string]any{
			"instanceId": cStr(in, "instanceId"),
			"iteration":  iteration + 1,
		}))
	}
}

// test_toygres.py::test_instance_actor
func TestToygres_InstanceActor(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{DispatcherPollInterval: 50 * time.Millisecond})
		cms := cNewToygresCMS()
		cms.instances["inst-testdb"] = map[string]any{
			"id":               "inst-testdb",
			"name":             "testdb",
			"state":            "running",
			"connectionString": "postgresql://postgres:secret@pg-testdb:5432/postgres",
		}

		// Activities.
		activity(t, rt, "cms-get-instance-connection", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			ctx.TraceInfo("fetching connection for " + cStr(in, "instanceId"))
			var out map[string]any
			cms.with(func() {
				inst, ok := cms.instances[cStr(in, "instanceId")]
				if !ok {
					out = map[string]any{"found": false}
					return
				}
				out = map[string]any{"found": true, "connectionString": inst["connectionString"], "state": inst["state"]}
			})
			return out, nil
		})
		activity(t, rt, "test-connection", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return map[string]any{"connected": true, "latencyMs": 3}, nil
		})
		activity(t, rt, "cms-record-health-check", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			var n int
			cms.with(func() {
				cms.counters["health_checks"]++
				n = cms.counters["health_checks"]
				cms.healthChecks = append(cms.healthChecks, map[string]any{
					"instanceId": cStr(in, "instanceId"),
					"healthy":    in.Field("healthy"),
					"latencyMs":  in.Field("latencyMs"),
				})
			})
			ctx.TraceInfo(fmt.Sprintf("recording health check #%d", n))
			return map[string]any{"ok": true}, nil
		})

		// Orchestration.
		orchestration(t, rt, "InstanceActor", cInstanceActor(true, "instance_not_found"))

		s.start(rt)
		defer s.shutdown(rt)

		s.startOrch(uid("actor-testdb"), "InstanceActor", map[string]any{"instanceId": "inst-testdb", "iteration": 0})

		// Let it run a few health check cycles (Python: sleep 0.8 s).
		took := cWaitCount(t, cms, "health_checks", 2)
		t.Logf("%s: 2 health-check cycles took %v", s.kind, took)

		// Mark the instance deleted so the actor exits on its next check.
		cms.with(func() { cms.instances["inst-testdb"]["state"] = "deleted" })

		out := mustComplete[struct {
			Status     string `json:"status"`
			Reason     string `json:"reason"`
			Iterations int    `json:"iterations"`
		}](t, s.wait(uid("actor-testdb"), 10*time.Second))
		equal(t, "output status", out.Status, "exited")
		equal(t, "output reason", out.Reason, "instance_not_found")
		if out.Iterations < 2 {
			t.Fatalf("expected ≥2 iterations, got %d", out.Iterations)
		}
		if n := cms.count("health_checks"); n < 2 {
			t.Fatalf("expected ≥2 health checks, got %d", n)
		}
	})
}

// cDeleteInstance is the DeleteInstance of test_delete_instance (full: traces and the
// best-effort actor signal, output with instanceId) and of test_full_lifecycle (simple).
func cDeleteInstance(full bool) yield.Orchestration {
	return func(ctx *yield.Ctx, in yield.Value) (any, error) {
		if full {
			ctx.TraceInfo("[v1.0.2] deleting instance " + cStr(in, "k8sName"))
		}

		instance, err := ctx.Yield(ctx.ScheduleActivity("cms-get-instance-by-k8s-name", map[string]any{
			"k8sName": cStr(in, "k8sName"),
		}))
		if err != nil {
			return nil, err
		}
		if !cTruthy(instance) {
			if full {
				ctx.TraceWarn("instance not found, nothing to delete")
			}
			return map[string]any{"status": "not_found"}, nil
		}

		if _, err := ctx.Yield(ctx.ScheduleActivity("cms-update-instance-state", map[string]any{
			"id":    cStr(instance, "id"),
			"state": "deleting",
		})); err != nil {
			return nil, err
		}

		// Signal the actor to stop (best-effort).
		if full && cTruthy(instance.Field("actorInstanceId")) {
			if _, err := ctx.Yield(ctx.ScheduleActivity("send-external-event", map[string]any{
				"instanceId": cStr(instance, "actorInstanceId"),
				"eventName":  "InstanceDeleted",
				"data":       map[string]any{"reason": "instance-deleted"},
			})); err != nil {
				ctx.TraceWarn(fmt.Sprintf("failed to signal actor (best-effort): %v", err))
			}
		}

		for _, step := range []struct {
			name  string
			input map[string]any
		}{
			{"delete-postgres", map[string]any{"k8sName": cStr(instance, "k8sName")}},
			{"cms-free-dns-name", map[string]any{"dnsName": cStr(instance, "dnsName")}},
			{"cms-delete-instance-record", map[string]any{"id": cStr(instance, "id")}},
		} {
			if _, err := ctx.Yield(ctx.ScheduleActivity(step.name, step.input)); err != nil {
				return nil, err
			}
		}

		if !full {
			return map[string]any{"status": "deleted"}, nil
		}
		ctx.TraceInfo("instance " + cStr(in, "k8sName") + " deleted")
		return map[string]any{"status": "deleted", "instanceId": cStr(instance, "id")}, nil
	}
}

// cRegisterDeleteActivities registers the activities DeleteInstance calls, over cms.
func cRegisterDeleteActivities(t *testing.T, rt *duroxide.Runtime, cms *cToygresCMS) {
	activity(t, rt, "cms-get-instance-by-k8s-name", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
		ctx.TraceInfo("looking up instance " + cStr(in, "k8sName"))
		var found map[string]any
		cms.with(func() {
			for _, inst := range cms.instances {
				if inst["k8sName"] == cStr(in, "k8sName") {
					found = maps.Clone(inst)
					return
				}
			}
		})
		if found == nil {
			return nil, nil
		}
		return found, nil
	})
	activity(t, rt, "cms-update-instance-state", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
		ctx.TraceInfo("updating " + cStr(in, "id") + " → " + cStr(in, "state"))
		cms.with(func() {
			if inst, ok := cms.instances[cStr(in, "id")]; ok {
				inst["state"] = cStr(in, "state")
			}
		})
		return map[string]any{"ok": true}, nil
	})
	activity(t, rt, "send-external-event", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
		ctx.TraceInfo("sending " + cStr(in, "eventName") + " to " + cStr(in, "instanceId"))
		return map[string]any{"sent": true}, nil
	})
	activity(t, rt, "delete-postgres", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
		ctx.TraceInfo("deleting K8s resources for " + cStr(in, "k8sName"))
		return map[string]any{"deleted": true}, nil
	})
	activity(t, rt, "cms-delete-instance-record", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
		ctx.TraceInfo("deleting CMS record " + cStr(in, "id"))
		cms.with(func() { delete(cms.instances, cStr(in, "id")) })
		return map[string]any{"ok": true}, nil
	})
	activity(t, rt, "cms-free-dns-name", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
		ctx.TraceInfo("freeing DNS name " + cStr(in, "dnsName"))
		cms.with(func() { delete(cms.dnsNames, cStr(in, "dnsName")) })
		return map[string]any{"ok": true}, nil
	})
}

// test_toygres.py::test_delete_instance
func TestToygres_DeleteInstance(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{DispatcherPollInterval: 50 * time.Millisecond})
		cms := cNewToygresCMS()
		cms.instances["inst-delme"] = map[string]any{
			"id":              "inst-delme",
			"name":            "delme",
			"k8sName":         "pg-delme",
			"state":           "running",
			"dnsName":         "delme.postgres.local",
			"actorInstanceId": "actor-delme",
		}
		cms.dnsNames["delme.postgres.local"] = true

		cRegisterDeleteActivities(t, rt, cms)
		orchestration(t, rt, "DeleteInstance", cDeleteInstance(true))

		s.start(rt)
		defer s.shutdown(rt)

		s.startOrch(uid("delete-delme"), "DeleteInstance", map[string]any{"k8sName": "pg-delme"})
		out := mustComplete[map[string]any](t, s.wait(uid("delete-delme"), 10*time.Second))
		equal(t, "output status", out["status"], any("deleted"))
		equal(t, "output instanceId", out["instanceId"], any("inst-delme"))

		// The CMS is clean.
		cms.with(func() {
			equal(t, "CMS instances", len(cms.instances), 0)
			equal(t, "CMS dns names", len(cms.dnsNames), 0)
		})
	})
}

// test_toygres.py::test_create_image
func TestToygres_CreateImage(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{DispatcherPollInterval: 50 * time.Millisecond})
		cms := cNewToygresCMS()
		cms.instances["inst-srcdb"] = map[string]any{
			"id":      "inst-srcdb",
			"name":    "srcdb",
			"k8sName": "pg-srcdb",
			"state":   "running",
		}

		// Activities.
		activity(t, rt, "cms-get-instance-by-k8s-name", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			var found map[string]any
			cms.with(func() {
				for _, inst := range cms.instances {
					if inst["k8sName"] == cStr(in, "k8sName") {
						found = maps.Clone(inst)
						return
					}
				}
			})
			if found == nil {
				return nil, nil
			}
			return found, nil
		})
		activity(t, rt, "cms-get-instance-password", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			ctx.TraceInfo("fetching password for " + cStr(in, "k8sName"))
			return map[string]any{"password": "secret123"}, nil
		})
		activity(t, rt, "cms-image-create", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			ctx.TraceInfo("creating image record: " + cStr(in, "imageName"))
			image := map[string]any{
				"id":       "img-" + cStr(in, "imageName"),
				"name":     cStr(in, "imageName"),
				"state":    "pending",
				"blobPath": cStr(in, "blobPath"),
			}
			cms.with(func() { cms.images[image["id"].(string)] = image })
			return maps.Clone(image), nil
		})
		activity(t, rt, "run-backup-job", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			ctx.TraceInfo("starting backup job for " + cStr(in, "imageName"))
			return map[string]any{"jobName": "backup-" + cStr(in, "imageName")}, nil
		})
		activity(t, rt, "wait-for-job", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			var n int
			cms.with(func() {
				cms.counters["job_polls"]++
				n = cms.counters["job_polls"]
			})
			ctx.TraceInfo(fmt.Sprintf("polling job %s (poll #%d)", cStr(in, "jobName"), n))
			if n < 3 {
				return map[string]any{"status": "running"}, nil
			}
			return map[string]any{"status": "succeeded"}, nil
		})
		activity(t, rt, "cms-image-update-state", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			ctx.TraceInfo("image " + cStr(in, "imageId") + " → " + cStr(in, "state"))
			cms.with(func() {
				if img, ok := cms.images[cStr(in, "imageId")]; ok {
					img["state"] = cStr(in, "state")
				}
			})
			return map[string]any{"ok": true}, nil
		})
		activity(t, rt, "delete-job", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			ctx.TraceInfo("cleaning up job " + cStr(in, "jobName"))
			return map[string]any{"ok": true}, nil
		})

		// Orchestration.
		orchestration(t, rt, "CreateImage", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			ctx.TraceInfo("creating backup image from " + cStr(in, "k8sName"))

			instance, err := ctx.Yield(ctx.ScheduleActivity("cms-get-instance-by-k8s-name", map[string]any{
				"k8sName": cStr(in, "k8sName"),
			}))
			if err != nil {
				return nil, err
			}
			if !cTruthy(instance) {
				return map[string]any{"status": "failed", "reason": "source not found"}, nil
			}

			pwResult, err := ctx.Yield(ctx.ScheduleActivity("cms-get-instance-password", map[string]any{
				"k8sName": cStr(in, "k8sName"),
			}))
			if err != nil {
				return nil, err
			}
			password := cStr(pwResult, "password")

			now, err := ctx.Yield(ctx.UtcNow())
			if err != nil {
				return nil, err
			}
			blobPath := fmt.Sprintf("images/%s-%s/", cStr(in, "imageName"), now.String())

			image, err := ctx.Yield(ctx.ScheduleActivity("cms-image-create", map[string]any{
				"imageName":        cStr(in, "imageName"),
				"sourceInstanceId": cStr(instance, "id"),
				"blobPath":         blobPath,
			}))
			if err != nil {
				return nil, err
			}

			jobResult, err := ctx.Yield(ctx.ScheduleActivity("run-backup-job", map[string]any{
				"imageName": cStr(in, "imageName"),
				"k8sName":   cStr(in, "k8sName"),
				"password":  password,
				"blobPath":  blobPath,
			}))
			if err != nil {
				return nil, err
			}
			jobName := cStr(jobResult, "jobName")

			// Poll for job completion.
			jobStatus := "running"
			for range 360 {
				check, err := ctx.Yield(ctx.ScheduleActivity("wait-for-job", map[string]any{"jobName": jobName}))
				if err != nil {
					return nil, err
				}
				jobStatus = cStr(check, "status")
				if jobStatus != "running" {
					break
				}
				if _, err := ctx.Yield(ctx.ScheduleTimer(100 * time.Millisecond)); err != nil {
					return nil, err
				}
			}

			if _, err := ctx.Yield(ctx.ScheduleActivity("delete-job", map[string]any{"jobName": jobName})); err != nil {
				return nil, err
			}

			if jobStatus == "succeeded" {
				if _, err := ctx.Yield(ctx.ScheduleActivity("cms-image-update-state", map[string]any{
					"imageId": cStr(image, "id"),
					"state":   "ready",
				})); err != nil {
					return nil, err
				}
				ctx.TraceInfo("image " + cStr(in, "imageName") + " ready")
				return map[string]any{"status": "ready", "imageId": cStr(image, "id"), "blobPath": blobPath}, nil
			}
			if _, err := ctx.Yield(ctx.ScheduleActivity("cms-image-update-state", map[string]any{
				"imageId": cStr(image, "id"),
				"state":   "failed",
			})); err != nil {
				return nil, err
			}
			return map[string]any{"status": "failed", "imageId": cStr(image, "id")}, nil
		})

		s.start(rt)
		defer s.shutdown(rt)

		s.startOrch(uid("backup-srcdb"), "CreateImage", map[string]any{"k8sName": "pg-srcdb", "imageName": "srcdb-snap"})
		out := mustComplete[map[string]any](t, s.wait(uid("backup-srcdb"), 15*time.Second))
		equal(t, "output status", out["status"], any("ready"))
		if bp := fmt.Sprint(out["blobPath"]); !strings.HasPrefix(bp, "images/srcdb-snap-") {
			t.Fatalf("blobPath %q, want the prefix images/srcdb-snap-", bp)
		}

		cms.with(func() { equal(t, "CMS image state", cms.images["img-srcdb-snap"]["state"], any("ready")) })
		if n := cms.count("job_polls"); n < 3 {
			t.Fatalf("expected ≥3 job polls, got %d", n)
		}
	})
}

// test_toygres.py::test_system_pruner
func TestToygres_SystemPruner(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{DispatcherPollInterval: 50 * time.Millisecond})
		cms := cNewToygresCMS() // only its lock and counters: Python's prune_count

		activity(t, rt, "system-prune-2", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			var n int
			cms.with(func() {
				cms.counters["prunes"]++
				n = cms.counters["prunes"]
			})
			ctx.TraceInfo(fmt.Sprintf("pruning iteration %s (prune #%d)", in.Field("iteration"), n))
			return map[string]any{"pruned": n * 3, "deleted": n}, nil
		})
		orchestration(t, rt, "SystemPruner", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			iteration, err := cInt(in, "iteration")
			if err != nil {
				return nil, err
			}
			ctx.TraceInfo(fmt.Sprintf("[v1.0.4] system pruner iteration %d", iteration))

			if _, err := ctx.Yield(ctx.ScheduleActivity("system-prune-2", map[string]any{"iteration": iteration})); err != nil {
				return nil, err
			}
			if _, err := ctx.Yield(ctx.ScheduleTimer(100 * time.Millisecond)); err != nil {
				return nil, err
			}

			// Continue as new (an eternal orchestration).
			return ctx.Yield(ctx.ContinueAsNew(map[string]any{"iteration": iteration + 1}))
		})

		s.start(rt)
		defer s.shutdown(rt)

		s.startOrch(uid("pruner"), "SystemPruner", map[string]any{"iteration": 0})

		// Let it run a few cycles (Python: sleep 0.8 s).
		took := cWaitCount(t, cms, "prunes", 2)
		t.Logf("%s: 2 prune cycles took %v", s.kind, took)

		// Cancel to stop.
		if err := s.client.CancelInstance(s.ctx, uid("pruner"), "test-done"); err != nil {
			t.Fatal(err)
		}
		if n := cms.count("prunes"); n < 2 {
			t.Fatalf("expected ≥2 prune cycles, got %d", n)
		}
		// Python does not wait for the cancelled instance; the Go test does, so the
		// runtime shuts down with no turn in flight, and checks the cancel landed.
		contains(t, "cancelled pruner error", mustFail(t, s.wait(uid("pruner"), 10*time.Second)), "test-done")
	})
}

// test_toygres.py::test_full_lifecycle
func TestToygres_FullLifecycle(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{DispatcherPollInterval: 50 * time.Millisecond})
		cms := cNewToygresCMS()

		// Activities (combined from create + actor + delete).
		activity(t, rt, "cms-create-instance-record", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			name := cStr(in, "name")
			record := map[string]any{
				"id":      "inst-" + name,
				"name":    name,
				"k8sName": "pg-" + name,
				"state":   "provisioning",
				"dnsName": name + ".postgres.local",
			}
			cms.with(func() { cms.instances[record["id"].(string)] = record })
			return maps.Clone(record), nil
		})
		activity(t, rt, "deploy-postgres-v2", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return map[string]any{"statefulSet": cStr(in, "k8sName")}, nil
		})
		activity(t, rt, "wait-for-ready", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return map[string]any{"ready": true}, nil
		})
		activity(t, rt, "get-connection-strings", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			k8s := cStr(in, "k8sName")
			return map[string]any{
				"host":             k8s + ".svc",
				"port":             5432,
				"connectionString": "postgresql://postgres:s@" + k8s + ":5432/postgres",
			}, nil
		})
		activity(t, rt, "test-connection", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return map[string]any{"connected": true, "latencyMs": 2}, nil
		})
		activity(t, rt, "cms-update-instance-state", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			cms.with(func() {
				if inst, ok := cms.instances[cStr(in, "id")]; ok {
					inst["state"] = cStr(in, "state")
				}
			})
			return map[string]any{"ok": true}, nil
		})
		activity(t, rt, "cms-get-instance-connection", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			var out map[string]any
			cms.with(func() {
				inst, ok := cms.instances[cStr(in, "instanceId")]
				if !ok {
					out = map[string]any{"found": false}
					return
				}
				out = map[string]any{"found": true, "connectionString": "pg://test", "state": inst["state"]}
			})
			return out, nil
		})
		activity(t, rt, "cms-record-health-check", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			cms.with(func() {
				cms.counters["health_checks"]++
				cms.healthChecks = append(cms.healthChecks, map[string]any{"instanceId": cStr(in, "instanceId"), "healthy": in.Field("healthy")})
			})
			return map[string]any{"ok": true}, nil
		})
		activity(t, rt, "cms-get-instance-by-k8s-name", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			var found map[string]any
			cms.with(func() {
				for _, inst := range cms.instances {
					if inst["k8sName"] == cStr(in, "k8sName") {
						found = maps.Clone(inst)
						return
					}
				}
			})
			if found == nil {
				return nil, nil
			}
			return found, nil
		})
		activity(t, rt, "send-external-event", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return map[string]any{"sent": true}, nil
		})
		activity(t, rt, "delete-postgres", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return map[string]any{"deleted": true}, nil
		})
		activity(t, rt, "cms-delete-instance-record", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			cms.with(func() { delete(cms.instances, cStr(in, "id")) })
			return map[string]any{"ok": true}, nil
		})
		activity(t, rt, "cms-free-dns-name", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			cms.with(func() { delete(cms.dnsNames, cStr(in, "dnsName")) })
			return map[string]any{"ok": true}, nil
		})

		// Orchestrations.
		orchestration(t, rt, "CreateInstance", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			record, err := ctx.Yield(ctx.ScheduleActivity("cms-create-instance-record", map[string]any{"name": cStr(in, "name")}))
			if err != nil {
				return nil, err
			}
			if _, err := ctx.Yield(ctx.ScheduleActivity("deploy-postgres-v2", map[string]any{"k8sName": cStr(record, "k8sName")})); err != nil {
				return nil, err
			}
			status, err := ctx.Yield(ctx.ScheduleActivity("wait-for-ready", map[string]any{"k8sName": cStr(record, "k8sName")}))
			if err != nil {
				return nil, err
			}
			if !cTruthy(status.Field("ready")) {
				return map[string]any{"status": "failed"}, nil
			}
			conn, err := ctx.Yield(ctx.ScheduleActivity("get-connection-strings", map[string]any{"k8sName": cStr(record, "k8sName")}))
			if err != nil {
				return nil, err
			}
			if _, err := ctx.Yield(ctx.ScheduleActivity("test-connection", map[string]any{"connectionString": conn.Field("connectionString")})); err != nil {
				return nil, err
			}
			if _, err := ctx.Yield(ctx.ScheduleActivity("cms-update-instance-state", map[string]any{"id": cStr(record, "id"), "state": "running"})); err != nil {
				return nil, err
			}
			return map[string]any{"status": "created", "instanceId": cStr(record, "id")}, nil
		})
		orchestration(t, rt, "InstanceActor", cInstanceActor(false, "gone"))
		orchestration(t, rt, "DeleteInstance", cDeleteInstance(false))

		s.start(rt)
		defer s.shutdown(rt)

		// Phase 1: create.
		s.startOrch(uid("create-lifecycle"), "CreateInstance", map[string]any{"name": "lifecycle"})
		createResult := s.wait(uid("create-lifecycle"), 10*time.Second)
		equal(t, "create status", mustComplete[map[string]any](t, createResult)["status"], any("created"))

		// Phase 2: start the actor and let it run (Python: sleep 0.6 s).
		s.startOrch(uid("actor-lifecycle"), "InstanceActor", map[string]any{"instanceId": "inst-lifecycle", "iteration": 0})
		took := cWaitCount(t, cms, "health_checks", 2)
		t.Logf("%s: 2 health-check cycles took %v", s.kind, took)
		if n := cms.count("health_checks"); n < 2 {
			t.Fatalf("expected ≥2 health checks, got %d", n)
		}

		// Phase 3: mark the instance deleted so the actor exits.
		cms.with(func() { cms.instances["inst-lifecycle"]["state"] = "deleted" })
		actorResult := s.wait(uid("actor-lifecycle"), 10*time.Second)
		equal(t, "actor status", mustComplete[map[string]any](t, actorResult)["status"], any("exited"))

		// Reset the state for the delete orchestration.
		cms.with(func() {
			cms.instances["inst-lifecycle"] = map[string]any{
				"id":      "inst-lifecycle",
				"name":    "lifecycle",
				"k8sName": "pg-lifecycle",
				"state":   "running",
				"dnsName": "lifecycle.postgres.local",
			}
			cms.dnsNames["lifecycle.postgres.local"] = true
		})

		// Phase 4: delete.
		s.startOrch(uid("delete-lifecycle"), "DeleteInstance", map[string]any{"k8sName": "pg-lifecycle"})
		deleteResult := s.wait(uid("delete-lifecycle"), 10*time.Second)
		equal(t, "delete status", mustComplete[map[string]any](t, deleteResult)["status"], any("deleted"))

		// Verify the clean state.
		cms.with(func() { equal(t, "CMS instances", len(cms.instances), 0) })
	})
}
