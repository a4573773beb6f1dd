package integration_test

// Ports of tests/test_async_blocks.py of the Python SDK (python-sdk.md §3.5).
//
// The Python SDK cannot put a multi-step branch inside all()/race(), so its tests wrap
// each branch ("block") in a sub-orchestration. Each test is ported twice: as in Python,
// with the sub-orchestrations, and with the suffix _Block, where the same branches run
// as real blocks (ctx.Block) inside All/Race, as the Rust async-block tests the Python
// file was ported from do. Children that are real sub-orchestrations in Python's
// blocks (AB_FastChild, AB_Child, ...) stay sub-orchestrations in both forms.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

// abTimeout is run_orchestration's default wait in the Python file.
const abTimeout = 10 * time.Second

// abPrefixed returns an activity that answers "<prefix>:<input>" (the Python
// `lambda ctx, inp: f"prefix:{inp}"`).
func abPrefixed(prefix string) duroxide.Activity {
	return func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
		return prefix + ":" + in.String(), nil
	}
}

// abStr yields t and returns its value as text: the Python `x = yield task` for string
// results.
func abStr(ctx *yield.Ctx, t yield.Task) (string, error) {
	v, err := ctx.Yield(t)
	if err != nil {
		return "", err
	}
	return v.String(), nil
}

// abSleep yields a timer of ms milliseconds.
func abSleep(ctx *yield.Ctx, ms int) error {
	_, err := ctx.Yield(ctx.ScheduleTimer(time.Duration(ms) * time.Millisecond))
	return err
}

// abWinner formats a race result as the Python f"winner:{index},result:{value}".
func abWinner(ctx *yield.Ctx, a, b yield.Task) (any, error) {
	w, err := bRace(ctx, a, b)
	if err != nil {
		return nil, err
	}
	return fmt.Sprintf("winner:%d,result:%s", w.Index, w.Value.String()), nil
}

// abRaceValue races a and b and returns the winner's value (the Python
// `return winner["value"]` of the inner races).
func abRaceValue(ctx *yield.Ctx, a, b yield.Task) (any, error) {
	w, err := bRace(ctx, a, b)
	if err != nil {
		return nil, err
	}
	return w.Value, nil
}

// abJoin yields All(tasks...) and joins the ok values with commas (the Python
// `",".join([r["ok"] for r in results])`).
func abJoin(ctx *yield.Ctx, tasks ...yield.Task) (any, error) {
	vals, err := bAllOK(ctx, tasks...)
	if err != nil {
		return nil, err
	}
	return strings.Join(vals, ","), nil
}

// abOutput returns the completed string output of res.
func abOutput(t *testing.T, res duroxide.OrchestrationResult) string {
	t.Helper()
	return mustComplete[string](t, res)
}

// abHasPrefix fails the test unless s starts with prefix.
func abHasPrefix(t *testing.T, s, prefix string) {
	t.Helper()
	if !strings.HasPrefix(s, prefix) {
		t.Fatalf("output = %q, want it to start with %q", s, prefix)
	}
}

// abLosersCancelled checks, beyond the Python assertions, that a race cancelled its
// losing sub-orchestrations recursively (DECISIONS 7): every instance under root whose
// orchestration is one of losers ends Failed with error kind cancelled, and losers[0]
// (the direct loser, created in the parent's commit) is among them.
func abLosersCancelled(t *testing.T, s *scenario, root string, losers ...string) {
	t.Helper()
	mustComplete[string](t, s.wait(root, abTimeout))
	tree, err := s.client.GetInstanceTree(s.ctx, root)
	if err != nil {
		t.Fatalf("GetInstanceTree: %v", err)
	}
	seen := map[string]bool{}
	for _, id := range tree.AllIDs[1:] {
		info, err := s.client.GetInstanceInfo(s.ctx, id)
		if err != nil {
			t.Fatalf("GetInstanceInfo(%s): %v", id, err)
		}
		if !slices.Contains(losers, info.OrchestrationName) {
			continue
		}
		seen[info.OrchestrationName] = true
		res := s.wait(id, abTimeout)
		if res.Status != duroxide.StatusFailed || res.ErrorKind != duroxide.ErrorKindCancelled {
			t.Fatalf("losing %s (%s): status %s, kind %q (%s); want Failed, cancelled",
				info.OrchestrationName, id, res.Status, res.ErrorKind, res.Error)
		}
	}
	if !seen[losers[0]] {
		t.Fatalf("no %s instance under %s (tree %v)", losers[0], root, tree.AllIDs)
	}
}

// ─── Test 1: Join with control flow ───

// abJoinControlFlowActivities registers the activities (and real child orchestrations) both forms of the test use.
func abJoinControlFlowActivities(t *testing.T, rt *duroxide.Runtime) {
	activity(t, rt, "Step", abPrefixed("step"))
	activity(t, rt, "Check", abPrefixed("check"))
}

// abBlockA is the Python block AB_JoinBlockA, run as a sub-orchestration or a block.
func abBlockA(ctx *yield.Ctx, _ yield.Value) (any, error) {
	first, err := abStr(ctx, ctx.ScheduleActivity("Step", "A1"))
	if err != nil {
		return nil, err
	}
	second := "skipped"
	if strings.Contains(first, "step") {
		if second, err = abStr(ctx, ctx.ScheduleActivity("Step", "A2")); err != nil {
			return nil, err
		}
	}
	return fmt.Sprintf("A:[%s,%s]", first, second), nil
}

// abBlockB is the Python block AB_JoinBlockB, run as a sub-orchestration or a block.
func abBlockB(ctx *yield.Ctx, _ yield.Value) (any, error) {
	check, err := abStr(ctx, ctx.ScheduleActivity("Check", "B1"))
	if err != nil {
		return nil, err
	}
	results := []string{check}
	for i := 2; i < 4; i++ {
		r, err := abStr(ctx, ctx.ScheduleActivity("Step", fmt.Sprintf("B%d", i)))
		if err != nil {
			return nil, err
		}
		results = append(results, r)
	}
	return fmt.Sprintf("B:[%s]", strings.Join(results, ",")), nil
}

