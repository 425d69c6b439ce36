package telemetry_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/botlife/botlife/examples/httpserver/telemetry"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
)

// A service sets the Telemetry as its Manager's Tracer and serves
// /metrics; here a message to a sender with no bot and a forbidden read
// are counted by their outcome, next to the role grant that succeeded.
func Example() {
	ctx := context.Background()
	tel, err := telemetry.New(telemetry.Options{}) // TracerProvider: the program's, for spans
	if err != nil {
		log.Fatal(err)
	}
	defer tel.Shutdown(ctx)
	st := store.NewMemory()
	m, _ := lifecycle.New(lifecycle.Config{Store: st, Tracer: tel})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", tel.Handler())

	_, _ = m.GrantRole(ctx, lifecycle.System("setup"), "mia", roles.Manager)
	_, _ = m.Route(ctx, lifecycle.Sender{Channel: "sms", Address: "+15550100"}, "+15551234567")
	_, _ = m.Get(ctx, lifecycle.User("eve"), "bot_1")

	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		if strings.HasPrefix(sc.Text(), "botlife_operations_total") {
			fmt.Println(sc.Text())
		}
	}
	// Output:
	// botlife_operations_total{op="get",outcome="forbidden"} 1
	// botlife_operations_total{op="grant_role",outcome="ok"} 1
	// botlife_operations_total{op="route",outcome="no_bot"} 1
}
