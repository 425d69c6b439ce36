//go:build gremlins

package lifecycle_test

import (
	"flag"
	"os"
	"testing"
)

// Under mutation testing (gremlins unleash --tags gremlins) every mutant
// runs the whole package, so the model test draws 20 sequences instead of
// rapid's default 100; the decision cases and rule tests kill most mutants
// deterministically anyway.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("rapid.checks"); f != nil && f.Value.String() == "100" {
		if err := f.Value.Set("20"); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}