// abBlockC is the Python block AB_JoinBlockC, run as a sub-orchestration or a block.
func abBlockC(ctx *yield.Ctx, _ yield.Value) (any, error) {
	if err := abSleep(ctx, 5); err != nil {
		return nil, err
	}
	result, err := abStr(ctx, ctx.ScheduleActivity("Step", "C1"))
	if err != nil {
		return nil, err
	}
	return fmt.Sprintf("C:[timer,%s]", result), nil
}

// abCheckJoinControlFlow makes the Python test's assertions on the output.
func abCheckJoinControlFlow(t *testing.T, res duroxide.OrchestrationResult) {
	t.Helper()
	out := abOutput(t, res)
	contains(t, "output", out, "A:[step:A1,step:A2]")
	contains(t, "output", out, "B:[check:B1,step:B2,step:B3]")
	contains(t, "output", out, "C:[timer,step:C1]")
}

// test_async_blocks.py::test_async_block_join_with_control_flow
func TestAsyncBlocks_AsyncBlockJoinWithControlFlow(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("AB_JoinBlocks", nil, func(rt *duroxide.Runtime) {
			abJoinControlFlowActivities(t, rt)
			orchestration(t, rt, "AB_JoinBlockA", abBlockA)
			orchestration(t, rt, "AB_JoinBlockB", abBlockB)
			orchestration(t, rt, "AB_JoinBlockC", abBlockC)
			orchestration(t, rt, "AB_JoinBlocks", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abJoin(ctx,
					ctx.ScheduleSubOrchestration("AB_JoinBlockA", nil),
					ctx.ScheduleSubOrchestration("AB_JoinBlockB", nil),
					ctx.ScheduleSubOrchestration("AB_JoinBlockC", nil),
				)
			})
		}, abTimeout, "join-blocks-1")
		abCheckJoinControlFlow(t, res)
	})
}

// test_async_blocks.py::test_async_block_join_with_control_flow, with real blocks
func TestAsyncBlocks_AsyncBlockJoinWithControlFlow_Block(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("AB_JoinBlocks", nil, func(rt *duroxide.Runtime) {
			abJoinControlFlowActivities(t, rt)
			orchestration(t, rt, "AB_JoinBlocks", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abJoin(ctx,
					ctx.Block(func(b *yield.Ctx) (any, error) { return abBlockA(b, yield.Value{}) }),
					ctx.Block(func(b *yield.Ctx) (any, error) { return abBlockB(b, yield.Value{}) }),
					ctx.Block(func(b *yield.Ctx) (any, error) { return abBlockC(b, yield.Value{}) }),
				)
			})
		}, abTimeout, "join-blocks-1")
		abCheckJoinControlFlow(t, res)
	})
}

// ─── Test 2: Join many ───

// abJoinManyBlock is AB_JoinManyBlock on input "index:delay".
func abJoinManyBlock(ctx *yield.Ctx, in yield.Value) (any, error) {
	parts := strings.Split(in.String(), ":")
	if len(parts) != 2 {
		return nil, fmt.Errorf("input %q is not index:delay", in.String())
	}
	delay, err := strconv.Atoi(parts[1])
	if err != nil {
		return nil, err
	}
	result, err := abStr(ctx, ctx.ScheduleActivity("Work", strconv.Itoa(delay)))
	if err != nil {
		return nil, err
	}
	return fmt.Sprintf("block%s:%s", parts[0], result), nil
}

// abCheckJoinMany makes the Python test's assertions on the output.
func abCheckJoinMany(t *testing.T, res duroxide.OrchestrationResult) {
	t.Helper()
	out := abOutput(t, res)
	for i := range 5 {
		contains(t, "output", out, fmt.Sprintf("block%d:done:%d", i, (5-i)*5))
	}
}

// test_async_blocks.py::test_async_block_join_many
func TestAsyncBlocks_AsyncBlockJoinMany(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("AB_JoinMany", nil, func(rt *duroxide.Runtime) {
			activity(t, rt, "Work", abPrefixed("done"))
			orchestration(t, rt, "AB_JoinManyBlock", abJoinManyBlock)
			orchestration(t, rt, "AB_JoinMany", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				var descs []yield.Task
				for i := range 5 {
					delay := (5 - i) * 5
					descs = append(descs, ctx.ScheduleSubOrchestration("AB_JoinManyBlock", fmt.Sprintf("%d:%d", i, delay)))
				}
				return abJoin(ctx, descs...)
			})
		}, abTimeout, "join-many-1")
		abCheckJoinMany(t, res)
	})
}

// test_async_blocks.py::test_async_block_join_many, with real blocks
func TestAsyncBlocks_AsyncBlockJoinMany_Block(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("AB_JoinMany", nil, func(rt *duroxide.Runtime) {
			activity(t, rt, "Work", abPrefixed("done"))
			orchestration(t, rt, "AB_JoinMany", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				var blocks []yield.Task
				for i := range 5 {
					delay := (5 - i) * 5
					input, err := yield.ValueOf(fmt.Sprintf("%d:%d", i, delay))
					if err != nil {
						return nil, err
					}
					blocks = append(blocks, ctx.Block(func(b *yield.Ctx) (any, error) { return abJoinManyBlock(b, input) }))
				}
				return abJoin(ctx, blocks...)
			})
		}, abTimeout, "join-many-1")
		abCheckJoinMany(t, res)
	})
}

// ─── Test 3: Sequential ───

// abCheckSequential makes the Python test's assertions on the output.
func abCheckSequential(t *testing.T, res duroxide.OrchestrationResult) {
	t.Helper()
	out := abOutput(t, res)
	abHasPrefix(t, out, "final:")
	contains(t, "output", out, "processed:")
}

