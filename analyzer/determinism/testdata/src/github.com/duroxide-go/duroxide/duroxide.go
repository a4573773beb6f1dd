// Package duroxide is a stub of github.com/duroxide-go/duroxide with the names the
// analyzer tests use.
package duroxide

import "github.com/duroxide-go/duroxide/yield"

type Runtime struct{}

type ActivityContext struct{}

type Activity func(ctx *ActivityContext, input yield.Value) (any, error)

func (rt *Runtime) RegisterActivity(name string, fn Activity) error { return nil }

func (rt *Runtime) RegisterOrchestration(name string, fn yield.Orchestration) error { return nil }

func (rt *Runtime) RegisterOrchestrationVersioned(name, version string, fn yield.Orchestration) error {
	return nil
}

func RegisterOrchestrationTyped[In, Out any](rt *Runtime, name string, fn func(ctx *yield.Ctx, in In) (Out, error)) error {
	return nil
}

func RegisterOrchestrationVersionedTyped[In, Out any](rt *Runtime, name, version string, fn func(ctx *yield.Ctx, in In) (Out, error)) error {
	return nil
}

func RegisterActivityTyped[In, Out any](rt *Runtime, name string, fn func(ctx *ActivityContext, in In) (Out, error)) error {
	return nil
}
