package yield

import "time"

// Await yields t and decodes its result into a T. A yield.Value target passes through.
func Await[T any](ctx *Ctx, t Task) (T, error) {
	var out T
	v, err := ctx.Yield(t)
	if err != nil {
		return out, err
	}
	if err := v.Decode(&out); err != nil {
		return out, err
	}
	return out, nil
}

// Result is the outcome of one task of AwaitAll: its value, or the error it failed with.
type Result struct {
	Value Value
	Err   error
}

// AwaitAll yields All(tasks...) and returns one Result per task, in argument order. The
// error is non-nil only for a structural problem; task failures are in each Result.
func AwaitAll(ctx *Ctx, tasks ...Task) ([]Result, error) {
	out := ctx.await(ctx.All(tasks...))
	if out.err != nil {
		return nil, out.err
	}
	res := make([]Result, len(out.items))
	for i, it := range out.items {
		res[i] = Result{Value: it.value, Err: it.err}
	}
	return res, nil
}

// AwaitRace yields Race(a, b) and returns the winner's index and value; err is the
// winner's failure (or a structural problem, with index -1).
func AwaitRace(ctx *Ctx, a, b Task) (index int, v Value, err error) {
	out := ctx.await(ctx.Race(a, b))
	if out.err != nil {
		return -1, Value{}, out.err
	}
	return out.index, out.inner.value, out.inner.err
}

// Now yields UtcNow and returns it as a time.Time in UTC.
func Now(ctx *Ctx) (time.Time, error) {
	ms, err := Await[int64](ctx, ctx.UtcNow())
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(ms).UTC(), nil
}
