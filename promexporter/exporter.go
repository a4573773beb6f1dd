// Package promexporter exports duroxide metrics in the Prometheus format through
// github.com/prometheus/client_golang. It is a module of its own, so that users of the
// core module never pull in the Prometheus client.
//
// A Collector reads a Runtime's counters (MetricsSnapshot) and, through a Client, the
// store's gauges (queue depths, instances by status) at every scrape:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(promexporter.NewCollector(promexporter.Options{Runtime: rt, Client: client}))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
package promexporter

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/duroxide-go/duroxide"
)

// Options say what a Collector reads.
type Options struct {
	// Runtime, when set, contributes its counters (duroxide_orchestration_*,
	// duroxide_activity_*, ...).
	Runtime *duroxide.Runtime
	// Client, when set, contributes the store's gauges (queue depths, instances by
	// status, totals). A store without the admin interface contributes nothing.
	Client *duroxide.Client
	// Namespace prefixes every metric name (default "duroxide").
	Namespace string
	// ConstLabels are added to every metric (e.g. the service name).
	ConstLabels prometheus.Labels
	// StoreTimeout bounds the store queries of one scrape (default 5 s).
	StoreTimeout time.Duration
}

// Collector is a prometheus.Collector over a runtime and a store.
type Collector struct {
	opts Options

	counters []counterDesc
	gauges   []gaugeDesc

	queueDepth   *prometheus.Desc
	instances    *prometheus.Desc
	executions   *prometheus.Desc
	events       *prometheus.Desc
	scrapeErrors *prometheus.Desc
}

type counterDesc struct {
	desc *prometheus.Desc
	get  func(duroxide.MetricsSnapshot) int64
}

type gaugeDesc struct {
	desc *prometheus.Desc
	get  func(duroxide.MetricsSnapshot) int64
}

// NewCollector returns a Collector reading what opts name.
func NewCollector(opts Options) *Collector {
	if opts.Namespace == "" {
		opts.Namespace = "duroxide"
	}
	if opts.StoreTimeout <= 0 {
		opts.StoreTimeout = 5 * time.Second
	}
	c := &Collector{opts: opts}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(opts.Namespace, "", name), help, labels, opts.ConstLabels)
	}
	counter := func(name, help string, get func(duroxide.MetricsSnapshot) int64) {
		c.counters = append(c.counters, counterDesc{desc(name, help), get})
	}
	counter("orchestration_starts_total", "Executions started (first turns and continue-as-new).", func(s duroxide.MetricsSnapshot) int64 { return s.OrchStarts })
	counter("orchestration_completions_total", "Executions completed.", func(s duroxide.MetricsSnapshot) int64 { return s.OrchCompletions })
	counter("orchestration_failures_total", "Executions failed or cancelled, all categories.", func(s duroxide.MetricsSnapshot) int64 { return s.OrchFailures })
	counter("orchestration_application_errors_total", "Executions failed by their code, or cancelled.", func(s duroxide.MetricsSnapshot) int64 { return s.OrchApplicationErrors })
	counter("orchestration_infrastructure_errors_total", "Executions failed by the store or the runtime.", func(s duroxide.MetricsSnapshot) int64 { return s.OrchInfrastructureErrors })
	counter("orchestration_configuration_errors_total", "Executions failed by nondeterminism or a corrupt history.", func(s duroxide.MetricsSnapshot) int64 { return s.OrchConfigurationErrors })
	counter("orchestration_poison_total", "Executions failed as poison.", func(s duroxide.MetricsSnapshot) int64 { return s.OrchPoison })
	counter("orchestration_continue_as_new_total", "Executions that continued as new.", func(s duroxide.MetricsSnapshot) int64 { return s.OrchContinueAsNew })
	counter("suborchestration_calls_total", "Child orchestrations started.", func(s duroxide.MetricsSnapshot) int64 { return s.SuborchestrationCalls })
	counter("activity_success_total", "Activities that succeeded.", func(s duroxide.MetricsSnapshot) int64 { return s.ActivitySuccess })
	counter("activity_application_errors_total", "Activities that returned an error or panicked.", func(s duroxide.MetricsSnapshot) int64 { return s.ActivityAppErrors })
	counter("activity_infrastructure_errors_total", "Activity results that could not be recorded.", func(s duroxide.MetricsSnapshot) int64 { return s.ActivityInfraErrors })
	counter("activity_configuration_errors_total", "Deliveries of activities not registered in this runtime.", func(s duroxide.MetricsSnapshot) int64 { return s.ActivityConfigErrors })
	counter("activity_poison_total", "Activities failed as poison.", func(s duroxide.MetricsSnapshot) int64 { return s.ActivityPoison })
	counter("activities_cancelled_total", "Activity results dropped because the activity was no longer needed.", func(s duroxide.MetricsSnapshot) int64 { return s.ActivitiesCancelled })
	counter("orchestration_dispatcher_items_fetched_total", "Orchestration batches fetched.", func(s duroxide.MetricsSnapshot) int64 { return s.OrchDispatcherItemsFetched })
	counter("worker_dispatcher_items_fetched_total", "Activities fetched.", func(s duroxide.MetricsSnapshot) int64 { return s.WorkerDispatcherItemsFetched })
	counter("turns_total", "Orchestration turns run.", func(s duroxide.MetricsSnapshot) int64 { return s.Turns })
	counter("commits_retried_total", "Turn commits retried after a retryable store error.", func(s duroxide.MetricsSnapshot) int64 { return s.CommitsRetried })
	counter("cache_hits_total", "Turns run on a cached execution (no replay).", func(s duroxide.MetricsSnapshot) int64 { return s.CacheHits })
	counter("cache_misses_total", "Turns that replayed the history.", func(s duroxide.MetricsSnapshot) int64 { return s.CacheMisses })
	counter("unregistered_total", "Deliveries of orchestrations or activities not registered in this runtime.", func(s duroxide.MetricsSnapshot) int64 { return s.Unregistered })
	counter("provider_errors_total", "Store calls that failed.", func(s duroxide.MetricsSnapshot) int64 { return s.ProviderErrors })
	counter("stranded_coroutines_total", "Coroutines that could not be unwound (their goroutines leaked).", func(s duroxide.MetricsSnapshot) int64 { return s.StrandedCoroutines })
	c.gauges = append(c.gauges, gaugeDesc{desc("cached_instances", "Executions kept in the instance cache."), func(s duroxide.MetricsSnapshot) int64 { return int64(s.CachedInstances) }})

	c.queueDepth = desc("queue_depth", "Unlocked messages in the store's queues (timer: orchestrator messages not yet due).", "queue")
	c.instances = desc("instances", "Instances in the store by the status of their current execution.", "status")
	c.executions = desc("executions", "Executions in the store.")
	c.events = desc("history_events", "History events in the store.")
	c.scrapeErrors = desc("scrape_store_errors", "1 when the last scrape could not read the store's gauges.")
	return c
}

