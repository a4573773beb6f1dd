package coro_test

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/coro"
)

type intCoro = coro.Coroutine[int, int]

// noLeaks records the goroutine count and, when the test ends, waits a few seconds at
// most for it to come back down, failing the test with a dump of goroutines otherwise.
func noLeaks(t *testing.T) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > base {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Fatalf("goroutines: %d, want %d\n%s", runtime.NumGoroutine(), base, buf)
			}
			runtime.Gosched()
			time.Sleep(time.Millisecond)
		}
	})
}

func TestPingPong(t *testing.T) {
	noLeaks(t)
	const n = 100
	var received []int
	sum := 0
	c := coro.New(func(c *intCoro) {
		for i := 1; i <= n; i++ {
			r := c.Yield(i)
			received = append(received, r)
			sum += r
		}
	})
	var yielded, sent []int
	y, ok := c.Resume(-1) // ignored: starts the body
	for ok {
		yielded = append(yielded, y)
		r := y * 10
		sent = append(sent, r)
		y, ok = c.Resume(r)
	}
	want := make([]int, n)
	for i := range want {
		want[i] = i + 1
	}
	if !slices.Equal(yielded, want) {
		t.Errorf("yielded %v, want %v", yielded, want)
	}
	if !slices.Equal(received, sent) {
		t.Errorf("body received %v, driver sent %v", received, sent)
	}
	if sum != 10*n*(n+1)/2 {
		t.Errorf("sum = %d", sum)
	}
	if !c.Done() || c.Err() != nil {
		t.Errorf("Done = %v, Err = %v; want true, nil", c.Done(), c.Err())
	}
}

func TestImmediateReturn(t *testing.T) {
	noLeaks(t)
	ran := false
	c := coro.New(func(*intCoro) { ran = true })
	if c.Done() {
		t.Fatal("Done before the first Resume")
	}
	if ran {
		t.Fatal("body ran before the first Resume")
	}
	if y, ok := c.Resume(0); ok || y != 0 {
		t.Fatalf("Resume = %d, %v; want 0, false", y, ok)
	}
	if !ran || !c.Done() || c.Err() != nil {
		t.Fatalf("ran = %v, Done = %v, Err = %v; want true, true, nil", ran, c.Done(), c.Err())
	}
}

var errBoom = errors.New("boom error")

//go:noinline
func panicWith(v any) { panic(v) }

func TestPanic(t *testing.T) {
	for _, tc := range []struct {
		name    string
		value   any
		message string
	}{
		{"string", "boom", "panic: boom"},
		{"error", errBoom, "panic: boom error"},
		{"wrapped error", fmt.Errorf("ctx: %w", errBoom), "panic: ctx: boom error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			c := coro.New(func(c *intCoro) {
				c.Yield(1)
				panicWith(tc.value)
			})
			c.Resume(0)
			if _, ok := c.Resume(0); ok {
				t.Fatal("Resume reported a yield after the panic")
			}
			if !c.Done() {
				t.Fatal("not Done after the panic")
			}
			var pe *coro.PanicError
			if !errors.As(c.Err(), &pe) {
				t.Fatalf("Err = %#v, want *PanicError", c.Err())
			}
			if pe.Value != tc.value {
				t.Errorf("Value = %v, want %v", pe.Value, tc.value)
			}
			if pe.Error() != tc.message {
				t.Errorf("Error() = %q, want %q", pe.Error(), tc.message)
			}
			if !strings.Contains(string(pe.Stack), "coro_test.panicWith") {
				t.Errorf("stack does not show the panic site:\n%s", pe.Stack)
			}
			_, isErr := tc.value.(error)
			if errors.Is(c.Err(), errBoom) != isErr {
				t.Errorf("errors.Is(Err, errBoom) = %v, want %v", !isErr, isErr)
			}
		})
	}
}

func TestPanicNil(t *testing.T) {
	noLeaks(t)
	c := coro.New(func(*intCoro) { panic(nil) })
	c.Resume(0)
	var pe *coro.PanicError
	var pn *runtime.PanicNilError
	if !errors.As(c.Err(), &pe) || !errors.As(c.Err(), &pn) {
		t.Fatalf("Err = %v, want a *PanicError wrapping *runtime.PanicNilError", c.Err())
	}
}

