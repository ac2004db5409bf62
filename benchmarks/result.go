package benchmarks

import (
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Result is what a scenario measured.
type Result struct {
	Scenario string    `json:"scenario"`
	Time     time.Time `json:"time"`
	// Figure is the scenario's headline number and Baseline the same quantity measured for
	// the raw building block in the same run; Ratio = Figure / Baseline.
	Figure   Measure `json:"figure"`
	Baseline Measure `json:"baseline"`
	Ratio    float64 `json:"ratio"`
	// Goal is the target, stated as text ("≥ 1,000,000 klines/s"), and Met whether it holds.
	Goal    string             `json:"goal"`
	Met     bool               `json:"met"`
	Latency *Latency           `json:"latency,omitempty"`
	Extra   map[string]float64 `json:"extra,omitempty"`
	Machine Machine            `json:"machine"`
}

// Measure is a number with its unit.
type Measure struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// Latency percentiles in microseconds, from an HDR histogram.
type Latency struct {
	P50, P90, P99, P999, Max float64
	Count                    int64
}

// LatencyOf summarises h (recorded in nanoseconds) in microseconds.
func LatencyOf(h *hdrhistogram.Histogram) *Latency {
	us := func(v int64) float64 { return float64(v) / 1e3 }
	return &Latency{P50: us(h.ValueAtQuantile(50)), P90: us(h.ValueAtQuantile(90)), P99: us(h.ValueAtQuantile(99)),
		P999: us(h.ValueAtQuantile(99.9)), Max: us(h.Max()), Count: h.TotalCount()}
}

// Machine describes where a result was measured.
type Machine struct {
	Cores      int    `json:"cores"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`
	CPU        string `json:"cpu"`
	Commit     string `json:"commit"`
}

// ThisMachine reads the machine facts and the commit the binary was built from (its
// build information, "-dirty" when the tree had changes), else the working directory's.
func ThisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(), CPU: cpuModel(), Commit: builtFrom()}
	if m.Commit == "" {
		if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
			m.Commit = strings.TrimSpace(string(out))
		}
	}
	return m
}

// builtFrom is the binary's VCS revision, short, or "" when it was built without one (go
// test, go run).
func builtFrom() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision" && len(s.Value) >= 7:
			rev = s.Value[:7]
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "-dirty"
		}
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}

// Print writes a human table of results.
func Print(w io.Writer, results ...Result) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tfigure\tbaseline\tratio\tgoal\tmet")
	for _, r := range results {
		met := "no"
		if r.Met {
			met = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s %s\t%.2f\t%s\t%s\n", r.Scenario,
			human(r.Figure.Value), r.Figure.Unit, human(r.Baseline.Value), r.Baseline.Unit+" ("+r.Baseline.Name+")", r.Ratio, r.Goal, met)
	}
	tw.Flush()
	for _, r := range results {
		if r.Latency != nil {
			l := r.Latency
			fmt.Fprintf(w, "%s latency µs: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  (n=%d)\n", r.Scenario, l.P50, l.P90, l.P99, l.P999, l.Max, l.Count)
		}
		keys := make([]string, 0, len(r.Extra))
		for k := range r.Extra {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "%s %s: %s\n", r.Scenario, k, human(r.Extra[k]))
		}
	}
	if len(results) > 0 {
		m := results[0].Machine
		fmt.Fprintf(w, "machine: %d cores (GOMAXPROCS %d), %s, %s, commit %s\n", m.Cores, m.GOMAXPROCS, m.CPU, m.GoVersion, m.Commit)
	}
}

// PrintJSON writes results as one JSON document.
func PrintJSON(w io.Writer, results ...Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(results)
}

func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
