package duroxide

import (
	"context"
	"fmt"
	"time"

	"github.com/duroxide-go/duroxide/yield"
)

// RegisterActivityTyped registers an activity whose input and output are Go types: the
// input is decoded from JSON into an In (an input that does not decode fails the
// activity without retries), the Out is encoded as the result.
func RegisterActivityTyped[In, Out any](rt *Runtime, name string, fn func(ctx *ActivityContext, in In) (Out, error)) error {
	if fn == nil {
		return invalid("activity %q: nil function", name)
	}
	return rt.RegisterActivity(name, func(ctx *ActivityContext, input yield.Value) (any, error) {
		var in In
		if err := input.Decode(&in); err != nil {
			return nil, NonRetryable(fmt.Errorf("input: %w", err))
		}
		return fn(ctx, in)
	})
}

// RegisterOrchestrationTyped registers version 1.0.0 of an orchestration whose input and
// output are Go types. An input that does not decode fails the instance.
func RegisterOrchestrationTyped[In, Out any](rt *Runtime, name string, fn func(ctx *yield.Ctx, in In) (Out, error)) error {
	return RegisterOrchestrationVersionedTyped(rt, name, DefaultVersion, fn)
}

// RegisterOrchestrationVersionedTyped is RegisterOrchestrationTyped for a given version.
func RegisterOrchestrationVersionedTyped[In, Out any](rt *Runtime, name, version string, fn func(ctx *yield.Ctx, in In) (Out, error)) error {
	if fn == nil {
		return invalid("orchestration %q: nil function", name)
	}
	return rt.RegisterOrchestrationVersioned(name, version, func(ctx *yield.Ctx, input yield.Value) (any, error) {
		var in In
		if err := input.Decode(&in); err != nil {
			return nil, fmt.Errorf("orchestration %q input: %w", name, err)
		}
		return fn(ctx, in)
	})
}

// WaitForOrchestrationAs waits for the instance and decodes its output into a T. A failed
// instance gives an error with its failure message.
func WaitForOrchestrationAs[T any](ctx context.Context, c *Client, instanceID string, timeout time.Duration) (T, error) {
	res, err := c.WaitForOrchestration(ctx, instanceID, timeout)
	if err != nil {
		var zero T
		return zero, err
	}
	return OutputAs[T](res)
}

// KVValueAs reads key of the instance's KV store and decodes the value (JSON) into a T.
// ok is false when the key is absent.
func KVValueAs[T any](ctx context.Context, c *Client, instanceID, key string) (v T, ok bool, err error) {
	raw, ok, err := c.GetKVValue(ctx, instanceID, key)
	if err != nil || !ok {
		return v, ok, err
	}
	if err := yield.RawValue([]byte(raw)).Decode(&v); err != nil {
		return v, true, fmt.Errorf("%w: kv %q of %q is not JSON for %T: %v", ErrInvalidInput, key, instanceID, v, err)
	}
	return v, true, nil
}
