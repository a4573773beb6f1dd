package integration_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

// Ports of the Python SDK's tests/test_typed_apis.py (python-sdk.md §3.9). Python's
// *_typed methods serialize inputs and parse results; in Go the typed forms are the
// generic helpers: RegisterActivityTyped, RegisterOrchestrationTyped,
// RegisterOrchestrationVersionedTyped, yield.Await[T] around the ordinary Schedule* task
// (Go has no generic methods, so there is no ScheduleActivityTyped), and
// WaitForOrchestrationAs[T] for wait_for_orchestration_typed. Python dicts become small
// structs with JSON tags, declared inside each test.

// cTypedRuntime is the Python make_env(): a runtime with 50 ms polling on the scenario's
// store (the scenario's client is the env's client).
func cTypedRuntime(s *scenario) *duroxide.Runtime {
	return s.runtime(duroxide.RuntimeOptions{DispatcherPollInterval: 50 * time.Millisecond})
}

// cCheck fails the test on a registration error.
func cCheck(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// test_typed_apis.py::test_typed_activity_on_session_round_trip
func TestTypedAPIs_TypedActivityOnSessionRoundTrip(t *testing.T) {
	type addIn struct {
		A int `json:"a"`
		B int `json:"b"`
	}
	type addOut struct {
		Sum int `json:"sum"`
	}
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := cTypedRuntime(s)
		cCheck(t, duroxide.RegisterActivityTyped(rt, "Add", func(ctx *duroxide.ActivityContext, in addIn) (addOut, error) {
			return addOut{Sum: in.A + in.B}, nil
		}))
		cCheck(t, duroxide.RegisterOrchestrationTyped(rt, "SessionTypedOrch", func(ctx *yield.Ctx, in addIn) (addOut, error) {
			return yield.Await[addOut](ctx, ctx.ScheduleActivityOnSession("Add", addIn{A: 2, B: 3}, "sess-1"))
		}))
		s.start(rt)
		defer s.shutdown(rt)
		iid := uid("sess-typed-1")
		s.startOrch(iid, "SessionTypedOrch", map[string]int{"a": 2, "b": 3})
		equal(t, "output", mustComplete[map[string]int](t, s.wait(iid, 5*time.Second)), map[string]int{"sum": 5})
	})
}

// test_typed_apis.py::test_typed_activity_with_retry
func TestTypedAPIs_TypedActivityWithRetry(t *testing.T) {
	type xIn struct {
		X int `json:"x"`
	}
	type resultOut struct {
		Result int `json:"result"`
	}
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := cTypedRuntime(s)
		var counter atomic.Int32
		cCheck(t, duroxide.RegisterActivityTyped(rt, "Flaky", func(ctx *duroxide.ActivityContext, in xIn) (resultOut, error) {
			if counter.Add(1) < 2 {
				return resultOut{}, errors.New("transient")
			}
			return resultOut{Result: 42}, nil
		}))
		cCheck(t, duroxide.RegisterOrchestrationTyped(rt, "RetryTypedOrch", func(ctx *yield.Ctx, in xIn) (resultOut, error) {
			return yield.Await[resultOut](ctx, ctx.ScheduleActivityWithRetry("Flaky", xIn{X: 1},
				yield.RetryPolicy{MaxAttempts: 3, Backoff: yield.BackoffFixed}))
		}))
		s.start(rt)
		defer s.shutdown(rt)
		iid := uid("retry-typed-1")
		s.startOrch(iid, "RetryTypedOrch", map[string]int{"x": 1})
		equal(t, "output", mustComplete[map[string]int](t, s.wait(iid, 5*time.Second)), map[string]int{"result": 42})
	})
}

