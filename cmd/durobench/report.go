package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// kv is one key=value field of a summary line.
type kv struct {
	key, value string
}

func kvInt(key string, v int) kv { return kv{key, strconv.Itoa(v)} }

// reporter prints summary lines as text or CSV.
type reporter struct {
	c      *config
	w      io.Writer
	header bool
	err    error
}

func newReporter(c *config, w io.Writer) *reporter { return &reporter{c: c, w: w} }

// csvHeader names the CSV columns; settings come first, then the measures.
var csvHeader = []string{"workload", "run", "store", "durability", "orch_concurrency", "worker_concurrency",
	"cache", "poll_ms", "cross_process", "params", "elapsed_s", "orchestrations", "activities",
	"orch_per_s", "act_per_s", "per_activity_ms", "p50_ms", "p99_ms", "rss_mb", "heap_mb", "cpu_s"}

// settings are the fields naming what ran and how.
func (p *reporter) settings(run, durability string) []kv {
	c := p.c
	s := []kv{{"workload", c.workload}, {"run", run}, {"store", c.store}, {"durability", durability},
		kvInt("orch-concurrency", c.orchConc), kvInt("worker-concurrency", c.workConc),
		kvInt("cache", max(c.cache, -1)), {"poll", c.poll.String()}}
	if c.crossProc {
		s = append(s, kv{"cross-process", "true"})
	}
	return s
}

// measures are the fields of a result that apply to the workload.
func (p *reporter) measures(r result) []kv {
	m := []kv{{"elapsed", fmtDur(r.elapsed)}, {"orchestrations", strconv.FormatInt(r.orchestrations, 10)},
		{"activities-run", strconv.FormatInt(r.activities, 10)},
		{"orch/s", fmtF(r.orchPerSec())}, {"act/s", fmtF(r.actPerSec())}, {"cpu", fmtDur(r.cpu)}}
	if r.perActivity > 0 {
		m = append(m, kv{"per-activity", fmtDur(r.perActivity)})
	}
	if r.p50 > 0 {
		m = append(m, kv{"p50", fmtDur(r.p50)}, kv{"p99", fmtDur(r.p99)})
	}
	if r.rssMB > 0 {
		m = append(m, kv{"rss-mb", fmtF(r.rssMB)}, kv{"heap-mb", fmtF(r.heapMB)})
	}
	return m
}

// line prints one summary line for run ("2/3" or "median").
func (p *reporter) line(run, durability string, r result) {
	if p.err != nil {
		return
	}
	params := workloads[p.c.workload].params(p.c)
	if p.c.format == "text" {
		var b strings.Builder
		b.WriteString("durobench")
		for _, f := range slices.Concat(p.settings(run, durability), params, p.measures(r)) {
			fmt.Fprintf(&b, " %s=%s", f.key, f.value)
		}
		b.WriteByte('\n')
		_, p.err = io.WriteString(p.w, b.String())
		return
	}
	cw := csv.NewWriter(p.w)
	if !p.header {
		p.header = true
		_ = cw.Write(csvHeader)
	}
	ps := make([]string, len(params))
	for i, f := range params {
		ps[i] = f.key + "=" + f.value
	}
	c := p.c
	_ = cw.Write([]string{c.workload, run, c.store, durability, strconv.Itoa(c.orchConc), strconv.Itoa(c.workConc),
		strconv.Itoa(max(c.cache, -1)), strconv.FormatInt(c.poll.Milliseconds(), 10), strconv.FormatBool(c.crossProc),
		strings.Join(ps, ";"), strconv.FormatFloat(r.elapsed.Seconds(), 'f', 3, 64), strconv.FormatInt(r.orchestrations, 10),
		strconv.FormatInt(r.activities, 10), fmtF(r.orchPerSec()), fmtF(r.actPerSec()), fmtMs(r.perActivity),
		fmtMs(r.p50), fmtMs(r.p99), fmtF(r.rssMB), fmtF(r.heapMB),
		strconv.FormatFloat(r.cpu.Seconds(), 'f', 3, 64)})
	cw.Flush()
	p.err = cw.Error()
}

// median takes the median of every measure separately.
func median(rs []result) result {
	durs := func(f func(result) time.Duration) time.Duration {
		v := make([]time.Duration, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	floats := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return result{
		elapsed:        durs(func(r result) time.Duration { return r.elapsed }),
		orchestrations: rs[0].orchestrations,
		activities:     rs[0].activities,
		perActivity:    durs(func(r result) time.Duration { return r.perActivity }),
		p50:            durs(func(r result) time.Duration { return r.p50 }),
		p99:            durs(func(r result) time.Duration { return r.p99 }),
		rssMB:          floats(func(r result) float64 { return r.rssMB }),
		heapMB:         floats(func(r result) float64 { return r.heapMB }),
		cpu:            durs(func(r result) time.Duration { return r.cpu }),
	}
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// fmtDur prints a duration in milliseconds with microsecond precision, e.g. "1.234ms".
func fmtDur(d time.Duration) string { return fmtMs(d) + "ms" }

func fmtMs(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 3, 64)
}
