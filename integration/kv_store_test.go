package integration_test

// Ports of tests/test_kv_store.py of the Python SDK (python-sdk.md §3.6).

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

// reverseString is the Python str(input)[::-1].
func reverseString(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// test_kv_store.py::test_kv_request_response
func TestKVStore_KVRequestResponse(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "ProcessCommand", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			return reverseString(in.String()), nil
		})
		orchestration(t, rt, "RequestServer", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			ctx.SetKVValue("scratch", "temp")
			if v, ok := ctx.GetKVValue("scratch"); !ok || v != "temp" {
				return nil, fmt.Errorf("scratch = %q, %v; want temp", v, ok)
			}
			ctx.ClearKVValue("scratch")
			if v, ok := ctx.GetKVValue("scratch"); ok {
				return nil, fmt.Errorf("scratch = %q after clear, want none", v)
			}
			ctx.SetKVValue("scratch", "temp-again")
			ctx.ClearAllKVValues()
			if v, ok := ctx.GetKVValue("scratch"); ok {
				return nil, fmt.Errorf("scratch = %q after clear all, want none", v)
			}

			ctx.SetKVValue("status", "ready")

			for range 3 {
				reqV, err := ctx.Yield(ctx.WaitForEvent("request"))
				if err != nil {
					return nil, err
				}
				var request struct {
					OpID    string `json:"op_id"`
					Command string `json:"command"`
				}
				if err := reqV.Decode(&request); err != nil {
					return nil, err
				}

				ctx.SetKVValue("status", "processing")
				result, err := ctx.Yield(ctx.ScheduleActivity("ProcessCommand", request.Command))
				if err != nil {
					return nil, err
				}
				ctx.SetKVValue("response:"+request.OpID, result.String())
				ctx.SetKVValue("status", "ready")
			}

			ctx.SetKVValue("status", "shutdown")
			return "served 3 requests", nil
		})
		s.start(rt)
		defer s.shutdown(rt)

		id := uid("req-resp-server")
		s.startOrch(id, "RequestServer", "")

		status, err := s.client.WaitForKVValue(s.ctx, id, "status", 5*time.Second)
		if err != nil {
			t.Fatalf("WaitForKVValue(status): %v", err)
		}
		equal(t, "status", status, "ready")

		requests := [][2]string{{"op-1", "hello"}, {"op-2", "world"}, {"op-3", "rust"}}
		for _, r := range requests {
			opID, command := r[0], r[1]
			s.raise(id, "request", map[string]string{"op_id": opID, "command": command})
			got, err := s.client.WaitForKVValue(s.ctx, id, "response:"+opID, 5*time.Second)
			if err != nil {
				t.Fatalf("WaitForKVValue(response:%s): %v", opID, err)
			}
			equal(t, "response:"+opID, got, reverseString(command))
		}

		out := mustComplete[string](t, s.wait(id, 5*time.Second))
		equal(t, "output", out, "served 3 requests")

		for key, want := range map[string]string{
			"status":        "shutdown",
			"response:op-1": "olleh",
			"response:op-2": "dlrow",
			"response:op-3": "tsur",
		} {
			v, ok := s.bKV(id, key)
			if !ok || v != want {
				t.Fatalf("KV %s = %q (present %v), want %q", key, v, ok, want)
			}
		}
	})
}

// test_kv_store.py::test_kv_bulk_helpers
func TestKVStore_KVBulkHelpers(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		orchestration(t, rt, "KvBulkHelpers", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			ctx.SetKVValue("scratch", "temp")
			snapshot := ctx.GetKVAllValues()
			keys := ctx.GetKVAllKeys()
			count := ctx.GetKVLength()
			pruned := ctx.PruneKVValuesUpdatedBefore(0)
			if _, err := ctx.Yield(ctx.UtcNow()); err != nil {
				return nil, err
			}
			ctx.ClearAllKVValues()
			return map[string]any{
				"snapshot":    snapshot,
				"keys":        keys,
				"count":       count,
				"pruned":      pruned,
				"after_clear": ctx.GetKVAllValues(),
			}, nil
		})
		s.start(rt)
		defer s.shutdown(rt)

		id := uid("kv-bulk-helpers")
		s.startOrch(id, "KvBulkHelpers", "")
		res := s.wait(id, 5*time.Second)
		mustComplete[any](t, res)
		bJSONEqual(t, "output", res.Output,
			`{"snapshot": {"scratch": "temp"}, "keys": ["scratch"], "count": 1, "pruned": 0, "after_clear": {}}`)
	})
}

