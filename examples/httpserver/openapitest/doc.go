// Package openapitest holds the OpenAPI conformance test of the reference
// HTTP service. It is a module of its own so that kin-openapi stays out of
// botlife's go.mod.
package openapitest
