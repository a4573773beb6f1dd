package storetest

import (
	"fmt"
	"slices"

	"github.com/duroxide-go/duroxide/history"
)

// Ports of the Rust provider validation module tag_filtering: FetchActivityRequest.Tags
// selects activities by their tag. Activity ids are event ids, so the first queued
// activity is id 2 (id 1 is OrchestrationStarted).

// queueTagged creates instance and queues one activity per tag ("" is untagged), ids 2,
// 3, ... in order, named "A<id>".
func (e *env) queueTagged(instance string, tags ...string) {
	e.t.Helper()
	evs := []history.Event{startedEv(1)}
	var works []history.ActivityWork
	for i, tag := range tags {
		id := uint64(i + 2)
		name := fmt.Sprintf("A%d", id)
		ev := activityEv(id, name)
		ev.Tag = tag
		evs = append(evs, ev)
		w := work(instance, 1, id, name)
		w.Tag = tag
		works = append(works, w)
	}
	e.create(instance)
	e.turn(instance, history.Commit{ExecutionID: 1, Delta: evs, Status: history.StatusRunning, Activities: works})
}

// fetchTagged fetches one activity with filter f (long lock); nil when there is none.
func (e *env) fetchTagged(f history.TagFilter) *history.ActivityLease {
	e.t.Helper()
	l, err := e.s.FetchActivity(e.ctx, history.FetchActivityRequest{LockTimeout: longLock, Tags: f})
	if err != nil {
		e.t.Fatalf("FetchActivity(%v): %v", f, err)
	}
	return l
}

// drainTagged fetches with f until there is no more work and returns the ids, in order,
// checking that each activity's tag is one f matches.
func (e *env) drainTagged(f history.TagFilter) []uint64 {
	e.t.Helper()
	var ids []uint64
	for range 100 {
		l := e.fetchTagged(f)
		if l == nil {
			return ids
		}
		if !f.Matches(l.Work.Tag) {
			e.t.Errorf("filter %v fetched activity %d tagged %q", f, l.Work.ID, l.Work.Tag)
		}
		ids = append(ids, l.Work.ID)
	}
	e.t.Fatalf("filter %v: more than 100 activities", f)
	return nil
}

func (e *env) wantIDs(what string, got []uint64, want ...uint64) {
	e.t.Helper()
	if !slices.Equal(got, want) {
		e.t.Errorf("%s: fetched activities %v, want %v", what, got, want)
	}
}

// mustTagFilter returns a checker for a filter constructor's result:
// mustTagFilter(e)(history.TagsOnly("gpu")).
func mustTagFilter(e *env) func(history.TagFilter, error) history.TagFilter {
	return func(f history.TagFilter, err error) history.TagFilter {
		e.t.Helper()
		if err != nil {
			e.t.Fatalf("tag filter: %v", err)
		}
		return f
	}
}

// test_default_only_fetches_untagged
func testDefaultOnlyFetchesUntagged(e *env) {
	e.queueTagged("p", "", "gpu", "", "gpu")
	e.wantIDs("DefaultOnly", e.drainTagged(history.TagFilter{}), 2, 4)
}

// test_tags_fetches_only_matching
func testTagsFetchesOnlyMatching(e *env) {
	e.queueTagged("p", "", "gpu", "", "gpu")
	e.wantIDs("Tags{gpu}", e.drainTagged(mustTagFilter(e)(history.TagsOnly("gpu"))), 3, 5)
}

// test_default_and_fetches_untagged_and_matching
func testDefaultAndFetchesUntaggedAndMatching(e *env) {
	e.queueTagged("p", "", "gpu", "cpu")
	e.wantIDs("DefaultAnd{gpu}", e.drainTagged(mustTagFilter(e)(history.DefaultAndTags("gpu"))), 2, 3)
	e.wantIDs("Any, after", e.drainTagged(history.AnyTag()), 4)
}

// test_none_filter_returns_nothing
func testNoneFilterReturnsNothing(e *env) {
	e.queueTagged("p", "", "gpu")
	if l := e.fetchTagged(history.NoTags()); l != nil {
		e.t.Errorf("None fetched activity %d", l.Work.ID)
	}
	e.wantIDs("Any, after None", e.drainTagged(history.AnyTag()), 2, 3)
}

// test_multi_tag_filter
func testMultiTagFilter(e *env) {
	e.queueTagged("p", "gpu", "cpu", "tpu", "")
	e.wantIDs("Tags{tpu,gpu}", e.drainTagged(mustTagFilter(e)(history.TagsOnly("tpu", "gpu"))), 2, 4)
}

