package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// A figure is one row of the README's Performance table: botlife's side
// and the side it is compared with, measured alternately in the same
// process so that both meet the same machine load and the same heap.
type figure struct {
	name string // what is measured
	// a is botlife's side (or the large size), b its baseline (or the
	// small size).
	a, b side
	// ratio is how the row states the comparison, given the medians.
	ratio func(a, b float64) string
	goal  string
	// setup builds what the sides measure, once, before the rounds; the
	// function it returns releases it. Optional.
	setup func() (release func())
	// rounds overrides the number of alternations.
	rounds int
}

// side is one thing measured: a benchmark and the metric read from it.
type side struct {
	label string
	bench func(*testing.B)
	// loop, if set, is measured instead of bench, by a runner of this
	// command that does not collect garbage between runs as
	// testing.Benchmark does (a full GC of a 1M-session heap per run
	// would be most of the run): it does the op n times.
	loop func(n int)
	// metric names a b.ReportMetric unit to read; "" means ns/op.
	metric string
	unit   string // printed after the value; default "ns"
	// note, if set, names a second metric printed after the value as
	// noteFormat says (with the median of that metric).
	note       string
	noteFormat string
}

func (s side) value(r testing.BenchmarkResult) float64 {
	if s.metric != "" {
		return r.Extra[s.metric]
	}
	return float64(r.T.Nanoseconds()) / float64(r.N)
}

// config says how long to measure.
type config struct {
	benchtime time.Duration // per side per round
	rounds    int           // alternations per figure
	quick     bool          // small sizes, for the test of this command
	only      string        // measure only the figures whose name holds this
}

func main() {
	var c config
	flag.DurationVar(&c.benchtime, "benchtime", 100*time.Millisecond, "time per side per round")
	flag.IntVar(&c.rounds, "rounds", 5, "rounds per figure: the sides alternate, the median counts")
	flag.StringVar(&c.only, "only", "", "measure only the figures whose name contains this text")
	flag.Parse()
	if err := run(os.Stdout, c); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

// run measures every figure and prints the table.
func run(w io.Writer, c config) error {
	testing.Init()
	if err := flag.Set("test.benchtime", c.benchtime.String()); err != nil {
		return err
	}
	if c.rounds <= 0 {
		c.rounds = 5
	}
	figs, err := figures(c)
	if err != nil {
		return err
	}
	start := time.Now()
	load0 := loadavg()
	var rows []string
	for _, f := range figs {
		if !strings.Contains(f.name, c.only) {
			continue
		}
		t0 := time.Now()
		row, err := measure(f, c)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		fmt.Fprintf(os.Stderr, "measured in %v: %s\n", time.Since(t0).Round(time.Second/10), row)
		rows = append(rows, row)
	}
	cmd := "go run ."
	if c.only != "" {
		cmd = fmt.Sprintf("go run . -only %q", c.only)
	}
	fmt.Fprintf(w, "Measured by `cd examples/compare && %s` in one run of %s: %s, %d CPUs (GOMAXPROCS %d), %s %s/%s; load average %s at the start, %s at the end. Each row alternates its two sides %d times (%v each) and compares the medians.\n\n",
		cmd, time.Since(start).Round(time.Second), cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH,
		load0, loadavg(), c.rounds, c.benchtime)
	fmt.Fprintln(w, "| figure | botlife | baseline | ratio | goal |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintln(w, r)
	}
	return nil
}

// measure alternates the two sides of f and returns its table row.
func measure(f figure, c config) (string, error) {
	if f.setup != nil {
		release := f.setup()
		defer func() {
			release()
			runtime.GC()
		}()
	}
	rounds := c.rounds
	if f.rounds > 0 {
		rounds = f.rounds
	}
	var as, bs, notes []float64
	var allocsA int64
	for i := 0; i < rounds; i++ {
		ra := f.a.run(c.benchtime)
		rb := f.b.run(c.benchtime)
		if ra.N == 0 || rb.N == 0 {
			return "", fmt.Errorf("a benchmark failed (run the tests of examples/compare to see why)")
		}
		as, bs = append(as, f.a.value(ra)), append(bs, f.b.value(rb))
		if f.a.note != "" {
			notes = append(notes, ra.Extra[f.a.note])
		}
		allocsA = ra.AllocsPerOp()
	}
	a, b := median(as), median(bs)
	allocs := ""
	if f.a.metric == "" && allocsA == 0 {
		allocs = ", 0 allocs"
	}
	if f.a.note != "" {
		allocs += " " + fmt.Sprintf(f.a.noteFormat, median(notes))
	}
	return fmt.Sprintf("| %s | %s: %s%s | %s: %s | %s | %s |", f.name, f.a.label, show(a, f.a.unit), allocs,
		f.b.label, show(b, f.b.unit), f.ratio(a, b), f.goal), nil
}

// run measures s: testing.Benchmark, or s.loop for at least benchtime.
func (s side) run(benchtime time.Duration) testing.BenchmarkResult {
	if s.loop == nil {
		return testing.Benchmark(s.bench)
	}
	var ms0, ms1 runtime.MemStats
	n := 1
	for {
		runtime.ReadMemStats(&ms0)
		t0 := time.Now()
		s.loop(n)
		d := time.Since(t0)
		runtime.ReadMemStats(&ms1)
		if d >= benchtime || n >= 1e9 {
			return testing.BenchmarkResult{N: n, T: d, MemAllocs: ms1.Mallocs - ms0.Mallocs}
		}
		next := int(float64(n) * 1.2 * float64(benchtime) / float64(max(d, time.Microsecond)))
		n = min(max(next, n+1), 100*n)
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// show prints a value in ns (or unit) with a readable scale.
func show(v float64, unit string) string {
	if unit != "" {
		return fmt.Sprintf("%.1f %s", v, unit)
	}
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f ms", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1f µs", v/1e3)
	case v >= 10:
		return fmt.Sprintf("%.0f ns", v)
	}
	return fmt.Sprintf("%.1f ns", v)
}

// faster states a/b as "b/a× faster" (a is botlife's time).
func faster(a, b float64) string { return fmt.Sprintf("%s× faster", num(b/a)) }

// times states a/b as "a/b×".
func times(a, b float64) string { return fmt.Sprintf("%s×", num(a/b)) }

// speedup states b/a as "b/a×" (a is the time per op of the parallel side).
func speedup(a, b float64) string { return fmt.Sprintf("%s× the throughput", num(b/a)) }

func num(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