// test_async_blocks.py::test_async_block_sequential
func TestAsyncBlocks_AsyncBlockSequential(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("AB_SequentialBlocks", "start", func(rt *duroxide.Runtime) {
			activity(t, rt, "Process", abPrefixed("processed"))
			orchestration(t, rt, "AB_SequentialBlocks", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				a, err := abStr(ctx, ctx.ScheduleActivity("Process", in))
				if err != nil {
					return nil, err
				}
				b, err := abStr(ctx, ctx.ScheduleActivity("Process", "extra"))
				if err != nil {
					return nil, err
				}
				phase1 := a + "+" + b
				phase2, err := abStr(ctx, ctx.ScheduleActivity("Process", phase1))
				if err != nil {
					return nil, err
				}
				if err := abSleep(ctx, 5); err != nil {
					return nil, err
				}
				final, err := abStr(ctx, ctx.ScheduleActivity("Process", phase2))
				if err != nil {
					return nil, err
				}
				return "final:" + final, nil
			})
		}, abTimeout, "seq-blocks-1")
		abCheckSequential(t, res)
	})
}

// test_async_blocks.py::test_async_block_sequential, with each phase a block yielded
// on its own (the Rust test awaits its async blocks one after the other)
func TestAsyncBlocks_AsyncBlockSequential_Block(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("AB_SequentialBlocks", "start", func(rt *duroxide.Runtime) {
			activity(t, rt, "Process", abPrefixed("processed"))
			orchestration(t, rt, "AB_SequentialBlocks", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				phase1, err := abStr(ctx, ctx.Block(func(b *yield.Ctx) (any, error) {
					x, err := abStr(b, b.ScheduleActivity("Process", in))
					if err != nil {
						return nil, err
					}
					y, err := abStr(b, b.ScheduleActivity("Process", "extra"))
					if err != nil {
						return nil, err
					}
					return x + "+" + y, nil
				}))
				if err != nil {
					return nil, err
				}
				phase2, err := abStr(ctx, ctx.Block(func(b *yield.Ctx) (any, error) {
					return abStr(b, b.ScheduleActivity("Process", phase1))
				}))
				if err != nil {
					return nil, err
				}
				final, err := abStr(ctx, ctx.Block(func(b *yield.Ctx) (any, error) {
					if err := abSleep(b, 5); err != nil {
						return nil, err
					}
					return abStr(b, b.ScheduleActivity("Process", phase2))
				}))
				if err != nil {
					return nil, err
				}
				return "final:" + final, nil
			})
		}, abTimeout, "seq-blocks-1")
		abCheckSequential(t, res)
	})
}

// ─── Test 4: Select racing ───

// abRaceFastBlock is the Python block AB_RaceFastBlock, run as a sub-orchestration or a block.
func abRaceFastBlock(ctx *yield.Ctx, _ yield.Value) (any, error) {
	a, err := abStr(ctx, ctx.ScheduleActivity("Fast", "1"))
	if err != nil {
		return nil, err
	}
	b, err := abStr(ctx, ctx.ScheduleActivity("Fast", "2"))
	if err != nil {
		return nil, err
	}
	return fmt.Sprintf("fast_block:[%s,%s]", a, b), nil
}

// abRaceSlowBlock is the Python block AB_RaceSlowBlock, run as a sub-orchestration or a block.
func abRaceSlowBlock(ctx *yield.Ctx, _ yield.Value) (any, error) {
	if err := abSleep(ctx, 60000); err != nil {
		return nil, err
	}
	a, err := abStr(ctx, ctx.ScheduleActivity("Slow", "1"))
	if err != nil {
		return nil, err
	}
	b, err := abStr(ctx, ctx.ScheduleActivity("Slow", "2"))
	if err != nil {
		return nil, err
	}
	return fmt.Sprintf("slow_block:[%s,%s]", a, b), nil
}

// abSelectRacingActivities registers the activities (and real child orchestrations) both forms of the test use.
func abSelectRacingActivities(t *testing.T, rt *duroxide.Runtime) {
	activity(t, rt, "Fast", abPrefixed("fast"))
	activity(t, rt, "Slow", abPrefixed("slow"))
}

// abCheckSelectRacing makes the Python test's assertions on the output.
func abCheckSelectRacing(t *testing.T, res duroxide.OrchestrationResult) {
	t.Helper()
	out := abOutput(t, res)
	abHasPrefix(t, out, "winner:0,")
	contains(t, "output", out, "fast_block:[fast:1,fast:2]")
}

// test_async_blocks.py::test_async_block_select_racing
func TestAsyncBlocks_AsyncBlockSelectRacing(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestrationThen("AB_RaceBlocks", nil, func(rt *duroxide.Runtime) {
			abSelectRacingActivities(t, rt)
			orchestration(t, rt, "AB_RaceFastBlock", abRaceFastBlock)
			orchestration(t, rt, "AB_RaceSlowBlock", abRaceSlowBlock)
			orchestration(t, rt, "AB_RaceBlocks", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abWinner(ctx,
					ctx.ScheduleSubOrchestration("AB_RaceFastBlock", nil),
					ctx.ScheduleSubOrchestration("AB_RaceSlowBlock", nil),
				)
			})
		}, abTimeout, "race-blocks-1", func(id string) {
			// Beyond the Python assertions: the losers are cancelled.
			abLosersCancelled(t, s, id, "AB_RaceSlowBlock")
		})
		abCheckSelectRacing(t, res)
	})
}

// test_async_blocks.py::test_async_block_select_racing, with real blocks
func TestAsyncBlocks_AsyncBlockSelectRacing_Block(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("AB_RaceBlocks", nil, func(rt *duroxide.Runtime) {
			abSelectRacingActivities(t, rt)
			orchestration(t, rt, "AB_RaceBlocks", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abWinner(ctx,
					ctx.Block(func(b *yield.Ctx) (any, error) { return abRaceFastBlock(b, yield.Value{}) }),
					ctx.Block(func(b *yield.Ctx) (any, error) { return abRaceSlowBlock(b, yield.Value{}) }),
				)
			})
		}, abTimeout, "race-blocks-1")
		abCheckSelectRacing(t, res)
	})
}

// ─── Test 5: Block vs durable future ───

// abMultiStepBlock is the Python block AB_MultiStepBlock, run as a sub-orchestration or a block.
func abMultiStepBlock(ctx *yield.Ctx, _ yield.Value) (any, error) {
	if err := abSleep(ctx, 60000); err != nil {
		return nil, err
	}
	a, err := abStr(ctx, ctx.ScheduleActivity("Multi", "1"))
	if err != nil {
		return nil, err
	}
	b, err := abStr(ctx, ctx.ScheduleActivity("Multi", "2"))
	if err != nil {
		return nil, err
	}
	return fmt.Sprintf("block:[%s,%s]", a, b), nil
}

