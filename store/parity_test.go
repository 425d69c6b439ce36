package store_test

import (
	"testing"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store"
	"github.com/botlife/botlife/store/storetest"
)

// TestParity runs the store-parity test (issue 14) with the memory store on
// both sides: it proves the runner itself is deterministic, so that a
// difference it finds between two other stores is theirs.
func TestParity(t *testing.T) {
	memory := func(*testing.T) lifecycle.Store { return store.NewMemory() }
	storetest.RunParity(t, memory, memory)
}
