package sqlite_test

import (
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/store/sqlite"
)

var figures = flag.Bool("figures", false, "TestRouteFigures: measure Route on an existing session on every store in alternation and print the ratios to memory")

// TestRouteFigures measures Route on an existing session (one of 1000 open
// sessions, as BenchmarkRouteExisting) on every store of benchStores - the
// memory store and SQLite under each durability setting, the default first
// - in one process, the stores taking turns round after round, so that all
// meet the same machine load; it prints each store's median time per
// message, the messages per second that makes, and its ratio to the memory
// store's, per round (median and range). Two more rows give the floor of
// any write: the cheapest write transaction SQLite makes here (one
// row of a one-row table), with SyncFull and SyncNormal. It runs only when
// asked:
//
//	cd store/sqlite && go test -run TestRouteFigures -v -figures
//
// Each turn lasts -test.benchtime (1s unless set).
func TestRouteFigures(t *testing.T) {
	if !*figures {
		t.Skip("measures only with -figures")
	}
	const rounds = 7
	type side struct {
		name string
		run  func(*testing.B)
	}
	var sides []side
	for _, bs := range benchStores {
		sides = append(sides, side{bs.name, newRouteExisting(t, bs.open(t)).run})
	}
	// The floor of any write-through: a transaction that adds 1 to the one
	// row of a table, in a file opened as the store opens its own.
	for _, sync := range []sqlite.Synchronous{sqlite.SyncFull, sqlite.SyncNormal} {
		sides = append(sides, side{"one-row write, " + string(sync), oneRowWrite(t, sync)})
	}
	load0 := loadavg()
	start := time.Now()
	ns := make([][]float64, len(sides)) // ns/op, per side per round
	for r := 0; r < rounds; r++ {
		for i, side := range sides {
			res := testing.Benchmark(side.run)
			if res.N == 0 {
				t.Fatalf("%s: the benchmark failed", side.name)
			}
			ns[i] = append(ns[i], float64(res.T.Nanoseconds())/float64(res.N))
		}
	}
	fmt.Printf("Route on an existing session (1000 open), measured by `cd store/sqlite && go test -run TestRouteFigures -v -figures` in one run of %v: %s, %d CPUs (GOMAXPROCS %d), %s %s/%s; load average %s at the start, %s at the end. The stores take turns %d times; medians.\n\n",
		time.Since(start).Round(time.Second), cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH, load0, loadavg(), rounds)
	fmt.Println("| store | per message | messages/s | × memory (median, range over rounds) |")
	fmt.Println("|---|---|---|---|")
	for i, side := range sides {
		ratios := make([]float64, rounds)
		for r := range ratios {
			ratios[r] = ns[i][r] / ns[0][r]
		}
		fmt.Printf("| %s | %s | %.0f | %.1f× (%.1f–%.1f) |\n", side.name, duration(median(ns[i])), 1e9/median(ns[i]), median(ratios), slices.Min(ratios), slices.Max(ratios))
	}
}

// oneRowWrite returns a benchmark of the cheapest write transaction: one
// UPDATE of a one-row table, autocommitted, in WAL mode with sync.
func oneRowWrite(t *testing.T, sync sqlite.Synchronous) func(*testing.B) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "one.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous("+string(sync)+")")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE one (k INTEGER PRIMARY KEY, v INTEGER NOT NULL); INSERT INTO one VALUES (1, 0)`); err != nil {
		t.Fatal(err)
	}
	st, err := db.Prepare(`UPDATE one SET v = v + 1 WHERE k = 1`)
	if err != nil {
		t.Fatal(err)
	}
	return func(b *testing.B) {
		for n := 0; n < b.N; n++ {
			if _, err := st.Exec(); err != nil {
				b.Fatal(err)
			}
		}
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

func duration(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
			}
		}
	}
	return runtime.GOARCH
}