func TestGoexit(t *testing.T) {
	noLeaks(t)
	deferred := false
	c := coro.New(func(c *intCoro) {
		defer func() { deferred = true }()
		c.Yield(1)
		runtime.Goexit()
	})
	c.Resume(0)
	if _, ok := c.Resume(0); ok {
		t.Fatal("Resume reported a yield after Goexit")
	}
	if !deferred || !c.Done() || !errors.Is(c.Err(), coro.ErrGoexit) {
		t.Fatalf("deferred = %v, Done = %v, Err = %v", deferred, c.Done(), c.Err())
	}
}

func TestAbandonParked(t *testing.T) {
	noLeaks(t)
	var log []string
	var recovered any = "not called"
	after := false
	c := coro.New(func(c *intCoro) {
		defer func() { log = append(log, fmt.Sprint("outer unwinding=", c.Unwinding())) }()
		defer func() {
			recovered = recover()
			log = append(log, "recover")
		}()
		c.Yield(1)
		after = true
	})
	if y, ok := c.Resume(0); !ok || y != 1 {
		t.Fatalf("Resume = %d, %v; want 1, true", y, ok)
	}
	if err := c.Abandon(5 * time.Second); err != nil {
		t.Fatalf("Abandon: %v", err)
	}
	if after {
		t.Error("code after the abandoned Yield ran")
	}
	if recovered != nil {
		t.Errorf("recover() = %v, want nil during Goexit", recovered)
	}
	if want := []string{"recover", "outer unwinding=true"}; !slices.Equal(log, want) {
		t.Errorf("deferred calls %q, want %q", log, want)
	}
	if !c.Done() || c.Unwinding() || !errors.Is(c.Err(), coro.ErrAbandoned) {
		t.Errorf("Done = %v, Unwinding = %v, Err = %v", c.Done(), c.Unwinding(), c.Err())
	}
}

func TestAbandonYieldInDefer(t *testing.T) {
	noLeaks(t)
	var log []string
	c := coro.New(func(c *intCoro) {
		defer func() { log = append(log, "outer") }()
		defer func() {
			log = append(log, "inner before")
			c.Yield(2) // Goexit again, from a deferred call during Goexit
			log = append(log, "inner after")
		}()
		defer func() { log = append(log, "first") }()
		c.Yield(1)
		log = append(log, "after yield")
	})
	c.Resume(0)
	if err := c.Abandon(5 * time.Second); err != nil {
		t.Fatalf("Abandon: %v", err)
	}
	if want := []string{"first", "inner before", "outer"}; !slices.Equal(log, want) {
		t.Errorf("log %q, want %q", log, want)
	}
	if !errors.Is(c.Err(), coro.ErrAbandoned) {
		t.Errorf("Err = %v, want ErrAbandoned", c.Err())
	}
}

func TestAbandonPanicInDefer(t *testing.T) {
	noLeaks(t)
	outer := false
	c := coro.New(func(c *intCoro) {
		defer func() { outer = true }()
		defer panicWith("cleanup failed")
		c.Yield(1)
	})
	c.Resume(0)
	err := c.Abandon(5 * time.Second)
	var pe *coro.PanicError
	if !errors.As(err, &pe) || pe.Value != "cleanup failed" {
		t.Fatalf("Abandon = %v, want *PanicError", err)
	}
	if c.Err() != err {
		t.Errorf("Err = %v, want %v", c.Err(), err)
	}
	if !outer || !c.Done() {
		t.Errorf("outer defer ran = %v, Done = %v", outer, c.Done())
	}
}

func TestAbandonStuck(t *testing.T) {
	noLeaks(t)
	release := make(chan struct{})
	finished := make(chan struct{})
	c := coro.New(func(c *intCoro) {
		defer close(finished)
		defer func() { <-release }()
		c.Yield(1)
	})
	c.Resume(0)
	err := c.Abandon(10 * time.Millisecond)
	if !errors.Is(err, coro.ErrStuck) {
		t.Fatalf("Abandon = %v, want ErrStuck", err)
	}
	if !c.Done() || !errors.Is(c.Err(), coro.ErrAbandoned) {
		t.Errorf("Done = %v, Err = %v; want true, ErrAbandoned", c.Done(), c.Err())
	}
	if _, ok := c.Resume(0); ok {
		t.Error("Resume yielded on a stuck coroutine")
	}
	if err := c.Abandon(time.Second); err != nil {
		t.Errorf("second Abandon = %v, want nil", err)
	}
	close(release)
	<-finished
	// noLeaks checks that the goroutine exits.
}

