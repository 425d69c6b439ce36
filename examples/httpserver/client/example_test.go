package client_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/botlife/botlife/examples/httpserver/client"
)

// A client that authenticates as the demo user dan, creating a Draft bot.
// Problems arrive decoded: branch on their type.
func Example() {
	c, err := client.NewClientWithResponses("http://127.0.0.1:8080",
		client.WithRequestEditorFn(func(ctx context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer dan-token")
			return nil
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := c.CreateBotWithResponse(context.Background(), &client.CreateBotParams{}, client.CreateBot{Name: "Pizza", Channel: "sms"})
	switch {
	case err != nil:
		fmt.Println("no answer:", err)
	case r.JSON201 != nil:
		fmt.Println("created", r.JSON201.Id, "at", r.HTTPResponse.Header.Get("Location"))
	case r.ApplicationproblemJSONDefault != nil && r.ApplicationproblemJSONDefault.Type == client.Problemsforbidden:
		fmt.Println("dan may not create bots")
	default:
		fmt.Println(r.Status())
	}
}
