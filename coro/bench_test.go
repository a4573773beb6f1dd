package coro_test

import (
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/coro"
)

func BenchmarkResumeYield(b *testing.B) {
	b.ReportAllocs()
	c := coro.New(func(c *intCoro) {
		for v := 0; ; {
			v = c.Yield(v + 1)
		}
	})
	c.Resume(0)
	for b.Loop() {
		c.Resume(1)
	}
	if err := c.Abandon(time.Second); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkCreateRunFinish(b *testing.B) {
	b.ReportAllocs()
	body := func(*intCoro) {}
	for b.Loop() {
		c := coro.New(body)
		if _, ok := c.Resume(0); ok {
			b.Fatal("body yielded")
		}
	}
}

func BenchmarkCreateAbandon(b *testing.B) {
	b.ReportAllocs()
	body := func(c *intCoro) { c.Yield(1) }
	for b.Loop() {
		c := coro.New(body)
		c.Resume(0)
		if err := c.Abandon(time.Second); err != nil {
			b.Fatal(err)
		}
	}
}