// test_tag_round_trip_preservation
func testTagRoundTripPreservation(e *env) {
	e.queueTagged("p", "gpu-a100")
	l := e.fetchTagged(mustTagFilter(e)(history.TagsOnly("gpu-a100")))
	if l == nil {
		e.t.Fatal("Tags{gpu-a100}: no work")
	}
	want := work("p", 1, 2, "A2")
	want.Tag = "gpu-a100"
	e.diff("tagged activity", want, l.Work)
}

// test_any_filter_fetches_everything
func testAnyFilterFetchesEverything(e *env) {
	e.queueTagged("p", "", "gpu", "cpu")
	e.wantIDs("Any", e.drainTagged(history.AnyTag()), 2, 3, 4)
}

// test_tag_survives_abandon_and_refetch
func testTagSurvivesAbandonAndRefetch(e *env) {
	e.queueTagged("p", "gpu")
	gpu := mustTagFilter(e)(history.TagsOnly("gpu"))
	l := e.fetchTagged(gpu)
	if l == nil {
		e.t.Fatal("Tags{gpu}: no work")
	}
	if err := e.s.AbandonActivity(e.ctx, l.LockToken, 0, false); err != nil {
		e.t.Fatalf("AbandonActivity: %v", err)
	}
	if l := e.fetchTagged(history.TagFilter{}); l != nil {
		e.t.Errorf("DefaultOnly fetched the abandoned gpu activity %d", l.Work.ID)
	}
	again := e.fetchTagged(gpu)
	if again == nil {
		e.t.Fatal("Tags{gpu} after abandon: no work")
	}
	if again.Work.Tag != "gpu" || again.Work.Name != "A2" || again.Attempt != 2 {
		e.t.Errorf("refetched %s tag %q attempt %d, want A2 tag gpu attempt 2", again.Work.Name, again.Work.Tag, again.Attempt)
	}
}

// test_multi_runtime_tag_isolation
func testMultiRuntimeTagIsolation(e *env) {
	e.queueTagged("p", "", "gpu", "cpu", "tpu", "", "gpu", "fpga")
	// Disjoint filters partition the queue.
	e.wantIDs("DefaultOnly", e.drainTagged(history.TagFilter{}), 2, 6)
	e.wantIDs("Tags{gpu}", e.drainTagged(mustTagFilter(e)(history.TagsOnly("gpu"))), 3, 7)
	// Overlapping sets: what one took, the other does not see.
	e.wantIDs("Tags{cpu,tpu}", e.drainTagged(mustTagFilter(e)(history.TagsOnly("cpu", "tpu"))), 4, 5)
	e.wantIDs("DefaultAnd{tpu,gpu}", e.drainTagged(mustTagFilter(e)(history.DefaultAndTags("tpu", "gpu"))))
	// Any is a superset: it gets the rest.
	e.wantIDs("Any", e.drainTagged(history.AnyTag()), 8)
}

// test_tag_preserved_through_ack_orchestration_item: activities queued by a later
// commit (the ack of a fetched batch) keep their tags and are filtered by them.
func testTagPreservedThroughAckOrchestrationItem(e *env) {
	e.queueTagged("p", "gpu")
	if err := e.s.SendMessage(e.ctx, *completed("p", 1, 2, `"x"`)); err != nil {
		e.t.Fatalf("SendMessage: %v", err)
	}
	l := e.fetch("p")
	done := ev(3, history.ActivityCompleted)
	done.SourceEventID, done.Result = 2, []byte(`"x"`)
	cpuEv, plainEv := activityEv(4, "Encode"), activityEv(5, "Upload")
	cpuEv.Tag = "cpu"
	cpu, plain := work("p", 1, 4, "Encode"), work("p", 1, 5, "Upload")
	cpu.Tag = "cpu"
	e.commit(l, history.Commit{ExecutionID: 1, Status: history.StatusRunning,
		Delta: []history.Event{done, cpuEv, plainEv}, Activities: []history.ActivityWork{cpu, plain}})

	a := e.fetchTagged(mustTagFilter(e)(history.TagsOnly("cpu")))
	if a == nil {
		e.t.Fatal("Tags{cpu}: no work")
	}
	e.diff("cpu activity", cpu, a.Work)
	e.wantIDs("DefaultOnly", e.drainTagged(history.TagFilter{}), 5)
	e.wantIDs("Tags{gpu}", e.drainTagged(mustTagFilter(e)(history.TagsOnly("gpu"))), 2)
}
