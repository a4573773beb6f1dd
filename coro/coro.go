// Package coro provides a coroutine built on a goroutine and a strict hand-off:
// orchestration code runs as the body of a coroutine and blocks in Yield, while a
// driver resumes it with a value and blocks until the next Yield or the end of the body.
// Exactly one side runs at a time, so driver and body can share state without locks.
package coro

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"
)

var (
	// ErrGoexit is the Err of a body that called runtime.Goexit itself (for example
	// through t.FailNow), which is neither a normal return nor a panic.
	ErrGoexit = errors.New("coro: body called runtime.Goexit")
	// ErrAbandoned is the Err of a coroutine that was unwound by Abandon instead of
	// running to its end.
	ErrAbandoned = errors.New("coro: coroutine abandoned")
	// ErrStuck is wrapped by the error Abandon returns when deferred calls in the body
	// did not finish within the grace period; the goroutine is then leaked.
	ErrStuck = errors.New("coro: abandoned coroutine did not unwind in time")
	// ErrForeignYield is wrapped by the panic value of a Yield made outside the
	// coroutine's turn, which would otherwise corrupt the hand-off.
	ErrForeignYield = errors.New("coro: Yield called outside the coroutine's own turn")
)

// States of a coroutine. Transitions: new→running (first Resume) or new→done (Abandon);
// running→parked (Yield); parked→running (Resume) or parked→unwinding (Abandon);
// running→detached (ResumeTimeout gave up on the body); running, unwinding or
// detached→done (the body's goroutine ends).
const (
	stateNew int32 = iota
	stateRunning
	stateParked
	stateUnwinding
	stateDetached
	stateDone
)

var stateNames = [...]string{"not started", "running", "parked", "unwinding", "detached", "finished"}

// Coroutine runs a body on its own goroutine in strict alternation with its driver.
// Y is what the body yields to the driver, R is what the driver sends back.
// The zero value is not usable; create coroutines with New.
type Coroutine[Y, R any] struct {
	body func(*Coroutine[Y, R])

	// state is atomic so that illegal calls from other goroutines are detected without
	// a data race; the legitimate path is ordered by the channel hand-off.
	state atomic.Int32

	resume chan R // driver → body; closed by Abandon to unwind the body
	yield  chan Y // body → driver; closed when the body's goroutine ends

	exit error // how the body ended; written by the body's goroutine before closing yield
	err  error // how the body ended as seen by the driver; written only by the driver

	timer *time.Timer // ResumeTimeout's, reused; driver only
	label string      // profiler label value of the body's goroutine when traced, else ""

	// stackMark is an address inside the body goroutine's stack near its top, for
	// OnOwnGoroutine's fast check; it is moved when the stack is.
	stackMark atomic.Uintptr
}

// labelKey is the profiler label that marks a traced body's goroutine, so that Stack
// can find it among all goroutines.
const labelKey = "duroxide_coroutine"

var nextLabel atomic.Uint64

// New creates a coroutine parked before body starts; nothing runs, and no goroutine
// exists, until the first Resume, so creating a coroutine is cheap.
// body receives the coroutine so it can call Yield.
func New[Y, R any](body func(c *Coroutine[Y, R])) *Coroutine[Y, R] {
	if body == nil {
		panic("coro: New called with a nil body")
	}
	return &Coroutine[Y, R]{body: body}
}

// Resume transfers control to the body and blocks until it yields (returning y, true)
// or finishes (returning the zero Y, false). The first call starts the body and r is
// ignored; later calls make the pending Yield return r. Resume on a finished or
// abandoned coroutine returns the zero Y, false.
//
// Resume must be called by one driver at a time and never from inside the body; a
// call made while the body is running panics, which catches both misuses in most cases.
func (c *Coroutine[Y, R]) Resume(r R) (y Y, yielded bool) {
	switch {
	case c.state.CompareAndSwap(stateParked, stateRunning):
		c.resume <- r
	case c.state.CompareAndSwap(stateNew, stateRunning):
		c.resume = make(chan R)
		c.yield = make(chan Y)
		go c.run()
	default:
		if c.state.Load() == stateRunning {
			panic("coro: Resume called while the coroutine is running (from inside its body or concurrently)")
		}
		return y, false
	}
	y, yielded = <-c.yield
	if !yielded {
		c.err = c.exit
	}
	return y, yielded
}

// run is the body's goroutine. It records how the body ended and then closes the
// yield channel, which both publishes the outcome and releases the driver.
func (c *Coroutine[Y, R]) run() {
	returned := false
	defer func() {
		if !returned {
			// A normal return sets returned first, so here the body either panicked
			// (recover is non-nil, even for panic(nil) since Go 1.21) or is in Goexit.
			if v := recover(); v != nil {
				c.exit = &PanicError{Value: v, Stack: debug.Stack()}
			} else if s := c.state.Load(); s == stateUnwinding || s == stateDetached {
				c.exit = ErrAbandoned
			} else {
				c.exit = ErrGoexit
			}
		}
		c.state.Store(stateDone)
		close(c.yield)
	}()
	if c.label != "" {
		pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels(labelKey, c.label)))
	}
	var mark byte
	c.stackMark.Store(uintptr(unsafe.Pointer(&mark)))
	c.body(c)
	returned = true
}

