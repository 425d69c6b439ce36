package sqlite

import (
	"context"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store/storetest"
)

// scanAllowed are what a query may read whole: the one row of a SELECT
// without FROM, whose subqueries are checked on their own. Since R27 no
// table is read whole, not even the small ones (users with roles, (bot,
// sender) pairs with sessions): each is read by its workspace's key, so
// that one workspace's reads never cost another's rows.
var scanAllowed = []string{"CONSTANT ROW"}

// No operation costs time in proportion to history (old bots on a sender,
// closed sessions, the audit log) or to other workspaces (R27): every
// query the store ran during the conformance suite is answered through an
// index, as SQLite's query plan shows, except a walk that stops at an
// index's first entry (LIMIT 1).
func TestQueryPlansUseIndexes(t *testing.T) {
	var stores []*Store
	storetest.Run(t, func(t *testing.T) lifecycle.Store {
		st, err := Open(context.Background(), filepath.Join(t.TempDir(), "plans.db"))
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, st)
		return st
	})
	queries := map[string]bool{routeSQL: true}
	for _, st := range stores {
		for _, c := range []*stmts{st.wstmts, st.rstmts} {
			c.mu.Lock() // a prepare may still be finishing in the background
			for q := range c.m {
				queries[q] = true
			}
			c.mu.Unlock()
		}
	}
	defer func() {
		for _, st := range stores {
			st.Close()
		}
	}()
	if len(queries) < 25 {
		t.Fatalf("only %d queries seen; the suite should run them all", len(queries))
	}
	var sorted []string
	for q := range queries {
		sorted = append(sorted, q)
	}
	sort.Strings(sorted)
	st := stores[0]
	for _, q := range sorted {
		rows, err := st.w.Query("EXPLAIN QUERY PLAN "+q, make([]any, params(q))...)
		if err != nil {
			t.Fatalf("explaining %s: %v", q, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		for _, step := range plan {
			if !strings.HasPrefix(step, "SCAN ") {
				continue
			}
			// The first entry of an index in its order: one row read.
			ok := strings.Contains(step, " USING ") && strings.HasSuffix(strings.TrimSpace(q), "LIMIT 1")
			for _, table := range scanAllowed {
				ok = ok || strings.HasPrefix(step, "SCAN "+table)
			}
			if !ok {
				t.Errorf("query reads a whole table (%s):\n%s\nplan: %v", step, q, plan)
			}
		}
		for _, step := range plan {
			// R27, cost: a search of a primary key by the workspace alone
			// walks every row of the workspace (every bot's senders, every
			// user with a role), as a scan would without workspaces. Only
			// a max() of the key (one seek) and SessionStats, which
			// returns every row it reads, may.
			if strings.HasPrefix(step, "SEARCH ") && strings.HasSuffix(step, "USING PRIMARY KEY (workspace=?)") &&
				!strings.Contains(q, "coalesce(max(") && !strings.Contains(q, "FROM session_stats WHERE workspace = ?") {
				t.Errorf("query walks its workspace's whole table (%s):\n%s\nplan: %v", step, q, plan)
			}
		}
	}
	t.Logf("%d queries, each through an index", len(sorted))
}

var numbered = regexp.MustCompile(`\?(\d+)`)

// params counts the parameters of q: ?N numbered, or plain ?.
func params(q string) int {
	n := 0
	for _, m := range numbered.FindAllStringSubmatch(q, -1) {
		k, _ := strconv.Atoi(m[1])
		n = max(n, k)
	}
	if n > 0 {
		return n
	}
	return strings.Count(q, "?")
}
