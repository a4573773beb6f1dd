package duroxide_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

type order struct {
	ID    int64    `json:"id"`
	Items []string `json:"items"`
	Total float64  `json:"total"`
}

type receipt struct {
	OrderID int64  `json:"order_id"`
	Count   int    `json:"count"`
	Note    string `json:"note"`
}

func TestTypedRegistrationRoundTrip(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		if err := duroxide.RegisterActivityTyped(e.rt, "Bill", func(_ *duroxide.ActivityContext, o order) (receipt, error) {
			return receipt{OrderID: o.ID, Count: len(o.Items), Note: "billed " + strings.Join(o.Items, ",")}, nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := duroxide.RegisterOrchestrationTyped(e.rt, "Checkout", func(ctx *yield.Ctx, o order) (receipt, error) {
			r, err := yield.Await[receipt](ctx, ctx.ScheduleActivity("Bill", o))
			if err != nil {
				return receipt{}, err
			}
			ctx.SetKVValue("last", `{"order_id":`+"9007199254740993"+`}`)
			return r, nil
		}); err != nil {
			t.Fatal(err)
		}
		e.start()
		// 2^53+1 must stay exact through every hop.
		in := order{ID: 9007199254740993, Items: []string{"a", "b"}, Total: 1.5}
		if err := e.client.StartOrchestration(e.ctx, "typed-1", "Checkout", in); err != nil {
			t.Fatal(err)
		}
		got, err := duroxide.WaitForOrchestrationAs[receipt](e.ctx, e.client, "typed-1", 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got != (receipt{OrderID: 9007199254740993, Count: 2, Note: "billed a,b"}) {
			t.Fatalf("%+v", got)
		}
		kv, ok, err := duroxide.KVValueAs[map[string]int64](context.Background(), e.client, "typed-1", "last")
		if err != nil || !ok || kv["order_id"] != 9007199254740993 {
			t.Fatalf("KVValueAs: %v %v %v", kv, ok, err)
		}
		// An input that does not decode fails the instance clearly.
		if err := e.client.StartOrchestration(e.ctx, "typed-2", "Checkout", "not an order"); err != nil {
			t.Fatal(err)
		}
		if _, err := duroxide.WaitForOrchestrationAs[receipt](e.ctx, e.client, "typed-2", 30*time.Second); err == nil || !strings.Contains(err.Error(), `orchestration "Checkout" input`) {
			t.Fatalf("bad input: %v", err)
		}
	})
}
