package yield

import (
	"fmt"
	"runtime"
	"slices"
	"sort"

	"github.com/duroxide-go/duroxide/history"
)

// Orchestration is the signature of orchestration code. It runs on its own goroutine and
// blocks in ctx.Yield wherever a Python generator would yield. Its return value is the
// orchestration's output; an error fails it.
type Orchestration func(ctx *Ctx, input Value) (any, error)

// Ctx is what orchestration code touches: it builds tasks, yields them, and reads and
// writes the instance's deterministic state. Each coroutine (the orchestration and every
// block) has its own Ctx; use a Ctx only on the coroutine it was given to.
type Ctx struct {
	ex *Execution
	r  *routine
}

// Yield schedules t, blocks until it finishes, and returns its result. A failed activity
// or child comes back as a *TaskError; a structural problem (an invalid task) as an error
// wrapping ErrInvalidTask. Yielding ContinueAsNew never returns.
func (c *Ctx) Yield(t Task) (Value, error) {
	out := c.await(t)
	return out.value, out.err
}

// await yields t and returns the full outcome, including the winner of a race and the
// items of an All, which typed helpers and retry policies need.
func (c *Ctx) await(t Task) outcome {
	if c.r.co.Unwinding() {
		runtime.Goexit()
	}
	cur := c.ex.current.Load()
	if cur == nil || !cur.co.Running() {
		// No coroutine of the execution holds control, so the caller is none of them: a
		// goroutine the code started. Refuse, and fail the execution at the next step.
		c.ex.foreign.Store(true)
		return outcome{err: ErrForeignGoroutine}
	}
	if cur == c.r && !c.r.co.OnOwnGoroutine() {
		// The coroutine runs, but the caller is a goroutine it started (while it waits
		// for that goroutine, say). Refuse before the hand-off is corrupted.
		c.ex.foreign.Store(true)
		return outcome{err: ErrForeignGoroutine}
	}
	if cur != c.r {
		return outcome{err: ErrWrongCtx}
	}
	if c.ex.abort != nil {
		return outcome{err: ErrAborted}
	}
	return c.r.co.Yield(t)
}

// live reports whether a non-yield ctx call should take effect: not while the coroutine
// is being unwound, nor after the execution has failed.
func (c *Ctx) live() bool {
	return !c.r.co.Unwinding() && c.ex.abort == nil
}

// InstanceID is the id of the orchestration instance.
func (c *Ctx) InstanceID() string { return c.ex.instanceID }

// ExecutionID is the execution number: 1, then +1 on each ContinueAsNew.
func (c *Ctx) ExecutionID() uint64 { return c.ex.executionID }

// OrchestrationName is the registered name of the running orchestration.
func (c *Ctx) OrchestrationName() string { return c.ex.name }

// OrchestrationVersion is the resolved version of the running orchestration.
func (c *Ctx) OrchestrationVersion() string { return c.ex.version }

// IsReplaying reports whether the code is re-executing steps already recorded in history.
func (c *Ctx) IsReplaying() bool { return c.ex.replaying }

// IsContinueAsNewSuggested reports whether the execution's history has passed 80% of its
// size limit; long-running loops should then ContinueAsNew.
func (c *Ctx) IsContinueAsNewSuggested() bool {
	used := max(c.ex.cursor, c.ex.lastMatched+1)
	return used*5 >= c.ex.maxHistory()*4
}

// TraceInfo logs msg at info level unless the code is replaying.
func (c *Ctx) TraceInfo(msg string) { c.trace("info", msg) }

// TraceWarn logs msg at warn level unless the code is replaying.
func (c *Ctx) TraceWarn(msg string) { c.trace("warn", msg) }

// TraceError logs msg at error level unless the code is replaying.
func (c *Ctx) TraceError(msg string) { c.trace("error", msg) }

// TraceDebug logs msg at debug level unless the code is replaying.
func (c *Ctx) TraceDebug(msg string) { c.trace("debug", msg) }

func (c *Ctx) trace(level, msg string) {
	if !c.live() || c.ex.replaying || c.ex.opts.Trace == nil {
		return
	}
	c.ex.opts.Trace(TraceRecord{
		Level: level, Message: msg,
		InstanceID: c.ex.instanceID, ExecutionID: c.ex.executionID,
		OrchestrationName: c.ex.name, OrchestrationVersion: c.ex.version,
	})
}

// clockMs is the deterministic time: the recorded time of the last event applied.
func (c *Ctx) clockMs() int64 { return c.ex.clockMs }

