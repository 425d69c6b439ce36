package store_test

import (
	"testing"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store"
	"github.com/botlife/botlife/store/storetest"
)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) lifecycle.Store { return store.NewMemory() })
}

// AuditWaiter is optional (R24): the suite runs on a store without it,
// skipping only the cases that test it, instead of panicking and taking
// the whole run down.
func TestStoretestWithoutAuditWaiter(t *testing.T) {
	storetest.Run(t, func(t *testing.T) lifecycle.Store { return struct{ lifecycle.Store }{store.NewMemory()} })
}