// test_typed_apis.py::test_typed_activity_with_retry_on_session
func TestTypedAPIs_TypedActivityWithRetryOnSession(t *testing.T) {
	type xIn struct {
		X int `json:"x"`
	}
	type resultOut struct {
		Result  int    `json:"result"`
		Session string `json:"session"`
	}
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := cTypedRuntime(s)
		var counter atomic.Int32
		cCheck(t, duroxide.RegisterActivityTyped(rt, "FlakySession", func(ctx *duroxide.ActivityContext, in xIn) (resultOut, error) {
			if counter.Add(1) < 2 {
				return resultOut{}, errors.New("transient")
			}
			sid, _ := ctx.SessionID()
			return resultOut{Result: 99, Session: sid}, nil
		}))
		cCheck(t, duroxide.RegisterOrchestrationTyped(rt, "RetrySessionTypedOrch", func(ctx *yield.Ctx, in xIn) (resultOut, error) {
			return yield.Await[resultOut](ctx, ctx.ScheduleActivityWithRetryOnSession("FlakySession", xIn{X: 1},
				yield.RetryPolicy{MaxAttempts: 3, Backoff: yield.BackoffFixed}, "retry-sess"))
		}))
		s.start(rt)
		defer s.shutdown(rt)
		iid := uid("retry-sess-typed-1")
		s.startOrch(iid, "RetrySessionTypedOrch", map[string]int{"x": 1})
		out := mustComplete[resultOut](t, s.wait(iid, 5*time.Second))
		equal(t, "output result", out.Result, 99)
		equal(t, "output session", out.Session, "retry-sess")
	})
}

// test_typed_apis.py::test_typed_wait_for_event
func TestTypedAPIs_TypedWaitForEvent(t *testing.T) {
	type readyData struct {
		Ok bool `json:"ok"`
	}
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := cTypedRuntime(s)
		cCheck(t, duroxide.RegisterOrchestrationTyped(rt, "WaitEventTypedOrch", func(ctx *yield.Ctx, in any) (readyData, error) {
			return yield.Await[readyData](ctx, ctx.WaitForEvent("Ready"))
		}))
		s.start(rt)
		defer s.shutdown(rt)
		iid := uid("wait-evt-typed-1")
		s.startOrch(iid, "WaitEventTypedOrch", nil)
		// Python sleeps 0.5 s first; events are buffered (DECISIONS 1), so raise at once.
		s.raise(iid, "Ready", map[string]bool{"ok": true})
		equal(t, "output", mustComplete[map[string]bool](t, s.wait(iid, 5*time.Second)), map[string]bool{"ok": true})
	})
}

// test_typed_apis.py::test_typed_dequeue_event
func TestTypedAPIs_TypedDequeueEvent(t *testing.T) {
	type inboxMsg struct {
		Msg string `json:"msg"`
	}
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := cTypedRuntime(s)
		cCheck(t, duroxide.RegisterOrchestrationTyped(rt, "DequeueTypedOrch", func(ctx *yield.Ctx, in any) (inboxMsg, error) {
			return yield.Await[inboxMsg](ctx, ctx.DequeueEvent("inbox"))
		}))
		s.start(rt)
		defer s.shutdown(rt)
		iid := uid("dequeue-typed-1")
		s.startOrch(iid, "DequeueTypedOrch", nil)
		// Python sleeps 0.5 s first; queue messages are kept until dequeued (DECISIONS 2).
		s.enqueue(iid, "inbox", map[string]string{"msg": "hello"})
		equal(t, "output", mustComplete[map[string]string](t, s.wait(iid, 5*time.Second)), map[string]string{"msg": "hello"})
	})
}

// test_typed_apis.py::test_typed_sub_orchestration_with_id
func TestTypedAPIs_TypedSubOrchestrationWithID(t *testing.T) {
	type nIn struct {
		N int `json:"n"`
	}
	type computedOut struct {
		Computed int `json:"computed"`
	}
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := cTypedRuntime(s)
		// A plain function: it returns without yielding.
		cCheck(t, duroxide.RegisterOrchestrationTyped(rt, "ChildTyped", func(ctx *yield.Ctx, in nIn) (computedOut, error) {
			return computedOut{Computed: in.N}, nil
		}))
		cCheck(t, duroxide.RegisterOrchestrationTyped(rt, "ParentWithIdTyped", func(ctx *yield.Ctx, in nIn) (computedOut, error) {
			return yield.Await[computedOut](ctx, ctx.ScheduleSubOrchestrationWithID("ChildTyped", "child-123", nIn{N: 99}))
		}))
		s.start(rt)
		defer s.shutdown(rt)
		iid := uid("sub-id-typed-1")
		s.startOrch(iid, "ParentWithIdTyped", map[string]int{"n": 99})
		equal(t, "output", mustComplete[map[string]int](t, s.wait(iid, 5*time.Second)), map[string]int{"computed": 99})
	})
}