// Yield hands y to the driver and blocks until the next Resume, returning its value.
//
// If the coroutine is being abandoned, Yield never returns: it calls runtime.Goexit so
// the body unwinds with its deferred calls running. Goexit, unlike a panic, cannot be
// stopped by a recover in user code. A deferred call that yields during the unwind
// simply continues the Goexit.
//
// Yield called when the coroutine is not running (before it starts, while it is parked,
// or after it finished) panics with an error wrapping ErrForeignYield and leaves the
// coroutine intact. A call from another goroutine while the body is running cannot be
// detected cheaply and breaks the hand-off; only the body's own goroutine may yield.
func (c *Coroutine[Y, R]) Yield(y Y) R {
	if !c.state.CompareAndSwap(stateRunning, stateParked) {
		s := c.state.Load()
		if s == stateUnwinding || s == stateDetached {
			runtime.Goexit()
		}
		panic(fmt.Errorf("%w (coroutine is %s)", ErrForeignYield, stateNames[s]))
	}
	c.yield <- y
	r, ok := <-c.resume
	if !ok {
		runtime.Goexit() // closed by Abandon
	}
	return r
}

// Done reports whether the body has finished: returned, panicked, exited or was
// abandoned. The driver uses it to know that further Resume calls are pointless.
func (c *Coroutine[Y, R]) Done() bool {
	return c.state.Load() >= stateUnwinding
}

// Err reports how the body ended, so the driver can tell a result from a failure: nil
// for a normal return or while the body has not finished, a *PanicError when it
// panicked, ErrGoexit when it called runtime.Goexit itself, ErrAbandoned when it was
// abandoned. Call it from the driver, not concurrently with Resume or Abandon.
func (c *Coroutine[Y, R]) Err() error {
	return c.err
}

// Unwinding reports whether the coroutine is being abandoned (or was detached by
// ResumeTimeout), so that deferred code in the body can skip work that only makes
// sense in a live execution.
func (c *Coroutine[Y, R]) Unwinding() bool {
	s := c.state.Load()
	return s == stateUnwinding || s == stateDetached
}

// Running reports whether the body holds control: it was resumed and has not yielded or
// finished since. Orchestration code may only yield while its coroutine is running.
func (c *Coroutine[Y, R]) Running() bool {
	return c.state.Load() == stateRunning
}

// ownStackWindow is how far below stackMark a frame of the body may sit for the fast
// check: half the smallest goroutine stack, so that no other goroutine's stack can
// overlap the window while the body's stack stays where it is.
const ownStackWindow = 4096

// OnOwnGoroutine reports whether the caller runs on a coroutine body's goroutine, so
// that code can refuse a Yield from a goroutine the body started. The common case costs
// a comparison: the caller's frame lies just below the body's stack mark. Otherwise
// (a deep or moved stack) it walks the caller's stack looking for a coroutine's entry
// frame, and on success moves the mark there. It never reports false for a body's own
// goroutine; it may, rarely, report true for a goroutine whose stack reuses the memory
// of the body's old, moved stack.
func (c *Coroutine[Y, R]) OnOwnGoroutine() bool {
	var here byte
	h := uintptr(unsafe.Pointer(&here))
	if m := c.stackMark.Load(); h <= m && m-h < ownStackWindow {
		return true
	}
	if !onCoroutineStack() {
		return false
	}
	c.stackMark.Store(h + ownStackWindow/2)
	return true
}

// onCoroutineStack reports whether the calling goroutine runs a coroutine body: its
// stack holds this package's run.
func onCoroutineStack() bool {
	var pcs [64]uintptr
	for skip := 2; ; skip += len(pcs) {
		n := runtime.Callers(skip, pcs[:])
		frames := runtime.CallersFrames(pcs[:n])
		for {
			f, more := frames.Next()
			if strings.HasPrefix(f.Function, "github.com/duroxide-go/duroxide/coro.(*Coroutine[") && strings.HasSuffix(f.Function, "]).run") {
				return true
			}
			if !more {
				break
			}
		}
		if n < len(pcs) {
			return false
		}
	}
}

// Detached reports whether ResumeTimeout gave up on the body. Call it from the driver.
func (c *Coroutine[Y, R]) Detached() bool {
	return c.err == ErrStuckRunning
}

// ErrStuckRunning is the Err of a coroutine that ResumeTimeout detached because its body
// neither yielded nor finished in time.
var ErrStuckRunning = errors.New("coro: body neither yielded nor finished in time")