// test_kv_store.py::test_kv_cross_orchestration_read
func TestKVStore_KVCrossOrchestrationRead(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "ComputeResult", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			n, err := strconv.Atoi(in.String())
			if err != nil {
				return nil, err
			}
			return strconv.Itoa(n * n), nil
		})
		orchestration(t, rt, "Producer", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			var n int
			if err := in.Decode(&n); err != nil {
				return nil, err
			}
			ctx.SetKVValue("status", "computing")

			squared, err := ctx.Yield(ctx.ScheduleActivity("ComputeResult", strconv.Itoa(n)))
			if err != nil {
				return nil, err
			}
			ctx.SetKVValue("result", squared.String())
			ctx.SetKVValue("status", "done")

			if _, err := ctx.Yield(ctx.WaitForEvent("ack")); err != nil {
				return nil, err
			}
			return "produced:" + squared.String(), nil
		})
		orchestration(t, rt, "Consumer", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			producerID := in.String()
			attempts := 0
			for {
				status, err := ctx.Yield(ctx.GetKVValueFromInstance(producerID, "status"))
				if err != nil {
					return nil, err
				}
				if !status.IsNull() && status.String() == "done" {
					break
				}
				attempts++
				if attempts > 20 {
					return nil, errors.New("producer never finished")
				}
				if _, err := ctx.Yield(ctx.ScheduleTimer(100 * time.Millisecond)); err != nil {
					return nil, err
				}
			}

			result, err := ctx.Yield(ctx.GetKVValueFromInstance(producerID, "result"))
			if err != nil {
				return nil, err
			}
			if result.IsNull() {
				return nil, errors.New("result key missing")
			}
			return "consumed:" + result.String(), nil
		})
		s.start(rt)
		defer s.shutdown(rt)

		producerID := uid("producer")
		consumerID := uid("consumer")

		s.startOrch(producerID, "Producer", 7)
		got, err := s.client.WaitForKVValue(s.ctx, producerID, "result", 5*time.Second)
		if err != nil {
			t.Fatalf("WaitForKVValue(result): %v", err)
		}
		equal(t, "producer result", got, "49")

		s.startOrch(consumerID, "Consumer", producerID)
		consumed := mustComplete[string](t, s.wait(consumerID, 10*time.Second))
		equal(t, "consumer output", consumed, "consumed:49")

		s.raise(producerID, "ack", "")
		produced := mustComplete[string](t, s.wait(producerID, 5*time.Second))
		equal(t, "producer output", produced, "produced:49")

		if v, ok := s.bKV(producerID, "result"); !ok || v != "49" {
			t.Fatalf("KV result = %q (present %v), want 49", v, ok)
		}
		if v, ok := s.bKV(producerID, "status"); !ok || v != "done" {
			t.Fatalf("KV status = %q (present %v), want done", v, ok)
		}
	})
}

// test_kv_store.py::test_kv_read_modify_write_counter
func TestKVStore_KVReadModifyWriteCounter(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "ProcessBatch", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			return "processed:" + in.String(), nil
		})
		orchestration(t, rt, "BatchProcessor", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			for _, batchName := range []string{"alpha", "beta", "gamma"} {
				processed := 0
				if v, ok := ctx.GetKVValue("batches_processed"); ok {
					n, err := strconv.Atoi(v)
					if err != nil {
						return nil, err
					}
					processed = n
				}
				result, err := ctx.Yield(ctx.ScheduleActivity("ProcessBatch", batchName))
				if err != nil {
					return nil, err
				}
				ctx.SetKVValue("batches_processed", strconv.Itoa(processed+1))
				ctx.SetKVValue("last_result", result.String())
			}

			if v, ok := ctx.GetKVValue("batches_processed"); ok {
				return v, nil
			}
			return "0", nil
		})
		s.start(rt)
		defer s.shutdown(rt)

		id := uid("batch-processor")
		s.startOrch(id, "BatchProcessor", "")
		out := mustComplete[string](t, s.wait(id, 5*time.Second))
		equal(t, "output", out, "3")

		if v, ok := s.bKV(id, "batches_processed"); !ok || v != "3" {
			t.Fatalf("KV batches_processed = %q (present %v), want 3", v, ok)
		}
		if v, ok := s.bKV(id, "last_result"); !ok || v != "processed:gamma" {
			t.Fatalf("KV last_result = %q (present %v), want processed:gamma", v, ok)
		}
	})
}
