// Package yield is a stub of github.com/duroxide-go/duroxide/yield with the names the
// analyzer tests use.
package yield

import "time"

type Ctx struct{}

type Value struct{ raw []byte }

func (v Value) String() string { return string(v.raw) }

type Task struct{}

type Orchestration func(ctx *Ctx, input Value) (any, error)

func (c *Ctx) Yield(t Task) (Value, error)                  { return Value{}, nil }
func (c *Ctx) ScheduleActivity(name string, input any) Task { return Task{} }
func (c *Ctx) ScheduleTimer(d time.Duration) Task           { return Task{} }
func (c *Ctx) WaitForEvent(name string) Task                { return Task{} }
func (c *Ctx) UtcNow() Task                                 { return Task{} }
func (c *Ctx) NewGUID() Task                                { return Task{} }
func (c *Ctx) All(tasks ...Task) Task                       { return Task{} }
func (c *Ctx) Race(a, b Task) Task                          { return Task{} }
func (c *Ctx) Block(fn func(ctx *Ctx) (any, error)) Task    { return Task{} }
func (c *Ctx) TraceInfo(msg string)                         {}
func (c *Ctx) GetKVAllKeys() []string                       { return nil }
func (c *Ctx) GetKVAllValues() map[string]string            { return nil }
func Now(ctx *Ctx) (time.Time, error)                       { return time.Time{}, nil }
func Await[T any](ctx *Ctx, t Task) (T, error)              { var z T; return z, nil }

// AllValues stands for the yield package's own helpers, which the analyzer skips.
func AllValues(ctx *Ctx, m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
