package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// tracing returns the TracerProvider serve gives the telemetry, from
// OpenTelemetry's standard environment: none (nil, and spans go nowhere)
// unless OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// is set, and not when OTEL_SDK_DISABLED is true or OTEL_TRACES_EXPORTER
// is none. Otherwise an SDK TracerProvider batching spans to an OTLP/HTTP
// exporter, which reads the other OTEL_EXPORTER_OTLP_* variables itself
// (headers, timeout, TLS); the provider reads OTEL_TRACES_SAMPLER and
// OTEL_BSP_*. The resource's service.name is "botlife" unless
// OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say otherwise. Shut the
// provider down to flush it.
func tracing(ctx context.Context, env func(string) string, log *slog.Logger) (*sdktrace.TracerProvider, error) {
	if strings.EqualFold(strings.TrimSpace(env("OTEL_SDK_DISABLED")), "true") {
		return nil, nil
	}
	switch exp := strings.TrimSpace(env("OTEL_TRACES_EXPORTER")); exp {
	case "none":
		return nil, nil
	case "", "otlp":
	default:
		return nil, &usageError{fmt.Sprintf("OTEL_TRACES_EXPORTER is %q: the service exports traces with otlp (over HTTP) or none", exp)}
	}
	if env("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return nil, nil
	}
	if err := checkEndpoint(env); err != nil {
		return nil, err
	}
	if err := checkSampler(env); err != nil {
		return nil, err
	}
	name, proto := "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		name, proto = "OTEL_EXPORTER_OTLP_PROTOCOL", env("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if proto != "" && proto != "http/protobuf" {
		return nil, &usageError{fmt.Sprintf("%s is %q: the service exports traces with OTLP over HTTP only (http/protobuf; a collector listens for it on port 4318)", name, proto)}
	}
	// Later detectors win: the environment's service name over ours.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithHost(),
		resource.WithAttributes(attribute.String("service.name", "botlife")), resource.WithFromEnv())
	if err != nil { // a partial resource, such as a bad OTEL_RESOURCE_ATTRIBUTES: still usable
		log.Warn("tracing: the resource is incomplete", "err", err)
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: the OTLP exporter: %w", err)
	}
	// A batch the collector did not take (it is down, slow or refuses)
	// is dropped and reported to OpenTelemetry's global error handler -
	// as is any other error of the SDK's, the metrics' too - which by
	// default writes a line of its own to the standard logger: another
	// format, beside the service's log. They go to the log.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("opentelemetry: an error, such as spans the collector did not take", "err", err)
	}))
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// checkEndpoint refuses an OTLP endpoint the exporter cannot send to: the
// exporter itself takes any value, and one without a scheme (the
// collector's host:port, as a gRPC exporter takes it) or that does not
// parse leaves tracing on while every span goes to no host or to
// localhost, said only in a log line per batch. The traces' own variable
// is the one in effect when set, as the exporter reads them. The error
// names the variable, not the value: it may hold credentials.
func checkEndpoint(env func(string) string) error {
	name := "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	v := strings.TrimSpace(env(name))
	if v == "" {
		name, v = "OTEL_EXPORTER_OTLP_ENDPOINT", strings.TrimSpace(env("OTEL_EXPORTER_OTLP_ENDPOINT"))
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &usageError{name + " is not an http:// or https:// URL with a host, such as http://collector:4318 (OTLP over HTTP)"}
	}
	return nil
}

// checkSampler refuses an OTEL_TRACES_SAMPLER, or its
// OTEL_TRACES_SAMPLER_ARG, that the SDK would not take: it would log a
// line and sample every trace the caller does not decide - a typo in
// "traceidratio", or a ratio written "1%", sends every span to the
// collector the operator meant to spare. The names and ratios are the
// SDK's own (read case-insensitively, spaces trimmed, as it does).
func checkSampler(env func(string) string) error {
	sampler := strings.ToLower(strings.TrimSpace(env("OTEL_TRACES_SAMPLER")))
	switch sampler {
	case "", "always_on", "always_off", "parentbased_always_on", "parentbased_always_off":
		return nil
	case "traceidratio", "parentbased_traceidratio":
	default:
		return &usageError{fmt.Sprintf("OTEL_TRACES_SAMPLER is %q: give always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio", sampler)}
	}
	arg := strings.TrimSpace(env("OTEL_TRACES_SAMPLER_ARG"))
	if arg == "" {
		return nil // a ratio of 1
	}
	if v, err := strconv.ParseFloat(arg, 64); err != nil || !(v >= 0 && v <= 1) {
		return &usageError{fmt.Sprintf("OTEL_TRACES_SAMPLER_ARG is %q: %s takes a ratio from 0 to 1, such as 0.01 for 1%%", arg, sampler)}
	}
	return nil
}