// SetCustomStatus sets the instance's custom status, visible to clients at once after
// the turn commits. The size limit is 256 KiB; a larger status fails the orchestration.
func (c *Ctx) SetCustomStatus(status string) {
	if !c.live() {
		return
	}
	if len(status) > MaxCustomStatusBytes {
		c.ex.failLimit(fmt.Sprintf("Custom status size (%d bytes) exceeds limit (%d bytes)", len(status), MaxCustomStatusBytes))
		return
	}
	s := status
	if _, ok := c.ex.record(history.Event{Kind: history.CustomStatusUpdated, Status: &s}); ok {
		c.ex.customStatus = &s
	}
}

// ResetCustomStatus clears the custom status.
func (c *Ctx) ResetCustomStatus() {
	if !c.live() {
		return
	}
	if _, ok := c.ex.record(history.Event{Kind: history.CustomStatusUpdated}); ok {
		c.ex.customStatus = nil
	}
}

// GetCustomStatus returns the custom status as last set, in this or an earlier turn or
// execution.
func (c *Ctx) GetCustomStatus() (string, bool) {
	if c.ex.customStatus == nil {
		return "", false
	}
	return *c.ex.customStatus, true
}

// SetKVValue writes key in the instance's durable KV store. Limits: 150 keys and 64 KiB
// per value; going over fails the orchestration.
func (c *Ctx) SetKVValue(key, value string) {
	if !c.live() {
		return
	}
	if len(value) > MaxKVValueBytes {
		c.ex.failLimit(fmt.Sprintf("KV value for key '%s' (%d bytes) exceeds limit (%d bytes)", key, len(value), MaxKVValueBytes))
		return
	}
	if _, exists := c.ex.kv[key]; !exists && len(c.ex.kv) >= MaxKVKeys {
		c.ex.failLimit(fmt.Sprintf("KV key count (%d) exceeds limit (%d)", len(c.ex.kv)+1, MaxKVKeys))
		return
	}
	idx, ok := c.ex.record(history.Event{Kind: history.KeyValueSet, Key: key, Value: value})
	if ok {
		c.ex.kv[key] = KVEntry{Value: value, UpdatedAtMs: c.ex.events[idx].TimestampMs}
	}
}

// GetKVValue reads key.
func (c *Ctx) GetKVValue(key string) (string, bool) {
	e, ok := c.ex.kv[key]
	return e.Value, ok
}

// GetKVAllValues returns a copy of the whole KV store.
func (c *Ctx) GetKVAllValues() map[string]string {
	m := make(map[string]string, len(c.ex.kv))
	for k, e := range c.ex.kv {
		m[k] = e.Value
	}
	return m
}

// GetKVAllKeys returns the keys, sorted.
func (c *Ctx) GetKVAllKeys() []string {
	keys := make([]string, 0, len(c.ex.kv))
	for k := range c.ex.kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// GetKVLength returns the number of keys.
func (c *Ctx) GetKVLength() int { return len(c.ex.kv) }

// ClearKVValue removes key.
func (c *Ctx) ClearKVValue(key string) {
	if !c.live() {
		return
	}
	if _, ok := c.ex.record(history.Event{Kind: history.KeyValueCleared, Key: key}); ok {
		delete(c.ex.kv, key)
	}
}

// ClearAllKVValues removes every key.
func (c *Ctx) ClearAllKVValues() {
	if !c.live() {
		return
	}
	if _, ok := c.ex.record(history.Event{Kind: history.KeyValuesCleared}); ok {
		clear(c.ex.kv)
	}
}

// PruneKVValuesUpdatedBefore removes every key last written before cutoffMs (Unix
// milliseconds) and returns how many it removed. Write times come from history, so the
// result is the same on replay.
func (c *Ctx) PruneKVValuesUpdatedBefore(cutoffMs int64) int {
	if !c.live() {
		return 0
	}
	keys := c.GetKVAllKeys()
	keys = slices.DeleteFunc(keys, func(k string) bool { return c.ex.kv[k].UpdatedAtMs >= cutoffMs })
	for _, k := range keys {
		c.ClearKVValue(k)
	}
	return len(keys)
}

// TraceRecord is one log line written by orchestration code.
type TraceRecord struct {
	Level                string
	Message              string
	InstanceID           string
	ExecutionID          uint64
	OrchestrationName    string
	OrchestrationVersion string
}

// Limits enforced by the engine.
const (
	MaxCustomStatusBytes = 256 * 1024
	MaxKVKeys            = 150
	MaxKVValueBytes      = 64 * 1024
	DefaultMaxHistory    = 50_000
	// DefaultMaxPayloadBytes bounds any single payload: an input, an output, an event.
	DefaultMaxPayloadBytes = 16 << 20
)
