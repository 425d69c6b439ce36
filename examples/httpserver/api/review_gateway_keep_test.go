package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
)

// The gateway's kept /route answers outlast a user's share: at 100
// messages a second, 1,500 messages with distinct keys later (15 s on the
// mock clock, more than a user's 1,000 entries), a late retry of the first
// message is replayed (Idempotent-Replayed: true), not routed a second
// time. It was evicted after 1,000 messages, about 10 s.
func TestGatewayRetryReplaysAfterManyMessages(t *testing.T) {
	f := apitest.NewFixture(t)
	c := &apitest.Client{T: t, Handler: f.Server}
	var b api.Bot
	c.Do("POST", "/bots", "dan", apitest.BotJSON).JSON(t, &b)
	if r := c.Do("POST", "/bots/"+b.ID+"/activate", "mia", ""); r.Status != 200 {
		t.Fatalf("activate: %d %s", r.Status, r.Body)
	}
	msg := func(i int) (body, key string) {
		return fmt.Sprintf(`{"channel":"sms","address":"+1 555 0100","end_user":"u%d"}`, i), fmt.Sprintf("Idempotency-Key: msg-%d", i)
	}
	const messages = 1500
	var first apitest.Response
	for i := range messages {
		body, key := msg(i)
		r := c.Do("POST", "/route", "gateway", body, key)
		if r.Status != 200 {
			t.Fatalf("message %d: %d %s", i, r.Status, r.Body)
		}
		if i == 0 {
			first = r
		}
		f.Clock.Add(10 * time.Millisecond)
	}
	sessions := func() string { return string(c.Do("GET", "/sessions?limit=500", "mia", "").Body) }
	before := sessions()
	body, key := msg(0)
	again := c.Do("POST", "/route", "gateway", body, key)
	if again.Status != 200 || again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(first.Body) {
		t.Errorf("retry of the first of %d messages: %d replayed=%q %s; want the first answer replayed %s",
			messages, again.Status, again.Header.Get("Idempotent-Replayed"), again.Body, first.Body)
	}
	if after := sessions(); after != before {
		t.Errorf("the retry routed the message again:\nbefore %s\nafter  %s", before, after)
	}
}
