package duroxide_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

// TestClientGetKVAllValues reads a whole KV store from the client, before and after
// keys are cleared, and tells an unknown instance from an empty store.
func TestClientGetKVAllValues(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		e.orchestration("KVAll", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			ctx.SetKVValue("a", "1")
			ctx.SetKVValue("b", "two")
			ctx.SetKVValue("gone", "x")
			ctx.ClearKVValue("gone")
			if _, err := ctx.Yield(ctx.WaitForEvent("clear")); err != nil {
				return nil, err
			}
			ctx.ClearAllKVValues()
			return nil, nil
		})
		e.start()
		if err := e.client.StartOrchestration(e.ctx, "kvall-1", "KVAll", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := e.client.WaitForKVValue(e.ctx, "kvall-1", "b", 0); err != nil {
			t.Fatal(err)
		}
		kv, err := e.client.GetKVAllValues(e.ctx, "kvall-1")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(map[string]string{"a": "1", "b": "two"}, kv); d != "" {
			t.Fatalf("KV while running (-want +got):\n%s", d)
		}
		if err := e.client.RaiseEvent(e.ctx, "kvall-1", "clear", nil); err != nil {
			t.Fatal(err)
		}
		completed(t, e.wait("kvall-1"), `null`)
		kv, err = e.client.GetKVAllValues(e.ctx, "kvall-1")
		if err != nil || kv == nil || len(kv) != 0 {
			t.Fatalf("KV after ClearAllKVValues: %v %v", kv, err)
		}
		if _, err := e.client.GetKVAllValues(e.ctx, "nobody"); !errors.Is(err, duroxide.ErrNotFound) {
			t.Fatalf("unknown instance: %v", err)
		}
	})
}