// abBlockVsFutureActivities registers the activities (and real child orchestrations) both forms of the test use.
func abBlockVsFutureActivities(t *testing.T, rt *duroxide.Runtime) {
	activity(t, rt, "Quick", abPrefixed("quick"))
	activity(t, rt, "Multi", abPrefixed("multi"))
}

// abCheckBlockVsFuture makes the Python test's assertions on the output.
func abCheckBlockVsFuture(t *testing.T, res duroxide.OrchestrationResult) {
	t.Helper()
	out := abOutput(t, res)
	abHasPrefix(t, out, "winner:0,")
	contains(t, "output", out, "quick:single")
}

// test_async_blocks.py::test_async_block_vs_durable_future
func TestAsyncBlocks_AsyncBlockVsDurableFuture(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestrationThen("AB_BlockVsFuture", nil, func(rt *duroxide.Runtime) {
			abBlockVsFutureActivities(t, rt)
			orchestration(t, rt, "AB_MultiStepBlock", abMultiStepBlock)
			orchestration(t, rt, "AB_BlockVsFuture", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abWinner(ctx,
					ctx.ScheduleActivity("Quick", "single"),
					ctx.ScheduleSubOrchestration("AB_MultiStepBlock", nil),
				)
			})
		}, abTimeout, "block-vs-future-1", func(id string) {
			// Beyond the Python assertions: the losers are cancelled.
			abLosersCancelled(t, s, id, "AB_MultiStepBlock")
		})
		abCheckBlockVsFuture(t, res)
	})
}

// test_async_blocks.py::test_async_block_vs_durable_future, with a real block
func TestAsyncBlocks_AsyncBlockVsDurableFuture_Block(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("AB_BlockVsFuture", nil, func(rt *duroxide.Runtime) {
			abBlockVsFutureActivities(t, rt)
			orchestration(t, rt, "AB_BlockVsFuture", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abWinner(ctx,
					ctx.ScheduleActivity("Quick", "single"),
					ctx.Block(func(b *yield.Ctx) (any, error) { return abMultiStepBlock(b, yield.Value{}) }),
				)
			})
		}, abTimeout, "block-vs-future-1")
		abCheckBlockVsFuture(t, res)
	})
}

// ─── Test 6: Select3 with timers ───

// abTimerBlock returns AB_TimerBlock<name>: a timer of ms, then Work(name).
func abTimerBlock(name string, ms int) yield.Orchestration {
	return func(ctx *yield.Ctx, _ yield.Value) (any, error) {
		if err := abSleep(ctx, ms); err != nil {
			return nil, err
		}
		result, err := abStr(ctx, ctx.ScheduleActivity("Work", name))
		if err != nil {
			return nil, err
		}
		return name + ":" + result, nil
	}
}

// abCheckSelect3 makes the Python test's assertions on the output.
func abCheckSelect3(t *testing.T, res duroxide.OrchestrationResult) {
	t.Helper()
	out := abOutput(t, res)
	abHasPrefix(t, out, "winner:0,")
	contains(t, "output", out, "A:work:A")
}

// test_async_blocks.py::test_async_block_select3_with_timers
func TestAsyncBlocks_AsyncBlockSelect3WithTimers(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestrationThen("AB_Select3Timers", nil, func(rt *duroxide.Runtime) {
			activity(t, rt, "Work", abPrefixed("work"))
			orchestration(t, rt, "AB_TimerBlockA", abTimerBlock("A", 1))
			orchestration(t, rt, "AB_TimerBlockB", abTimerBlock("B", 60000))
			orchestration(t, rt, "AB_TimerBlockC", abTimerBlock("C", 30000))
			orchestration(t, rt, "AB_Select3Inner", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abRaceValue(ctx,
					ctx.ScheduleSubOrchestration("AB_TimerBlockB", nil),
					ctx.ScheduleSubOrchestration("AB_TimerBlockC", nil),
				)
			})
			orchestration(t, rt, "AB_Select3Timers", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abWinner(ctx,
					ctx.ScheduleSubOrchestration("AB_TimerBlockA", nil),
					ctx.ScheduleSubOrchestration("AB_Select3Inner", nil),
				)
			})
		}, abTimeout, "select3-timers-1", func(id string) {
			// Beyond the Python assertions: the losers are cancelled.
			abLosersCancelled(t, s, id, "AB_Select3Inner", "AB_TimerBlockB", "AB_TimerBlockC")
		})
		abCheckSelect3(t, res)
	})
}

// test_async_blocks.py::test_async_block_select3_with_timers, with real blocks (the
// inner race is a block racing two blocks)
func TestAsyncBlocks_AsyncBlockSelect3WithTimers_Block(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("AB_Select3Timers", nil, func(rt *duroxide.Runtime) {
			activity(t, rt, "Work", abPrefixed("work"))
			block := func(ctx *yield.Ctx, fn yield.Orchestration) yield.Task {
				return ctx.Block(func(b *yield.Ctx) (any, error) { return fn(b, yield.Value{}) })
			}
			orchestration(t, rt, "AB_Select3Timers", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abWinner(ctx,
					block(ctx, abTimerBlock("A", 1)),
					ctx.Block(func(inner *yield.Ctx) (any, error) {
						return abRaceValue(inner,
							block(inner, abTimerBlock("B", 60000)),
							block(inner, abTimerBlock("C", 30000)),
						)
					}),
				)
			})
		}, abTimeout, "select3-timers-1")
		abCheckSelect3(t, res)
	})
}

// ─── Test 7: Nested join in select ───

// abWorkBlock is the Python block AB_WorkBlock, run as a sub-orchestration or a block.
func abWorkBlock(ctx *yield.Ctx, _ yield.Value) (any, error) {
	vals, err := bAllOK(ctx,
		ctx.ScheduleActivity("Step", "1"),
		ctx.ScheduleActivity("Step", "2"),
		ctx.ScheduleActivity("Step", "3"),
	)
	if err != nil {
		return nil, err
	}
	return fmt.Sprintf("work:[%s]", strings.Join(vals, ",")), nil
}

