package main

import (
	"strings"
	"testing"
	"time"
)

func TestAgree(t *testing.T) {
	e, err := newEnforcer()
	if err != nil {
		t.Fatal(err)
	}
	if err := agree(e); err != nil {
		t.Fatal(err)
	}
}

func TestRunPrintsTable(t *testing.T) {
	if testing.Short() {
		t.Skip("runs benchmarks")
	}
	var b strings.Builder
	if err := run(&b, config{benchtime: 5 * time.Millisecond, rounds: 1, quick: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"roles.Can", "casbin Enforce", "lifecycle.Next", "looplab/fsm", "Route", "ExpireDue", "audit log", "| figure |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func BenchmarkCan(b *testing.B)  { b.ReportAllocs(); benchCan(b) }
func BenchmarkNext(b *testing.B) { b.ReportAllocs(); benchNext(b) }
func BenchmarkFSM(b *testing.B)  { b.ReportAllocs(); benchFSM(b) }
func BenchmarkEnforce(b *testing.B) {
	e, err := newEnforcer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	benchEnforce(e)(b)
}
