package duroxide

import (
	"sync/atomic"

	"github.com/duroxide-go/duroxide/history"
)

// metrics are the runtime's counters.
type metrics struct {
	orchStarts, orchCompletions, orchFailures                   atomic.Int64
	orchApp, orchInfra, orchConfig, orchPoison                  atomic.Int64
	actSuccess, actApp, actInfra, actConfig, actPoison          atomic.Int64
	orchFetched, workFetched                                    atomic.Int64
	continueAsNew, subCalls, providerErrors                     atomic.Int64
	turns, commitsRetried, actCancelled, cacheHits, cacheMisses atomic.Int64
	unregistered, stranded, stuck                               atomic.Int64
}

// orchFailed counts a failed (or cancelled) execution by the category of its failure.
func (m *metrics) orchFailed(d *history.ErrorDetails) {
	m.orchFailures.Add(1)
	switch d.Category {
	case history.CategoryInfrastructure:
		m.orchInfra.Add(1)
	case history.CategoryConfiguration:
		m.orchConfig.Add(1)
	case history.CategoryPoison:
		m.orchPoison.Add(1)
	default:
		m.orchApp.Add(1)
	}
}

// MetricsSnapshot is a point-in-time copy of the runtime's counters. The first group
// has the fields of the Python SDK's MetricsSnapshot.
type MetricsSnapshot struct {
	OrchStarts               int64 // executions started (first turns and continue-as-new)
	OrchCompletions          int64 // executions completed
	OrchFailures             int64 // executions failed or cancelled, all categories
	OrchApplicationErrors    int64 // ... failed by the code, or cancelled
	OrchInfrastructureErrors int64 // ... failed by the store or the runtime
	OrchConfigurationErrors  int64 // ... failed by nondeterminism or a corrupt history
	OrchPoison               int64 // ... failed as poison
	ActivitySuccess          int64
	ActivityAppErrors        int64 // activities that returned an error or panicked
	ActivityInfraErrors      int64 // results that could not be recorded
	ActivityConfigErrors     int64 // deliveries of activities not registered here
	ActivityPoison           int64
	// OrchDispatcherItemsFetched and WorkerDispatcherItemsFetched count fetched batches
	// and activities.
	OrchDispatcherItemsFetched   int64
	WorkerDispatcherItemsFetched int64
	OrchContinueAsNew            int64
	SuborchestrationCalls        int64 // child orchestrations started
	ProviderErrors               int64 // store calls that failed

	Turns               int64
	CommitsRetried      int64
	ActivitiesCancelled int64 // results dropped because the activity was no longer needed
	CacheHits           int64 // turns run on a cached execution (no replay)
	CacheMisses         int64 // turns that replayed the history
	CachedInstances     int
	Unregistered        int64 // deliveries of orchestrations or activities not registered here
	// StrandedCoroutines counts coroutines whose deferred calls did not finish when they
	// were unwound; their goroutines leaked.
	StrandedCoroutines int64
	// StuckCoroutines counts orchestration coroutines that neither yielded nor returned
	// within RuntimeOptions.StuckCodeTimeout; their instances failed and their goroutines
	// were abandoned (they end only if the code ever yields or returns).
	StuckCoroutines int64
}

// MetricsSnapshot returns the runtime's counters.
func (rt *Runtime) MetricsSnapshot() MetricsSnapshot {
	m := &rt.metrics
	return MetricsSnapshot{
		OrchStarts: m.orchStarts.Load(), OrchCompletions: m.orchCompletions.Load(), OrchFailures: m.orchFailures.Load(),
		OrchApplicationErrors: m.orchApp.Load(), OrchInfrastructureErrors: m.orchInfra.Load(),
		OrchConfigurationErrors: m.orchConfig.Load(), OrchPoison: m.orchPoison.Load(),
		ActivitySuccess: m.actSuccess.Load(), ActivityAppErrors: m.actApp.Load(), ActivityInfraErrors: m.actInfra.Load(),
		ActivityConfigErrors: m.actConfig.Load(), ActivityPoison: m.actPoison.Load(),
		OrchDispatcherItemsFetched: m.orchFetched.Load(), WorkerDispatcherItemsFetched: m.workFetched.Load(),
		OrchContinueAsNew: m.continueAsNew.Load(), SuborchestrationCalls: m.subCalls.Load(), ProviderErrors: m.providerErrors.Load(),
		Turns: m.turns.Load(), CommitsRetried: m.commitsRetried.Load(), ActivitiesCancelled: m.actCancelled.Load(),
		CacheHits: m.cacheHits.Load(), CacheMisses: m.cacheMisses.Load(), CachedInstances: rt.cache.len(),
		Unregistered: m.unregistered.Load(), StrandedCoroutines: m.stranded.Load(), StuckCoroutines: m.stuck.Load(),
	}
}