// abTimeoutBlock is the Python block AB_TimeoutBlock, run as a sub-orchestration or a block.
func abTimeoutBlock(ctx *yield.Ctx, _ yield.Value) (any, error) {
	if err := abSleep(ctx, 60000); err != nil {
		return nil, err
	}
	return "timeout", nil
}

// abCheckNestedJoinInSelect makes the Python test's assertions on the output.
func abCheckNestedJoinInSelect(t *testing.T, res duroxide.OrchestrationResult) {
	t.Helper()
	out := abOutput(t, res)
	abHasPrefix(t, out, "winner:0,")
	contains(t, "output", out, "step:1")
	contains(t, "output", out, "step:2")
	contains(t, "output", out, "step:3")
}

// test_async_blocks.py::test_async_block_nested_join_in_select
func TestAsyncBlocks_AsyncBlockNestedJoinInSelect(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestrationThen("AB_NestedJoinSelect", nil, func(rt *duroxide.Runtime) {
			activity(t, rt, "Step", abPrefixed("step"))
			orchestration(t, rt, "AB_WorkBlock", abWorkBlock)
			orchestration(t, rt, "AB_TimeoutBlock", abTimeoutBlock)
			orchestration(t, rt, "AB_NestedJoinSelect", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abWinner(ctx,
					ctx.ScheduleSubOrchestration("AB_WorkBlock", nil),
					ctx.ScheduleSubOrchestration("AB_TimeoutBlock", nil),
				)
			})
		}, abTimeout, "nested-join-select-1", func(id string) {
			// Beyond the Python assertions: the losers are cancelled.
			abLosersCancelled(t, s, id, "AB_TimeoutBlock")
		})
		abCheckNestedJoinInSelect(t, res)
	})
}

// test_async_blocks.py::test_async_block_nested_join_in_select, with real blocks
func TestAsyncBlocks_AsyncBlockNestedJoinInSelect_Block(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("AB_NestedJoinSelect", nil, func(rt *duroxide.Runtime) {
			activity(t, rt, "Step", abPrefixed("step"))
			orchestration(t, rt, "AB_NestedJoinSelect", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abWinner(ctx,
					ctx.Block(func(b *yield.Ctx) (any, error) { return abWorkBlock(b, yield.Value{}) }),
					ctx.Block(func(b *yield.Ctx) (any, error) { return abTimeoutBlock(b, yield.Value{}) }),
				)
			})
		}, abTimeout, "nested-join-select-1")
		abCheckNestedJoinInSelect(t, res)
	})
}

// ─── Test 8: Sub-orchestration wins race ───

// abSubOrchWinsSetup registers the activities (and real child orchestrations) both forms of the test use.
func abSubOrchWinsSetup(t *testing.T, rt *duroxide.Runtime) {
	activity(t, rt, "FastWork", abPrefixed("fast"))
	activity(t, rt, "SlowWork", abPrefixed("slow"))
	orchestration(t, rt, "AB_FastChild", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		result, err := abStr(ctx, ctx.ScheduleActivity("FastWork", in))
		if err != nil {
			return nil, err
		}
		return "child:" + result, nil
	})
}

// abSubOrchBlock is the Python block AB_SubOrchBlock, run as a sub-orchestration or a block.
func abSubOrchBlock(ctx *yield.Ctx, _ yield.Value) (any, error) {
	sub, err := abStr(ctx, ctx.ScheduleSubOrchestration("AB_FastChild", "sub-input"))
	if err != nil {
		return nil, err
	}
	act, err := abStr(ctx, ctx.ScheduleActivity("FastWork", "after-sub"))
	if err != nil {
		return nil, err
	}
	return fmt.Sprintf("blockA:[%s,%s]", sub, act), nil
}

// abSlowBlock8 is the Python block AB_SlowBlock8, run as a sub-orchestration or a block.
func abSlowBlock8(ctx *yield.Ctx, _ yield.Value) (any, error) {
	if err := abSleep(ctx, 60000); err != nil {
		return nil, err
	}
	a, err := abStr(ctx, ctx.ScheduleActivity("SlowWork", "1"))
	if err != nil {
		return nil, err
	}
	b, err := abStr(ctx, ctx.ScheduleActivity("SlowWork", "2"))
	if err != nil {
		return nil, err
	}
	return fmt.Sprintf("blockB:[%s,%s]", a, b), nil
}

// abCheckSubOrchWins makes the Python test's assertions on the output.
func abCheckSubOrchWins(t *testing.T, res duroxide.OrchestrationResult) {
	t.Helper()
	out := abOutput(t, res)
	abHasPrefix(t, out, "winner:0,")
	contains(t, "output", out, "child:fast:sub-input")
	contains(t, "output", out, "fast:after-sub")
}

// test_async_blocks.py::test_async_block_suborchestration_wins_race
func TestAsyncBlocks_AsyncBlockSuborchestrationWinsRace(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestrationThen("AB_RaceParent", nil, func(rt *duroxide.Runtime) {
			abSubOrchWinsSetup(t, rt)
			orchestration(t, rt, "AB_SubOrchBlock", abSubOrchBlock)
			orchestration(t, rt, "AB_SlowBlock8", abSlowBlock8)
			orchestration(t, rt, "AB_RaceParent", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abWinner(ctx,
					ctx.ScheduleSubOrchestration("AB_SubOrchBlock", nil),
					ctx.ScheduleSubOrchestration("AB_SlowBlock8", nil),
				)
			})
		}, abTimeout, "suborchestration-wins-1", func(id string) {
			// Beyond the Python assertions: the losers are cancelled.
			abLosersCancelled(t, s, id, "AB_SlowBlock8")
		})
		abCheckSubOrchWins(t, res)
	})
}

// test_async_blocks.py::test_async_block_suborchestration_wins_race, with real blocks
func TestAsyncBlocks_AsyncBlockSuborchestrationWinsRace_Block(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("AB_RaceParent", nil, func(rt *duroxide.Runtime) {
			abSubOrchWinsSetup(t, rt)
			orchestration(t, rt, "AB_RaceParent", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abWinner(ctx,
					ctx.Block(func(b *yield.Ctx) (any, error) { return abSubOrchBlock(b, yield.Value{}) }),
					ctx.Block(func(b *yield.Ctx) (any, error) { return abSlowBlock8(b, yield.Value{}) }),
				)
			})
		}, abTimeout, "suborchestration-wins-1")
		abCheckSubOrchWins(t, res)
	})
}

