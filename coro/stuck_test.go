package coro_test

import (
	"bytes"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/coro"
)

//go:noinline
func spinUntil(stop *atomic.Bool) int {
	n := 0
	for !stop.Load() {
		n++
	}
	return n
}

func TestResumeTimeoutDetachesAStuckBody(t *testing.T) {
	base := runtime.NumGoroutine()
	var stop atomic.Bool
	deferred := make(chan struct{})
	c := coro.New(func(c *coro.Coroutine[int, int]) {
		defer close(deferred)
		c.Yield(1)
		spinUntil(&stop)
		c.Yield(2) // detached: unwinds here
		t.Error("Yield returned after the coroutine was detached")
	})
	c.Trace()
	if y, ok, stuck := c.ResumeTimeout(0, time.Second); !ok || stuck || y != 1 {
		t.Fatalf("first resume: %d %v %v", y, ok, stuck)
	}
	_, ok, stuck := c.ResumeTimeout(0, 50*time.Millisecond)
	if ok || !stuck {
		t.Fatalf("second resume: yielded=%v stuck=%v, want stuck", ok, stuck)
	}
	if !c.Done() || !c.Detached() || !errors.Is(c.Err(), coro.ErrStuckRunning) || !c.Unwinding() {
		t.Fatalf("after detaching: done=%v detached=%v err=%v", c.Done(), c.Detached(), c.Err())
	}
	st := c.Stack()
	if !bytes.Contains(st, []byte("spinUntil")) {
		t.Fatalf("stack of the stuck body does not show spinUntil:\n%s", st)
	}
	if _, ok := c.Resume(0); ok {
		t.Fatal("Resume of a detached coroutine yielded")
	}
	if err := c.Abandon(time.Second); err != nil {
		t.Fatalf("Abandon of a detached coroutine: %v", err)
	}
	stop.Store(true)
	<-deferred
	// Wait for the body's own goroutine to be gone (its stack no longer listed) and for
	// the count to be back: the count alone can drop early when another test's goroutine
	// ends in the meantime.
	deadline := time.Now().Add(5 * time.Second)
	for c.Stack() != nil || runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			t.Fatalf("goroutine of the detached body did not end: stack=%q goroutines=%d base=%d",
				c.Stack(), runtime.NumGoroutine(), base)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestResumeTimeoutWithinTime(t *testing.T) {
	c := coro.New(func(c *coro.Coroutine[int, int]) {
		for i := 0; i < 3; i++ {
			c.Yield(i)
		}
	})
	for i := 0; i < 3; i++ {
		if y, ok, stuck := c.ResumeTimeout(0, time.Minute); !ok || stuck || y != i {
			t.Fatalf("resume %d: %d %v %v", i, y, ok, stuck)
		}
	}
	if _, ok, stuck := c.ResumeTimeout(0, time.Minute); ok || stuck || c.Err() != nil {
		t.Fatalf("final resume: %v %v %v", ok, stuck, c.Err())
	}
	if c.Stack() != nil {
		t.Fatal("untraced coroutine has a stack")
	}
	// A timeout of 0 is Resume.
	d := coro.New(func(c *coro.Coroutine[int, int]) { c.Yield(7) })
	if y, ok, _ := d.ResumeTimeout(0, 0); !ok || y != 7 {
		t.Fatalf("timeout 0: %d %v", y, ok)
	}
	_ = d.Abandon(time.Second)
}

//go:noinline
func deepOwn(c *coro.Coroutine[int, int], n int) bool {
	var pad [64]byte
	if n == 0 {
		return c.OnOwnGoroutine() && pad[0] == 0
	}
	return deepOwn(c, n-1)
}

func TestOnOwnGoroutine(t *testing.T) {
	var own, deep, deepAgain, shallowAfter, foreign bool
	c := coro.New(func(c *coro.Coroutine[int, int]) {
		own = c.OnOwnGoroutine()
		deep = deepOwn(c, 2000) // grows (and moves) the stack
		deepAgain = deepOwn(c, 2000)
		c.Yield(1)
		shallowAfter = c.OnOwnGoroutine()
		done := make(chan bool)
		go func() { done <- c.OnOwnGoroutine() }()
		foreign = <-done
	})
	if _, ok := c.Resume(0); !ok {
		t.Fatal("no yield")
	}
	if c.OnOwnGoroutine() {
		t.Error("the driver's goroutine counts as the body's")
	}
	c.Resume(0)
	if !own || !deep || !deepAgain || !shallowAfter {
		t.Errorf("body's own goroutine: shallow %v, deep %v, deep again %v, after a yield %v; want all true", own, deep, deepAgain, shallowAfter)
	}
	if foreign {
		t.Error("a goroutine the body started counts as the body's")
	}
}
