package pgstore

import (
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/history"
)

// The NOTIFY for new activities is per tag: work waiting for one tag (say, for GPU
// workers that are all busy or absent) does not keep the workers of other tags, in other
// processes, from being woken.
func TestCrossProcessWakeUpPerTag(t *testing.T) {
	url := dbURL(t)
	ctx := t.Context()
	schema := freshSchema(t)
	a := connect(t, url, schema)
	defer a.Close()
	b := connect(t, url, schema)
	defer b.Close()
	const wait = 5 * time.Second
	leases := map[string]*history.OrchestrationLease{}
	for _, id := range []string{"x", "y", "z"} {
		if err := b.CreateInstance(ctx, start(id)); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		l, err := b.FetchOrchestration(ctx, history.FetchOrchestrationRequest{LockTimeout: time.Minute})
		if err != nil || l == nil {
			t.Fatal(l, err)
		}
		leases[l.Instance] = l
	}
	work := a.WorkerWork()
	settle(work)
	commit := func(instance, tag string) {
		t.Helper()
		started := history.Event{EventID: 1, Kind: history.OrchestrationStarted, Name: "Orch"}
		if _, err := b.CommitOrchestration(ctx, leases[instance].LockToken, history.Commit{ExecutionID: 1,
			Delta:      []history.Event{started, {EventID: 2, Kind: history.ActivityScheduled, Name: "A", Tag: tag}},
			Status:     history.StatusRunning,
			Activities: []history.ActivityWork{{Instance: instance, ExecutionID: 1, ID: 2, Name: "A", Tag: tag}}}); err != nil {
			t.Fatal(err)
		}
	}
	commit("x", "gpu")
	if !recv(work, wait) {
		t.Fatal("the first gpu activity did not wake the other store")
	}
	settle(work)
	commit("y", "gpu")
	if recv(work, 300*time.Millisecond) {
		t.Error("a second gpu activity, gpu work being fetchable, sent a NOTIFY")
	}
	commit("z", "")
	if !recv(work, wait) {
		t.Fatal("an untagged activity behind fetchable gpu work did not wake the other store")
	}
	l, err := a.FetchActivity(ctx, history.FetchActivityRequest{LockTimeout: time.Minute})
	if err != nil || l == nil || l.Work.Instance != "z" {
		t.Fatalf("default fetch = %+v, %v; want z's untagged activity", l, err)
	}
}
