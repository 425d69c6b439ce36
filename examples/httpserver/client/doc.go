// Package client is a Go client of the reference HTTP service, generated
// from its OpenAPI document (../api/openapi.yaml) by oapi-codegen, whose
// version go.mod pins (a tool of this module). Regenerate it with
// `go generate` here after changing the document; a test fails while the
// committed client differs from what the document generates, another
// checks the document also generates with ogen (pinned in go.mod too), and
// a third runs the README's curl session through this client against the
// service.
//
// It is a module of its own so that the generators stay out of botlife's
// go.mod.
package client

//go:generate go tool oapi-codegen -generate types,client -package client -o client.gen.go ../api/openapi.yaml
