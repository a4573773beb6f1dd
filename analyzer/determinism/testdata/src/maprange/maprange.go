package maprange

import (
	"maps"
	"slices"

	"github.com/duroxide-go/duroxide/yield"
)

func Orch(ctx *yield.Ctx, in yield.Value) (any, error) {
	targets := map[string]int{"a": 1, "b": 2}
	for name := range targets { // want `ranging over a map visits keys in random order, so a replay may decide in another order: range over sorted keys`
		_, _ = ctx.Yield(ctx.ScheduleActivity("Ping", name))
	}
	for k, v := range ctx.GetKVAllValues() { // want `ranging over a map visits keys in random order`
		_, _ = k, v
	}
	for name := range maps.Keys(targets) { // want `maps.Keys yields in random order`
		_ = name
	}
	for name := range slices.Sorted(maps.Keys(targets)) { // sorted: fine
		_, _ = ctx.Yield(ctx.ScheduleActivity("Ping", name))
	}
	for _, k := range ctx.GetKVAllKeys() { // a slice: fine
		_ = k
	}
	return nil, nil
}

// Outside orchestrations map order does not matter.
func Sum(m map[string]int) (n int) {
	for _, v := range m {
		n += v
	}
	return n
}