// Describe sends the descriptors of every metric the Collector may send.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.counters {
		ch <- d.desc
	}
	for _, d := range c.gauges {
		ch <- d.desc
	}
	for _, d := range []*prometheus.Desc{c.queueDepth, c.instances, c.executions, c.events, c.scrapeErrors} {
		ch <- d
	}
}

// Collect reads the runtime's counters and the store's gauges.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	if rt := c.opts.Runtime; rt != nil {
		snap := rt.MetricsSnapshot()
		for _, d := range c.counters {
			ch <- prometheus.MustNewConstMetric(d.desc, prometheus.CounterValue, float64(d.get(snap)))
		}
		for _, d := range c.gauges {
			ch <- prometheus.MustNewConstMetric(d.desc, prometheus.GaugeValue, float64(d.get(snap)))
		}
	}
	if c.opts.Client == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.StoreTimeout)
	defer cancel()
	failed := 0.0
	if err := c.collectStore(ctx, ch); err != nil {
		if errors.Is(err, duroxide.ErrManagementNotAvailable) {
			return
		}
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(c.scrapeErrors, prometheus.GaugeValue, failed)
}

func (c *Collector) collectStore(ctx context.Context, ch chan<- prometheus.Metric) error {
	depths, err := c.opts.Client.GetQueueDepths(ctx)
	if err != nil {
		return err
	}
	m, err := c.opts.Client.GetSystemMetrics(ctx)
	if err != nil {
		return err
	}
	gauge := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	gauge(c.queueDepth, depths.OrchestratorQueue, "orchestrator")
	gauge(c.queueDepth, depths.WorkerQueue, "worker")
	gauge(c.queueDepth, depths.TimerQueue, "timer")
	gauge(c.instances, m.RunningInstances, "running")
	gauge(c.instances, m.CompletedInstances, "completed")
	gauge(c.instances, m.FailedInstances, "failed")
	gauge(c.executions, m.TotalExecutions)
	gauge(c.events, m.TotalEvents)
	return nil
}