func TestAbandonNeverStarted(t *testing.T) {
	noLeaks(t)
	base := runtime.NumGoroutine()
	ran := false
	c := coro.New(func(*intCoro) { ran = true })
	if err := c.Abandon(time.Second); err != nil {
		t.Fatalf("Abandon: %v", err)
	}
	if n := runtime.NumGoroutine(); n != base {
		t.Errorf("goroutines %d, want %d", n, base)
	}
	if _, ok := c.Resume(0); ok || ran {
		t.Errorf("Resume after Abandon: yielded = %v, body ran = %v", ok, ran)
	}
	if !c.Done() || !errors.Is(c.Err(), coro.ErrAbandoned) {
		t.Errorf("Done = %v, Err = %v", c.Done(), c.Err())
	}
}

func TestAfterFinish(t *testing.T) {
	isPanic := func(err error) bool { var pe *coro.PanicError; return errors.As(err, &pe) }
	is := func(target error) func(error) bool { return func(err error) bool { return err == target } }
	resume := func(c *intCoro) { c.Resume(0) }
	for _, tc := range []struct {
		name  string
		body  func(*intCoro)
		end   func(*intCoro)
		errOK func(error) bool
	}{
		{"return", func(c *intCoro) { c.Yield(1) }, resume, is(nil)},
		{"panic", func(c *intCoro) { c.Yield(1); panic("x") }, resume, isPanic},
		{"goexit", func(c *intCoro) { c.Yield(1); runtime.Goexit() }, resume, is(coro.ErrGoexit)},
		{"abandon", func(c *intCoro) { c.Yield(1) }, func(c *intCoro) { c.Abandon(time.Second) }, is(coro.ErrAbandoned)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			c := coro.New(tc.body)
			c.Resume(0)
			tc.end(c)
			err := c.Err()
			if !c.Done() || !tc.errOK(err) {
				t.Fatalf("Done = %v, Err = %v", c.Done(), err)
			}
			if y, ok := c.Resume(7); ok || y != 0 {
				t.Errorf("Resume = %d, %v; want 0, false", y, ok)
			}
			if e := c.Abandon(time.Second); e != nil {
				t.Errorf("Abandon = %v, want nil", e)
			}
			if c.Err() != err {
				t.Errorf("Err changed from %v to %v", err, c.Err())
			}
		})
	}
}

// foreignYield calls c.Yield on a new goroutine and returns what it panicked with.
func foreignYield(c *intCoro) any {
	res := make(chan any)
	go func() {
		defer func() { res <- recover() }()
		c.Yield(99)
	}()
	return <-res
}

func TestForeignYield(t *testing.T) {
	noLeaks(t)
	var got []int
	c := coro.New(func(c *intCoro) {
		got = append(got, c.Yield(1))
		got = append(got, c.Yield(2))
	})
	check := func(when string) {
		t.Helper()
		v := foreignYield(c)
		err, _ := v.(error)
		if !errors.Is(err, coro.ErrForeignYield) {
			t.Fatalf("%s: foreign Yield panicked with %v, want ErrForeignYield", when, v)
		}
		if !strings.HasPrefix(err.Error(), "coro: Yield called outside the coroutine's own turn") {
			t.Errorf("%s: message %q", when, err)
		}
	}
	check("before start")
	if y, ok := c.Resume(0); !ok || y != 1 {
		t.Fatalf("Resume = %d, %v; want 1, true", y, ok)
	}
	check("parked")
	if y, ok := c.Resume(10); !ok || y != 2 {
		t.Fatalf("Resume = %d, %v; want 2, true", y, ok)
	}
	check("parked again")
	if _, ok := c.Resume(20); ok {
		t.Fatal("Resume yielded after the body should have returned")
	}
	check("finished")
	if !slices.Equal(got, []int{10, 20}) || c.Err() != nil {
		t.Fatalf("body received %v, Err = %v", got, c.Err())
	}
}

func TestMisuseFromBody(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func(*intCoro)
		want string
	}{
		{"Resume", func(c *intCoro) { c.Resume(0) }, "coro: Resume called while the coroutine is running"},
		{"Abandon", func(c *intCoro) { c.Abandon(time.Second) }, "coro: Abandon called while the coroutine is running"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			c := coro.New(tc.call)
			c.Resume(0)
			var pe *coro.PanicError
			if !errors.As(c.Err(), &pe) || !strings.HasPrefix(fmt.Sprint(pe.Value), tc.want) {
				t.Fatalf("Err = %v, want a panic starting with %q", c.Err(), tc.want)
			}
		})
	}
}