// ─── Test 9: Sub-orchestration loses race ───

// abSubOrchLosesSetup registers the activities (and real child orchestrations) both forms of the test use.
func abSubOrchLosesSetup(t *testing.T, rt *duroxide.Runtime) {
	activity(t, rt, "Fast", abPrefixed("fast"))
	activity(t, rt, "VerySlow", abPrefixed("veryslow"))
	orchestration(t, rt, "AB_SlowChild", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		if err := abSleep(ctx, 60000); err != nil {
			return nil, err
		}
		a, err := abStr(ctx, ctx.ScheduleActivity("VerySlow", in.String()+"-1"))
		if err != nil {
			return nil, err
		}
		b, err := abStr(ctx, ctx.ScheduleActivity("VerySlow", in.String()+"-2"))
		if err != nil {
			return nil, err
		}
		return fmt.Sprintf("child:[%s,%s]", a, b), nil
	})
}

// abSlowSubOrchBlock is the Python block AB_SlowSubOrchBlock, run as a sub-orchestration or a block.
func abSlowSubOrchBlock(ctx *yield.Ctx, _ yield.Value) (any, error) {
	sub, err := abStr(ctx, ctx.ScheduleSubOrchestration("AB_SlowChild", "sub-input"))
	if err != nil {
		return nil, err
	}
	return "blockA:" + sub, nil
}

// abFastBlock9 is the Python block AB_FastBlock9, run as a sub-orchestration or a block.
func abFastBlock9(ctx *yield.Ctx, _ yield.Value) (any, error) {
	a, err := abStr(ctx, ctx.ScheduleActivity("Fast", "1"))
	if err != nil {
		return nil, err
	}
	b, err := abStr(ctx, ctx.ScheduleActivity("Fast", "2"))
	if err != nil {
		return nil, err
	}
	return fmt.Sprintf("blockB:[%s,%s]", a, b), nil
}

// abCheckSubOrchLoses makes the Python test's assertions on the output.
func abCheckSubOrchLoses(t *testing.T, res duroxide.OrchestrationResult) {
	t.Helper()
	out := abOutput(t, res)
	abHasPrefix(t, out, "winner:1,")
	contains(t, "output", out, "blockB:[fast:1,fast:2]")
}

// test_async_blocks.py::test_async_block_suborchestration_loses_race
func TestAsyncBlocks_AsyncBlockSuborchestrationLosesRace(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestrationThen("AB_RaceParentLoses", nil, func(rt *duroxide.Runtime) {
			abSubOrchLosesSetup(t, rt)
			orchestration(t, rt, "AB_SlowSubOrchBlock", abSlowSubOrchBlock)
			orchestration(t, rt, "AB_FastBlock9", abFastBlock9)
			orchestration(t, rt, "AB_RaceParentLoses", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abWinner(ctx,
					ctx.ScheduleSubOrchestration("AB_SlowSubOrchBlock", nil),
					ctx.ScheduleSubOrchestration("AB_FastBlock9", nil),
				)
			})
		}, abTimeout, "suborchestration-loses-1", func(id string) {
			// Beyond the Python assertions: the losers are cancelled.
			abLosersCancelled(t, s, id, "AB_SlowSubOrchBlock", "AB_SlowChild")
		})
		abCheckSubOrchLoses(t, res)
	})
}

// test_async_blocks.py::test_async_block_suborchestration_loses_race, with real blocks
func TestAsyncBlocks_AsyncBlockSuborchestrationLosesRace_Block(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestrationThen("AB_RaceParentLoses", nil, func(rt *duroxide.Runtime) {
			abSubOrchLosesSetup(t, rt)
			orchestration(t, rt, "AB_RaceParentLoses", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abWinner(ctx,
					ctx.Block(func(b *yield.Ctx) (any, error) { return abSlowSubOrchBlock(b, yield.Value{}) }),
					ctx.Block(func(b *yield.Ctx) (any, error) { return abFastBlock9(b, yield.Value{}) }),
				)
			})
		}, abTimeout, "suborchestration-loses-1", func(id string) {
			// Beyond the Python assertions: the losers are cancelled.
			abLosersCancelled(t, s, id, "AB_SlowChild")
		})
		abCheckSubOrchLoses(t, res)
	})
}

// ─── Test 10: Multiple sub-orchestrations joined ───

// abJoinedChildrenSetup registers the activities (and real child orchestrations) both forms of the test use.
func abJoinedChildrenSetup(t *testing.T, rt *duroxide.Runtime) {
	activity(t, rt, "Transform", abPrefixed("transformed"))
	orchestration(t, rt, "AB_ChildA", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		result, err := abStr(ctx, ctx.ScheduleActivity("Transform", "A-"+in.String()))
		if err != nil {
			return nil, err
		}
		return "childA:" + result, nil
	})
	orchestration(t, rt, "AB_ChildB", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		r1, err := abStr(ctx, ctx.ScheduleActivity("Transform", "B1-"+in.String()))
		if err != nil {
			return nil, err
		}
		r2, err := abStr(ctx, ctx.ScheduleActivity("Transform", "B2-"+in.String()))
		if err != nil {
			return nil, err
		}
		return fmt.Sprintf("childB:[%s,%s]", r1, r2), nil
	})
	orchestration(t, rt, "AB_ChildC", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		if err := abSleep(ctx, 5); err != nil {
			return nil, err
		}
		result, err := abStr(ctx, ctx.ScheduleActivity("Transform", "C-"+in.String()))
		if err != nil {
			return nil, err
		}
		return "childC:timer+" + result, nil
	})
}

// abJoinBlock1 is the Python block AB_JoinBlock1, run as a sub-orchestration or a block.
func abJoinBlock1(ctx *yield.Ctx, in yield.Value) (any, error) {
	sub, err := abStr(ctx, ctx.ScheduleSubOrchestration("AB_ChildA", in))
	if err != nil {
		return nil, err
	}
	act, err := abStr(ctx, ctx.ScheduleActivity("Transform", "block1-extra"))
	if err != nil {
		return nil, err
	}
	return fmt.Sprintf("block1:[%s,%s]", sub, act), nil
}