// Trace marks the body's goroutine with a profiler label when it starts, so that Stack
// can find it later. Call it before the first Resume; it costs a little at start only.
func (c *Coroutine[Y, R]) Trace() {
	if c.state.Load() == stateNew && c.label == "" {
		c.label = strconv.FormatUint(nextLabel.Add(1), 10)
	}
}

// ResumeTimeout is Resume bounded by timeout. If the body neither yields nor finishes
// within timeout, it returns stuck true and detaches the coroutine: Go cannot stop a
// goroutine, so the body keeps running, but its next Yield unwinds it (runtime.Goexit)
// and nothing it does reaches the driver again. Err then reports ErrStuckRunning, Done
// is true, and Abandon returns nil. A timeout <= 0 waits without bound, like Resume.
func (c *Coroutine[Y, R]) ResumeTimeout(r R, timeout time.Duration) (y Y, yielded, stuck bool) {
	if timeout <= 0 {
		y, yielded = c.Resume(r)
		return y, yielded, false
	}
	switch {
	case c.state.CompareAndSwap(stateParked, stateRunning):
		c.resume <- r
	case c.state.CompareAndSwap(stateNew, stateRunning):
		c.resume = make(chan R)
		c.yield = make(chan Y)
		go c.run()
	default:
		if c.state.Load() == stateRunning {
			panic("coro: ResumeTimeout called while the coroutine is running (from inside its body or concurrently)")
		}
		return y, false, false
	}
	if c.timer == nil {
		c.timer = time.NewTimer(timeout)
	} else {
		c.timer.Reset(timeout)
	}
	select {
	case y, yielded = <-c.yield:
		c.timer.Stop()
	case <-c.timer.C:
		if c.state.CompareAndSwap(stateRunning, stateDetached) {
			c.err = ErrStuckRunning
			return y, false, true
		}
		// The body yielded or finished just now: take its hand-off as usual.
		y, yielded = <-c.yield
	}
	if !yielded {
		c.err = c.exit
	}
	return y, yielded, false
}

// Stack returns the current stack of the body's goroutine, or nil when it cannot be
// found: the coroutine was not traced (Trace), or its goroutine has ended. It stops the
// world briefly; use it for diagnostics only, such as reporting a stuck body.
func (c *Coroutine[Y, R]) Stack() []byte {
	if c.label == "" {
		return nil
	}
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		return nil
	}
	want := []byte(fmt.Sprintf("%q:%q", labelKey, c.label))
	for _, rec := range bytes.Split(buf.Bytes(), []byte("\n\n")) {
		// Goroutines the body started inherit its label: take the body's own, whose
		// stack holds this package's run.
		if bytes.Contains(rec, want) && bytes.Contains(rec, []byte("coro.(*Coroutine[")) {
			return rec
		}
	}
	return nil
}

// Abandon unwinds a coroutine that will never be resumed again, so that its goroutine
// does not leak. A coroutine parked at a Yield has that Yield call runtime.Goexit: its
// deferred calls run and the goroutine exits. A coroutine that never started is simply
// marked finished; its body never runs. Abandon on a finished coroutine returns nil.
//
// Abandon waits at most grace for the deferred calls to finish. If they take longer it
// returns an error wrapping ErrStuck and the goroutine is left to finish (or leak) on
// its own, so the caller can count it. If a deferred call panics during the unwind, the
// panic is recovered and returned as a *PanicError, which Err also reports; otherwise
// Abandon returns nil and Err reports ErrAbandoned.
//
// Abandon is only legal while the driver holds control, that is between Resume calls;
// called while the body is running (for example from inside the body) it panics.
func (c *Coroutine[Y, R]) Abandon(grace time.Duration) error {
	switch {
	case c.state.CompareAndSwap(stateNew, stateDone):
		c.err = ErrAbandoned
		return nil
	case c.state.CompareAndSwap(stateParked, stateUnwinding):
	default:
		if c.state.Load() == stateRunning {
			panic("coro: Abandon called while the coroutine is running")
		}
		return nil // finished, or already abandoned and stuck
	}
	close(c.resume)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-c.yield: // closed once the goroutine has ended; Yield never sends while unwinding
		c.err = c.exit
		if c.err == ErrAbandoned {
			return nil
		}
		return c.err
	case <-t.C:
		c.err = ErrAbandoned
		return fmt.Errorf("%w (grace %v)", ErrStuck, grace)
	}
}

// PanicError records a panic in the body, recovered on the coroutine's goroutine so the
// driver can report it instead of the whole process crashing.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
	// Stack is the body goroutine's stack at the panic site, for diagnostics.
	Stack []byte
}

// Error returns "panic: " followed by the panic value; the stack is kept in Stack so
// that error messages stay one line.
func (e *PanicError) Error() string {
	return fmt.Sprintf("panic: %v", e.Value)
}

// Unwrap returns the panic value if it is an error, so errors.Is and errors.As see
// through the panic.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