// test_typed_apis.py::test_typed_detached_orchestration
func TestTypedAPIs_TypedDetachedOrchestration(t *testing.T) {
	type taskIn struct {
		Task string `json:"task"`
	}
	type stampOut struct {
		Stamped string `json:"stamped"`
	}
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := cTypedRuntime(s)
		cCheck(t, duroxide.RegisterActivityTyped(rt, "Stamp", func(ctx *duroxide.ActivityContext, in taskIn) (stampOut, error) {
			return stampOut{Stamped: in.Task}, nil
		}))
		cCheck(t, duroxide.RegisterOrchestrationTyped(rt, "Worker", func(ctx *yield.Ctx, in taskIn) (stampOut, error) {
			return yield.Await[stampOut](ctx, ctx.ScheduleActivity("Stamp", in))
		}))
		cCheck(t, duroxide.RegisterOrchestrationTyped(rt, "Launcher", func(ctx *yield.Ctx, in any) (string, error) {
			if _, err := ctx.Yield(ctx.StartOrchestration("Worker", "detached-1", taskIn{Task: "go"})); err != nil {
				return "", err
			}
			return "launched", nil
		}))
		s.start(rt)
		defer s.shutdown(rt)
		iid := uid("detached-typed-1")
		s.startOrch(iid, "Launcher", nil)
		equal(t, "output", mustComplete[string](t, s.wait(iid, 5*time.Second)), "launched")
		// The detached orchestration completed.
		detached := s.wait("detached-1", 5*time.Second)
		equal(t, "detached output", mustComplete[map[string]string](t, detached), map[string]string{"stamped": "go"})
	})
}

// test_typed_apis.py::test_typed_continue_as_new
func TestTypedAPIs_TypedContinueAsNew(t *testing.T) {
	type counterIn struct {
		Counter int `json:"counter"`
	}
	type finalOut struct {
		Final int `json:"final"`
	}
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := cTypedRuntime(s)
		// *counterIn is nil when the input is not an object (Python: isinstance(input, dict)).
		cCheck(t, duroxide.RegisterOrchestrationTyped(rt, "CanTypedOrch", func(ctx *yield.Ctx, in *counterIn) (any, error) {
			counter := 0
			if in != nil {
				counter = in.Counter
			}
			if counter < 3 {
				return ctx.Yield(ctx.ContinueAsNew(counterIn{Counter: counter + 1}))
			}
			return finalOut{Final: counter}, nil
		}))
		s.start(rt)
		defer s.shutdown(rt)
		iid := uid("can-typed-1")
		s.startOrch(iid, "CanTypedOrch", map[string]int{"counter": 0})
		equal(t, "output", mustComplete[map[string]int](t, s.wait(iid, 10*time.Second)), map[string]int{"final": 3})
	})
}

// test_typed_apis.py::test_typed_client_start_and_wait
func TestTypedAPIs_TypedClientStartAndWait(t *testing.T) {
	type echoIn struct {
		Echo string `json:"echo"`
	}
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := cTypedRuntime(s)
		cCheck(t, duroxide.RegisterActivityTyped(rt, "Echo", func(ctx *duroxide.ActivityContext, in echoIn) (echoIn, error) {
			return in, nil
		}))
		cCheck(t, duroxide.RegisterOrchestrationTyped(rt, "EchoOrch", func(ctx *yield.Ctx, in echoIn) (echoIn, error) {
			return yield.Await[echoIn](ctx, ctx.ScheduleActivity("Echo", in))
		}))
		s.start(rt)
		defer s.shutdown(rt)
		iid := uid("client-typed-1")
		s.startOrch(iid, "EchoOrch", echoIn{Echo: "ping"})
		// wait_for_orchestration_typed(iid): Python's default timeout, 30 s.
		output, err := duroxide.WaitForOrchestrationAs[map[string]string](s.ctx, s.client, iid, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "output", output, map[string]string{"echo": "ping"})
	})
}