// abJoinBlock2 is the Python block AB_JoinBlock2, run as a sub-orchestration or a block.
func abJoinBlock2(ctx *yield.Ctx, in yield.Value) (any, error) {
	sub, err := abStr(ctx, ctx.ScheduleSubOrchestration("AB_ChildB", in))
	if err != nil {
		return nil, err
	}
	return "block2:" + sub, nil
}

// abJoinBlock3 is the Python block AB_JoinBlock3, run as a sub-orchestration or a block.
func abJoinBlock3(ctx *yield.Ctx, in yield.Value) (any, error) {
	act, err := abStr(ctx, ctx.ScheduleActivity("Transform", "block3-first"))
	if err != nil {
		return nil, err
	}
	sub, err := abStr(ctx, ctx.ScheduleSubOrchestration("AB_ChildC", in))
	if err != nil {
		return nil, err
	}
	return fmt.Sprintf("block3:[%s,%s]", act, sub), nil
}

// abCheckJoinedChildren makes the Python test's assertions on the output.
func abCheckJoinedChildren(t *testing.T, res duroxide.OrchestrationResult) {
	t.Helper()
	out := abOutput(t, res)
	for _, want := range []string{"block1:", "childA:", "block2:", "childB:", "block3:", "childC:"} {
		contains(t, "output", out, want)
	}
}

// test_async_blocks.py::test_async_block_multiple_suborchestrations_joined
func TestAsyncBlocks_AsyncBlockMultipleSuborchestrationsJoined(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("AB_JoinSubOrchParent", "data", func(rt *duroxide.Runtime) {
			abJoinedChildrenSetup(t, rt)
			orchestration(t, rt, "AB_JoinBlock1", abJoinBlock1)
			orchestration(t, rt, "AB_JoinBlock2", abJoinBlock2)
			orchestration(t, rt, "AB_JoinBlock3", abJoinBlock3)
			orchestration(t, rt, "AB_JoinSubOrchParent", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abJoin(ctx,
					ctx.ScheduleSubOrchestration("AB_JoinBlock1", in),
					ctx.ScheduleSubOrchestration("AB_JoinBlock2", in),
					ctx.ScheduleSubOrchestration("AB_JoinBlock3", in),
				)
			})
		}, abTimeout, "join-suborchestration-1")
		abCheckJoinedChildren(t, res)
	})
}

// test_async_blocks.py::test_async_block_multiple_suborchestrations_joined, with real
// blocks
func TestAsyncBlocks_AsyncBlockMultipleSuborchestrationsJoined_Block(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("AB_JoinSubOrchParent", "data", func(rt *duroxide.Runtime) {
			abJoinedChildrenSetup(t, rt)
			orchestration(t, rt, "AB_JoinSubOrchParent", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abJoin(ctx,
					ctx.Block(func(b *yield.Ctx) (any, error) { return abJoinBlock1(b, in) }),
					ctx.Block(func(b *yield.Ctx) (any, error) { return abJoinBlock2(b, in) }),
					ctx.Block(func(b *yield.Ctx) (any, error) { return abJoinBlock3(b, in) }),
				)
			})
		}, abTimeout, "join-suborchestration-1")
		abCheckJoinedChildren(t, res)
	})
}

// ─── Test 11: Sub-orchestration racing timeout ───

// abRacingTimeoutSetup registers the activities (and real child orchestrations) both forms of the test use.
func abRacingTimeoutSetup(t *testing.T, rt *duroxide.Runtime) {
	activity(t, rt, "Work", abPrefixed("work"))
	activity(t, rt, "SlowWork", abPrefixed("slowwork"))
	orchestration(t, rt, "AB_FastChild2", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		result, err := abStr(ctx, ctx.ScheduleActivity("Work", in))
		if err != nil {
			return nil, err
		}
		return "fast-child:" + result, nil
	})
	orchestration(t, rt, "AB_SlowChild2", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		if err := abSleep(ctx, 60000); err != nil {
			return nil, err
		}
		result, err := abStr(ctx, ctx.ScheduleActivity("SlowWork", in))
		if err != nil {
			return nil, err
		}
		return "slow-child:" + result, nil
	})
}

// abFastSubBlock is the Python block AB_FastSubBlock, run as a sub-orchestration or a block.
func abFastSubBlock(ctx *yield.Ctx, _ yield.Value) (any, error) {
	sub, err := abStr(ctx, ctx.ScheduleSubOrchestration("AB_FastChild2", "fast-input"))
	if err != nil {
		return nil, err
	}
	return "blockA:" + sub, nil
}

// abSlowSubBlock is the Python block AB_SlowSubBlock, run as a sub-orchestration or a block.
func abSlowSubBlock(ctx *yield.Ctx, _ yield.Value) (any, error) {
	sub, err := abStr(ctx, ctx.ScheduleSubOrchestration("AB_SlowChild2", "slow-input"))
	if err != nil {
		return nil, err
	}
	return "blockB:" + sub, nil
}

// abTimeoutOnlyBlock is the Python block AB_TimeoutOnlyBlock, run as a sub-orchestration or a block.
func abTimeoutOnlyBlock(ctx *yield.Ctx, _ yield.Value) (any, error) {
	if err := abSleep(ctx, 120000); err != nil {
		return nil, err
	}
	return "blockC:timeout", nil
}

// abCheckRacingTimeout makes the Python test's assertions on the output.
func abCheckRacingTimeout(t *testing.T, res duroxide.OrchestrationResult) {
	t.Helper()
	out := abOutput(t, res)
	abHasPrefix(t, out, "winner:0,")
	contains(t, "output", out, "fast-child:work:fast-input")
}

