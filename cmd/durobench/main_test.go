package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// smallRuns size every workload so that the whole matrix stays quick under -race.
var smallRuns = []struct {
	workload string
	args     []string
}{
	{"tree", []string{"-runs", "2", "-depth", "1", "-fanout", "2", "-leaffanout", "2", "-activities", "2", "-resultsize", "10"}},
	{"fanout", []string{"-instances", "4", "-tasks", "3", "-delay", "1ms", "-total", "8"}},
	{"sequence", []string{"-n", "10"}},
	{"latency", []string{"-n", "5"}},
	{"park", []string{"-n", "20"}},
}

// testStores are the stores every workload runs on: in-memory and file SQLite, and
// PostgreSQL when DATABASE_URL is set.
func testStores(t *testing.T) [][]string {
	stores := [][]string{{"-store", "sqlite-mem"}, {"-store", "sqlite", "-sync", "normal", "-dir", t.TempDir()}}
	if url := os.Getenv("DATABASE_URL"); url != "" {
		stores = append(stores, []string{"-store", "postgres", "-pg-url", url})
	}
	return stores
}

func runBench(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errs bytes.Buffer
	if code := run(ctx, args, &out, &errs); code != 0 {
		t.Fatalf("durobench %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out.String(), errs.String())
	}
	return out.String(), errs.String()
}

// parseText checks a text summary line and returns its fields.
func parseText(t *testing.T, line string) map[string]string {
	t.Helper()
	words := strings.Fields(line)
	if len(words) == 0 || words[0] != "durobench" {
		t.Fatalf("summary line %q does not start with durobench", line)
	}
	fields := map[string]string{}
	for _, w := range words[1:] {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" || v == "" {
			t.Fatalf("summary line %q: field %q is not key=value", line, w)
		}
		fields[k] = v
	}
	for _, k := range []string{"workload", "run", "store", "durability", "orch-concurrency", "worker-concurrency", "cache", "poll", "elapsed", "orchestrations"} {
		if fields[k] == "" {
			t.Fatalf("summary line %q lacks %s", line, k)
		}
	}
	if _, err := time.ParseDuration(fields["elapsed"]); err != nil {
		t.Fatalf("elapsed %q: %v", fields["elapsed"], err)
	}
	if n, err := strconv.Atoi(fields["orchestrations"]); err != nil || n < 1 {
		t.Fatalf("orchestrations %q: %v", fields["orchestrations"], err)
	}
	return fields
}

func TestWorkloadsText(t *testing.T) {
	for _, st := range testStores(t) {
		for _, w := range smallRuns {
			t.Run(st[1]+"/"+w.workload, func(t *testing.T) {
				args := slices.Concat([]string{w.workload}, st, w.args, []string{"-progress-interval", "50ms"})
				out, _ := runBench(t, args...)
				lines := strings.Split(strings.TrimSpace(out), "\n")
				if len(lines) != 1 {
					t.Fatalf("want one summary line, got %q", out)
				}
				f := parseText(t, lines[0])
				if f["workload"] != w.workload || f["store"] != st[1] || f["run"] != "1/1" {
					t.Fatalf("summary names the wrong run: %q", lines[0])
				}
				wantDurability := map[string]string{"sqlite-mem": "memory", "sqlite": "NORMAL", "postgres": "synchronous_commit="}[st[1]]
				if !strings.HasPrefix(f["durability"], wantDurability) {
					t.Fatalf("durability %q, want %q", f["durability"], wantDurability)
				}
				switch w.workload {
				case "tree":
					if f["orchestrations"] != "14" || f["activities-run"] != "16" { // 2 × (1 + 2 + 4 leaves), 2 × 4 × 2
						t.Fatalf("tree counts: %q", lines[0])
					}
				case "latency":
					if _, err := time.ParseDuration(f["p99"]); err != nil {
						t.Fatalf("p99 %q: %v", f["p99"], err)
					}
				case "sequence":
					if _, err := time.ParseDuration(f["per-activity"]); err != nil {
						t.Fatalf("per-activity %q: %v", f["per-activity"], err)
					}
				case "park":
					if rss, err := strconv.ParseFloat(f["rss-mb"], 64); err != nil || rss <= 0 {
						t.Fatalf("rss-mb %q: %v", f["rss-mb"], err)
					}
				}
			})
		}
	}
}

func TestCSVWithRepeat(t *testing.T) {
	for _, st := range testStores(t) {
		t.Run(st[1], func(t *testing.T) {
			args := slices.Concat([]string{"latency"}, st, []string{"-n", "3", "-repeat", "3", "-format", "csv", "-cache", "-1", "-progress=false"})
			out, errs := runBench(t, args...)
			if errs != "" {
				t.Fatalf("stderr with -progress=false: %q", errs)
			}
			rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 5 || !slices.Equal(rows[0], csvHeader) {
				t.Fatalf("want the header, 3 runs and the median, got %q", rows)
			}
			for i, row := range rows[1:] {
				wantRun := []string{"1/3", "2/3", "3/3", "median"}[i]
				if row[0] != "latency" || row[1] != wantRun || row[2] != st[1] || row[6] != "-1" {
					t.Fatalf("row %d: %q", i+1, row)
				}
				for col := 10; col < len(row); col++ {
					if _, err := strconv.ParseFloat(row[col], 64); err != nil {
						t.Fatalf("row %d column %s: %v", i+1, csvHeader[col], err)
					}
				}
				if p50, _ := strconv.ParseFloat(row[16], 64); p50 <= 0 {
					t.Fatalf("row %d: p50 %q", i+1, row[16])
				}
			}
		})
	}
}

func TestCrossProcessLatency(t *testing.T) {
	out, _ := runBench(t, "latency", "-store", "sqlite", "-dir", t.TempDir(), "-cross-process", "-poll", "10ms", "-n", "3", "-progress=false")
	f := parseText(t, strings.TrimSpace(out))
	if f["cross-process"] != "true" || f["durability"] != "FULL" {
		t.Fatalf("summary: %q", out)
	}
}

func TestProfiles(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := dir+"/cpu.pprof", dir+"/mem.pprof"
	runBench(t, "sequence", "-store", "sqlite-mem", "-n", "5", "-cpuprofile", cpu, "-memprofile", mem, "-progress=false")
	for _, p := range []string{cpu, mem} {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Fatalf("profile %s: %v", p, err)
		}
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"nosuch"},
		{"tree", "-store", "mysql"},
		{"tree", "-sync", "off"},
		{"tree", "-format", "json"},
		{"latency", "-store", "sqlite-mem", "-cross-process"},
		{"tree", "-fanout", "0"},
	} {
		var out, errs bytes.Buffer
		if code := run(context.Background(), args, &out, &errs); code != 2 || errs.Len() == 0 {
			t.Errorf("durobench %q: exit %d, stderr %q; want 2 and a message", args, code, errs.String())
		}
	}
}
