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

// AwaitAllOf yields All(tasks...) and decodes every result into a T, in argument order
// (Python's all_typed). It returns the first failure in argument order, if any task
// failed, or the first value that does not decode into a T; the whole All has run by
// then, so no task is left behind.
func AwaitAllOf[T any](ctx *Ctx, tasks ...Task) ([]T, error) {
	rs, err := AwaitAll(ctx, tasks...)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(rs))
	for i, r := range rs {
		if r.Err != nil {
			return nil, r.Err
		}
		if err := r.Value.Decode(&out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// AwaitRaceOf yields Race(a, b) and decodes the winner's value into a T (Python's
// race_typed). err is the winner's failure, a value that does not decode, or a
// structural problem (index -1).
func AwaitRaceOf[T any](ctx *Ctx, a, b Task) (index int, v T, err error) {
	index, raw, err := AwaitRace(ctx, a, b)
	if err != nil {
		return index, v, err
	}
	if err := raw.Decode(&v); err != nil {
		return index, v, err
	}
	return index, v, nil
}