// test_async_blocks.py::test_async_block_suborchestration_racing_timeout
func TestAsyncBlocks_AsyncBlockSuborchestrationRacingTimeout(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestrationThen("AB_TimeoutRaceParent", nil, func(rt *duroxide.Runtime) {
			abRacingTimeoutSetup(t, rt)
			orchestration(t, rt, "AB_FastSubBlock", abFastSubBlock)
			orchestration(t, rt, "AB_SlowSubBlock", abSlowSubBlock)
			orchestration(t, rt, "AB_TimeoutOnlyBlock", abTimeoutOnlyBlock)
			orchestration(t, rt, "AB_TimeoutRaceInner", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abRaceValue(ctx,
					ctx.ScheduleSubOrchestration("AB_SlowSubBlock", nil),
					ctx.ScheduleSubOrchestration("AB_TimeoutOnlyBlock", nil),
				)
			})
			orchestration(t, rt, "AB_TimeoutRaceParent", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abWinner(ctx,
					ctx.ScheduleSubOrchestration("AB_FastSubBlock", nil),
					ctx.ScheduleSubOrchestration("AB_TimeoutRaceInner", nil),
				)
			})
		}, abTimeout, "timeout-race-1", func(id string) {
			// Beyond the Python assertions: the losers are cancelled.
			abLosersCancelled(t, s, id, "AB_TimeoutRaceInner", "AB_SlowSubBlock", "AB_TimeoutOnlyBlock", "AB_SlowChild2")
		})
		abCheckRacingTimeout(t, res)
	})
}

// test_async_blocks.py::test_async_block_suborchestration_racing_timeout, with real
// blocks (the inner race is a block racing two blocks)
func TestAsyncBlocks_AsyncBlockSuborchestrationRacingTimeout_Block(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestrationThen("AB_TimeoutRaceParent", nil, func(rt *duroxide.Runtime) {
			abRacingTimeoutSetup(t, rt)
			orchestration(t, rt, "AB_TimeoutRaceParent", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abWinner(ctx,
					ctx.Block(func(b *yield.Ctx) (any, error) { return abFastSubBlock(b, yield.Value{}) }),
					ctx.Block(func(inner *yield.Ctx) (any, error) {
						return abRaceValue(inner,
							inner.Block(func(b *yield.Ctx) (any, error) { return abSlowSubBlock(b, yield.Value{}) }),
							inner.Block(func(b *yield.Ctx) (any, error) { return abTimeoutOnlyBlock(b, yield.Value{}) }),
						)
					}),
				)
			})
		}, abTimeout, "timeout-race-1", func(id string) {
			// Beyond the Python assertions: the losers are cancelled.
			abLosersCancelled(t, s, id, "AB_SlowChild2")
		})
		abCheckRacingTimeout(t, res)
	})
}

// ─── Test 12: Nested sub-orchestration chain ───

// abNestedChainSetup registers the activities (and real child orchestrations) both forms of the test use.
func abNestedChainSetup(t *testing.T, rt *duroxide.Runtime) {
	activity(t, rt, "Leaf", abPrefixed("leaf"))
	orchestration(t, rt, "AB_Grandchild", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		result, err := abStr(ctx, ctx.ScheduleActivity("Leaf", in))
		if err != nil {
			return nil, err
		}
		return "grandchild:" + result, nil
	})
	orchestration(t, rt, "AB_Child", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		results, err := bAllOK(ctx,
			ctx.ScheduleSubOrchestration("AB_Grandchild", "gc-"+in.String()),
			ctx.ScheduleActivity("Leaf", "child-"+in.String()),
		)
		if err != nil {
			return nil, err
		}
		return fmt.Sprintf("child:[%s,%s]", results[0], results[1]), nil
	})
}

// abChainBlock1 is the Python block AB_ChainBlock1, run as a sub-orchestration or a block.
func abChainBlock1(ctx *yield.Ctx, in yield.Value) (any, error) {
	sub, err := abStr(ctx, ctx.ScheduleSubOrchestration("AB_Child", "c1-"+in.String()))
	if err != nil {
		return nil, err
	}
	return "block1:" + sub, nil
}

// abChainBlock2 is the Python block AB_ChainBlock2, run as a sub-orchestration or a block.
func abChainBlock2(ctx *yield.Ctx, in yield.Value) (any, error) {
	if err := abSleep(ctx, 5); err != nil {
		return nil, err
	}
	sub, err := abStr(ctx, ctx.ScheduleSubOrchestration("AB_Child", "c2-"+in.String()))
	if err != nil {
		return nil, err
	}
	return "block2:timer+" + sub, nil
}

// abCheckNestedChain makes the Python test's assertions on the output.
func abCheckNestedChain(t *testing.T, res duroxide.OrchestrationResult) {
	t.Helper()
	out := abOutput(t, res)
	for _, want := range []string{"block1:", "block2:timer+", "grandchild:", "child:"} {
		contains(t, "output", out, want)
	}
}

// test_async_blocks.py::test_async_block_nested_suborchestration_chain
func TestAsyncBlocks_AsyncBlockNestedSuborchestrationChain(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("AB_NestedParent", "root", func(rt *duroxide.Runtime) {
			abNestedChainSetup(t, rt)
			orchestration(t, rt, "AB_ChainBlock1", abChainBlock1)
			orchestration(t, rt, "AB_ChainBlock2", abChainBlock2)
			orchestration(t, rt, "AB_NestedParent", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abJoin(ctx,
					ctx.ScheduleSubOrchestration("AB_ChainBlock1", in),
					ctx.ScheduleSubOrchestration("AB_ChainBlock2", in),
				)
			})
		}, abTimeout, "nested-chain-1")
		abCheckNestedChain(t, res)
	})
}

// test_async_blocks.py::test_async_block_nested_suborchestration_chain, with real blocks
func TestAsyncBlocks_AsyncBlockNestedSuborchestrationChain_Block(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res := s.bRunOrchestration("AB_NestedParent", "root", func(rt *duroxide.Runtime) {
			abNestedChainSetup(t, rt)
			orchestration(t, rt, "AB_NestedParent", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return abJoin(ctx,
					ctx.Block(func(b *yield.Ctx) (any, error) { return abChainBlock1(b, in) }),
					ctx.Block(func(b *yield.Ctx) (any, error) { return abChainBlock2(b, in) }),
				)
			})
		}, abTimeout, "nested-chain-1")
		abCheckNestedChain(t, res)
	})
}
