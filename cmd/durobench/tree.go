package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

// The tree workload has go-workflows' bench shape: a node above the last level starts
// fanout child nodes one level down; a node of the last level (depth 0) starts
// leaffanout leaves; a leaf runs its activities in parallel. Every node returns the
// bytes its subtree's activities returned, so the root's output checks the whole tree.

// treeInput is the input of every tree node and leaf.
type treeInput struct {
	Depth      int `json:"depth"`
	Fanout     int `json:"fanout"`
	LeafFanout int `json:"leaffanout"`
	Activities int `json:"activities"`
	ResultSize int `json:"resultsize"`
}

var treeWorkload = workload{
	params: func(c *config) []kv {
		return []kv{kvInt("runs", c.runs), kvInt("depth", c.depth), kvInt("fanout", c.fanout),
			kvInt("leaffanout", c.leafFanout), kvInt("activities", c.activities), kvInt("resultsize", c.resultSize)}
	},
	register: func(rt *duroxide.Runtime, _ *config) error {
		if err := rt.RegisterActivity("TreePayload", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			var n int
			if err := in.Decode(&n); err != nil {
				return nil, err
			}
			return strings.Repeat("x", n), nil
		}); err != nil {
			return err
		}
		if err := rt.RegisterOrchestration("TreeNode", treeNode); err != nil {
			return err
		}
		return rt.RegisterOrchestration("TreeLeaf", treeLeaf)
	},
	run: runTree,
}

func treeNode(ctx *yield.Ctx, in yield.Value) (any, error) {
	var t treeInput
	if err := in.Decode(&t); err != nil {
		return nil, err
	}
	var children []yield.Task
	if t.Depth > 0 {
		child := t
		child.Depth--
		for range t.Fanout {
			children = append(children, ctx.ScheduleSubOrchestration("TreeNode", child))
		}
	} else {
		for range t.LeafFanout {
			children = append(children, ctx.ScheduleSubOrchestration("TreeLeaf", t))
		}
	}
	sizes, err := yield.AwaitAllOf[int](ctx, children...)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, s := range sizes {
		total += s
	}
	return total, nil
}

func treeLeaf(ctx *yield.Ctx, in yield.Value) (any, error) {
	var t treeInput
	if err := in.Decode(&t); err != nil {
		return nil, err
	}
	tasks := make([]yield.Task, t.Activities)
	for i := range tasks {
		tasks[i] = ctx.ScheduleActivity("TreePayload", t.ResultSize)
	}
	results, err := yield.AwaitAllOf[string](ctx, tasks...)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, r := range results {
		total += len(r)
	}
	return total, nil
}

// treeShape counts the orchestrations (root included) and activities of one root.
func treeShape(c *config) (orchestrations, activities int64) {
	level := int64(1)
	orchestrations = 1
	for range c.depth {
		level *= int64(c.fanout)
		orchestrations += level
	}
	leaves := level * int64(c.leafFanout)
	return orchestrations + leaves, leaves * int64(c.activities)
}

func runTree(ctx context.Context, b *bench) (result, error) {
	c := b.cfg
	in := treeInput{Depth: c.depth, Fanout: c.fanout, LeafFanout: c.leafFanout, Activities: c.activities, ResultSize: c.resultSize}
	t0 := time.Now()
	for i := range c.runs {
		if err := b.client.StartOrchestration(ctx, fmt.Sprintf("tree-%d", i), "TreeNode", in); err != nil {
			return result{}, err
		}
	}
	orchs, acts := treeShape(c)
	want := acts * int64(c.resultSize)
	for i := range c.runs {
		id := fmt.Sprintf("tree-%d", i)
		res, err := b.client.WaitForOrchestration(ctx, id, 0)
		if err != nil {
			return result{}, err
		}
		var got int64
		if res.Status != duroxide.StatusCompleted {
			return result{}, fmt.Errorf("%s: %s %s", id, res.Status, res.Error)
		}
		if err := res.Output.Decode(&got); err != nil || got != want {
			return result{}, fmt.Errorf("%s returned %s, want %d bytes", id, res.Output, want)
		}
	}
	elapsed := time.Since(t0)
	return result{elapsed: elapsed, orchestrations: orchs * int64(c.runs), activities: acts * int64(c.runs)}, nil
}
