package storetest

import (
	"github.com/duroxide-go/duroxide/history"
)

// Ports of the Rust provider validation module kv_store. The Rust tests end an
// execution by completing it and then poke the instance; here a message to a completed
// instance is dropped, so executions end with a continue-as-new, which merges the KV
// store the same way.

func testKvSnapshotAfterClearAll(e *env) {
	e.startTurn("a", kvSet(2, "a", "1"), kvSet(3, "b", "2"))
	l := e.continueAsNew("a", 1, 4)
	e.diff("snapshot of execution 2", map[string]string{"a": "1", "b": "2"}, snapshot(l))
	e.pokeTurn("a", 2, ev(2, history.KeyValuesCleared))
	l = e.continueAsNew("a", 2, 3)
	e.diff("snapshot after clear-all", map[string]string{}, snapshot(l))
	e.diff("GetAllKV after clear-all", map[string]string{}, e.allKV("a"))
}

func testKvCrossExecutionOverwrite(e *env) {
	e.startTurn("a", kvSet(2, "k", "v1"))
	e.wantKV("a", "k", strp("v1"))
	e.continueAsNew("a", 1, 3, kvSet(2, "k", "v2"))
	e.wantKV("a", "k", strp("v2"))
	e.diff("GetAllKV", map[string]string{"k": "v2"}, e.allKV("a"))
	l := e.continueAsNew("a", 2, 3)
	e.diff("snapshot of execution 3", map[string]string{"k": "v2"}, snapshot(l))
}

func testKvCrossExecutionRemoveReadd(e *env) {
	e.startTurn("a", kvSet(2, "cycle", "exec1"))
	e.wantKV("a", "cycle", strp("exec1"))
	e.continueAsNew("a", 1, 3, kvCleared(2, "cycle"))
	e.wantKV("a", "cycle", nil)
	l := e.continueAsNew("a", 2, 3, kvSet(2, "cycle", "exec3"))
	if _, ok := l.KV["cycle"]; ok {
		e.t.Errorf("snapshot of execution 3 holds the key execution 2 cleared: %v", l.KV)
	}
	e.wantKV("a", "cycle", strp("exec3"))
	e.diff("GetAllKV", map[string]string{"cycle": "exec3"}, e.allKV("a"))
}

func testKvInstanceIsolation(e *env) {
	e.startTurn("a", kvSet(2, "shared_name", "from_a"))
	e.startTurn("b", kvSet(2, "shared_name", "from_b"))
	e.wantKV("a", "shared_name", strp("from_a"))
	e.wantKV("b", "shared_name", strp("from_b"))
	e.diff("GetAllKV(a)", map[string]string{"shared_name": "from_a"}, e.allKV("a"))
	e.diff("GetAllKV(b)", map[string]string{"shared_name": "from_b"}, e.allKV("b"))
}

func testKvClearNonexistentKey(e *env) {
	e.startTurn("a")
	e.pokeTurn("a", 1, kvCleared(2, "never_existed"))
	e.wantKV("a", "never_existed", nil)
	l := e.continueAsNew("a", 1, 3, kvCleared(2, "never_existed_either"))
	e.diff("snapshot", map[string]string{}, snapshot(l))
	e.diff("GetAllKV", map[string]string{}, e.allKV("a"))
}

func testKvSpecialCharsInKey(e *env) {
	keys := map[string]string{
		"key with spaces": "v1",
		"日本語キー":           "v2",
		"dotted.key.name": "v3",
		"path/like/key":   "v4",
		"emoji🎉key":       "v5",
	}
	delta := []history.Event{startedEv(1)}
	id := uint64(2)
	for k, v := range keys {
		delta = append(delta, kvSet(id, k, v))
		id++
	}
	e.create("a")
	e.turn("a", history.Commit{ExecutionID: 1, Delta: delta, Status: history.StatusRunning})
	for k, v := range keys {
		e.wantKV("a", k, strp(v))
	}
	e.diff("GetAllKV", keys, e.allKV("a"))
	l := e.continueAsNew("a", 1, id)
	e.diff("snapshot", keys, snapshot(l))
}

func testKvClearIsolation(e *env) {
	e.startTurn("a", kvSet(2, "shared", "from_a"))
	e.startTurn("b", kvSet(2, "shared", "from_b"))
	e.pokeTurn("a", 1, ev(3, history.KeyValuesCleared))
	e.wantKV("a", "shared", nil)
	e.wantKV("b", "shared", strp("from_b"))
	e.continueAsNew("a", 1, 4)
	e.wantKV("b", "shared", strp("from_b"))
	e.diff("GetAllKV(b)", map[string]string{"shared": "from_b"}, e.allKV("b"))
}

func testKvDeltaClientReadsMerged(e *env) {
	size := kvSet(3, "size", "large")
	e.startTurn("a", kvSet(2, "color", "red"), size)
	e.continueAsNew("a", 1, 4, kvSet(2, "color", "blue"), kvSet(3, "shape", "circle"))
	e.wantKV("a", "color", strp("blue"))   // the current execution's value wins
	e.wantKV("a", "size", strp("large"))   // from the previous execution
	e.wantKV("a", "shape", strp("circle")) // only in the current execution
	merged := map[string]string{"color": "blue", "size": "large", "shape": "circle"}
	e.diff("GetAllKV", merged, e.allKV("a"))
	// A key no later execution touched survives their merges, with its time.
	l := e.continueAsNew("a", 2, 4)
	e.diff("snapshot of execution 3", merged, snapshot(l))
	if got := l.KV["size"].UpdatedAtMs; got != size.TimestampMs {
		e.t.Errorf("snapshot time of the untouched key = %d, want %d (when execution 1 wrote it)", got, size.TimestampMs)
	}
}

func testKvDeltaTombstoneOverridesStore(e *env) {
	e.startTurn("a", kvSet(2, "temp", "exists"), kvSet(3, "other", "kept"))
	e.continueAsNew("a", 1, 4, kvCleared(2, "temp"))
	e.wantKV("a", "temp", nil)
	e.diff("GetAllKV", map[string]string{"other": "kept"}, e.allKV("a"))
	// The snapshot is the state the execution started from; replay rebuilds the clear.
	l := e.pokeTurn("a", 2)
	e.diff("snapshot during execution 2", map[string]string{"temp": "exists", "other": "kept"}, snapshot(l))
	l = e.continueAsNew("a", 2, 3)
	e.diff("snapshot of execution 3", map[string]string{"other": "kept"}, snapshot(l))
}