// test_typed_apis.py::test_typed_client_events
func TestTypedAPIs_TypedClientEvents(t *testing.T) {
	type typedData struct {
		Typed bool `json:"typed"`
	}
	type eventsOut struct {
		Evt typedData `json:"evt"`
		Msg typedData `json:"msg"`
	}
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := cTypedRuntime(s)
		cCheck(t, duroxide.RegisterOrchestrationTyped(rt, "EventTypedOrch", func(ctx *yield.Ctx, in any) (eventsOut, error) {
			evt, err := yield.Await[typedData](ctx, ctx.WaitForEvent("Evt"))
			if err != nil {
				return eventsOut{}, err
			}
			msg, err := yield.Await[typedData](ctx, ctx.DequeueEvent("Q"))
			if err != nil {
				return eventsOut{}, err
			}
			return eventsOut{Evt: evt, Msg: msg}, nil
		}))
		s.start(rt)
		defer s.shutdown(rt)
		iid := uid("client-evt-typed-1")
		s.startOrch(iid, "EventTypedOrch", nil)
		// Python sleeps 0.5 s before each; both are buffered, so send at once.
		s.raise(iid, "Evt", typedData{Typed: true})
		s.enqueue(iid, "Q", typedData{Typed: true})
		output, err := duroxide.WaitForOrchestrationAs[map[string]map[string]bool](s.ctx, s.client, iid, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "output evt", output["evt"], map[string]bool{"typed": true})
		equal(t, "output msg", output["msg"], map[string]bool{"typed": true})
	})
}

// test_typed_apis.py::test_typed_versioned_start_paths
func TestTypedAPIs_TypedVersionedStartPaths(t *testing.T) {
	type taskIn struct {
		Task string `json:"task"`
	}
	type doneOut struct {
		Done    bool   `json:"done"`
		Task    string `json:"task"`
		Version string `json:"version"`
	}
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := cTypedRuntime(s)
		cCheck(t, duroxide.RegisterOrchestrationVersionedTyped(rt, "VersionedWorker", "1.0.0", func(ctx *yield.Ctx, in taskIn) (doneOut, error) {
			return doneOut{Done: true, Task: in.Task, Version: "v1"}, nil
		}))
		cCheck(t, duroxide.RegisterOrchestrationTyped(rt, "VersionedLauncher", func(ctx *yield.Ctx, in any) (string, error) {
			if _, err := ctx.Yield(ctx.StartOrchestrationVersioned("VersionedWorker", "1.0.0", uid("detached-v1"), taskIn{Task: "go-v1"})); err != nil {
				return "", err
			}
			return "launched-v1", nil
		}))
		s.start(rt)
		defer s.shutdown(rt)

		parentID := uid("versioned-launcher-typed-1")
		s.startOrch(parentID, "VersionedLauncher", nil)
		equal(t, "parent output", mustComplete[string](t, s.wait(parentID, 10*time.Second)), "launched-v1")

		detached := s.wait(uid("detached-v1"), 10*time.Second)
		want := map[string]any{"done": true, "task": "go-v1", "version": "v1"}
		equal(t, "detached output", mustComplete[map[string]any](t, detached), want)

		directID := uid("client-versioned-typed-1")
		if err := s.client.StartOrchestrationVersioned(s.ctx, directID, "VersionedWorker", taskIn{Task: "direct-v1"}, "1.0.0"); err != nil {
			t.Fatal(err)
		}
		directOutput, err := duroxide.WaitForOrchestrationAs[map[string]any](s.ctx, s.client, directID, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "direct output", directOutput, map[string]any{"done": true, "task": "direct-v1", "version": "v1"})
	})
}
