// Command service runs botlife's reference HTTP service (package
// examples/httpserver/api) on a persistent store, as a team deploys it:
//
//	go run . -store sqlite:botlife.db -users demo-users.txt
//	go run . -store postgres://botlife@db/botlife -users /etc/botlife/users -addr :8080
//
// It is a module of its own because it carries the SQLite and PostgreSQL
// drivers, which the root module does not.
//
// # Commands
//
//	service [serve] [flags]          the HTTP service (the default)
//	service migrate [flags]          bring the store's schema up to date, then exit
//	service export [flags] BOT       write a bot as JSON to standard output (R13)
//	service import [flags] [FILE]    make a Draft from an exported bot, print its id
//	service expire-due [flags]       ExpireDue once in every workspace of the users file
//
// service COMMAND -h lists a command's flags. Every flag may also be set
// by an environment variable: BOTLIFE_ and the flag's name in capitals with
// _ for - (-store is BOTLIFE_STORE, -write-timeout BOTLIFE_WRITE_TIMEOUT);
// a flag on the command line wins. A bad value stops the command with an
// error naming the flag or the variable, and exit status 2.
//
// # Stores
//
// -store is sqlite:FILE (created if missing; several processes may share
// it on one machine), postgres://... (any number of replicas; serve
// migrates it on start unless -migrate=false, when the migrate command
// does), or memory (lost on exit: for trying things only).
//
// Bot ids are readable, bot-1, bot-2, ..., numbered by the store (a table
// or sequence of the service's own beside the store's), so no restart or
// replica gives one twice and the README's curl session works as written;
// -ids random gives ids like bot_3f2a9c0d1e4b instead.
//
// # Users
//
// -users names the users file: each line gives a token and the user,
// messaging gateway or system job it stands for, in one workspace (R27),
// and for a user the role to provision (see demo-users.txt, whose tokens
// are the README's). The service runs ExpireDue every -expire-every in each
// workspace the file names, on every replica: it is safe to run anywhere
// at once.
//
// # Replicas
//
// Any number of processes may serve one PostgreSQL database (or, on one
// machine, one SQLite file). Idempotency-Keys and dry-run plans are kept in
// the database beside the store (table service_kept, see sqlKeeper), so
// every replica sees them and a restart forgets none: a key sent to two
// replicas makes one bot, a plan made on one applies on another. Each
// principal of the users file keeps at most 8 MiB and 1,000 entries there -
// the gateway 64 MiB and 100,000 per workspace, an answer per message
// routed: a retry is replayed while its answer is among the last 100,000
// (about 17 minutes at 100 messages a second) and younger than 24 hours -
// dropping its own oldest first; expired entries are swept every
// -expire-every. The event stream of each replica shows every replica's
// commits (PostgreSQL notifies; SQLite is polled every second). With the
// memory store they are kept in the process (api.MemoryKeeper).
//
// # Operations
//
// GET /healthz answers 200 while the process serves. GET /readyz answers
// 200 when the store answers, its schema is migrated and the users file's
// roles are provisioned, else a 503 unavailable problem whose detail says which is missing. GET /metrics gives the operations'
// metrics in the Prometheus format (package telemetry; no ids, names or
// message text) to the operator's system token alone - a system credential
// of the default workspace - since they count every workspace (R27), and
// the requests' (botlife_http_requests_total and
// botlife_http_request_duration_seconds, by route pattern such as
// /bots/{id}, method and status class: never the path itself). On
// SIGTERM or SIGINT the service stops listening, ends event streams (clients
// resume with Last-Event-ID), and lets requests in flight finish for up to
// -shutdown-timeout. An API request whose operations run past a tenth
// before -write-timeout (at most a second before) - the store behind a
// lock or out of reach - is answered 503 timeout with Retry-After, an
// answer the client still receives. Keeping a request's response under
// its Idempotency-Key, or a dry run's plan, goes on if the client hangs
// up, for up to -keeper-timeout (default 5s): a dry run whose plan is not
// kept by then answers 503 timeout, as does claiming an Idempotency-Key
// or taking a plan to apply that takes longer. Keeping a response or a
// dry run's plan comes after the request's operations, outside the time
// -write-timeout leaves them: a keeper that hangs holds the answer up to
// -keeper-timeout more, and an answer later than -write-timeout never
// reaches the client (it reads EOF), so keep -keeper-timeout well below
// -write-timeout. The log never holds a token or a connection string's
// password.
//
// # Traces
//
// Off unless OTEL_EXPORTER_OTLP_ENDPOINT (the collector's base URL, such
// as http://collector:4318) or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the
// full URL, .../v1/traces) is set - an http:// or https:// URL with a
// host: anything else, such as a bare collector:4318, stops the service
// with exit status 2; OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none turn them off again. Spans go in batches with
// OTLP over HTTP (http/protobuf only: a grpc protocol is refused), as
// service.name "botlife" unless OTEL_SERVICE_NAME or
// OTEL_RESOURCE_ATTRIBUTES say otherwise; the other standard variables
// apply (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _CERTIFICATE,
// OTEL_TRACES_SAMPLER, OTEL_BSP_*; a sampler or sampler ratio the SDK would
// not take, where it would sample everything, stops the service with exit
// status 2 too). A request's traceparent and tracestate
// make it part of the caller's trace (with the default sampler a caller
// that says sampled is sampled: set OTEL_TRACES_SAMPLER=traceidratio to
// decide here alone); each request has a server span named by its route
// pattern ("POST /bots/{id}/activate"; /healthz, /readyz and /metrics
// have none) and each Manager operation a span inside it (each ExpireDue
// run a trace of its own). A span holds the
// route pattern, method, status code, op and outcome: never a path, query,
// id, token, name or message text. On shutdown, after the server has
// stopped, the spans still batched are sent, for up to -shutdown-timeout.
// Spans the collector does not take (it is down, slow or refuses them) are
// dropped, never waited on by a request, and said in the log.
// The commands other than serve record no traces.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // schedules name IANA time zones (R23); the host may lack the tz database
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { <-ctx.Done(); stop() }() // a second signal ends the process at once
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr, nil)
	stop()
	var usage *usageError
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "service:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "service:", err)
		os.Exit(1)
	}
}

// run reads the command and its configuration from args and env and runs
// it. hooks, for tests, may be nil.
func run(ctx context.Context, args []string, env func(string) string, stdin io.Reader, stdout, stderr io.Writer, hooks *hooks) error {
	cmd, c, rest, err := parseConfig(args, env, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	switch cmd {
	case "serve":
		if err := needs(c.Users != "", "-users (or BOTLIFE_USERS): the users file, such as demo-users.txt", rest, 0); err != nil {
			return err
		}
		return serve(ctx, c, env, log, hooks)
	case "migrate":
		if err := needs(true, "", rest, 0); err != nil {
			return err
		}
		return migrate(ctx, c, stdout)
	case "export":
		if err := needs(c.As != "", "-as (or BOTLIFE_AS): the user to act as", rest, 1); err != nil {
			return err
		}
		if len(rest) != 1 {
			return &usageError{"export takes one argument, the bot's id"}
		}
		return export(ctx, c, rest[0], stdout)
	case "import":
		if err := needs(c.As != "", "-as (or BOTLIFE_AS): the user to act as", rest, 1); err != nil {
			return err
		}
		return importBot(ctx, c, rest, stdin, stdout, log)
	}
	if err := needs(c.Users != "", "-users (or BOTLIFE_USERS): the users file, whose workspaces it settles", rest, 0); err != nil {
		return err
	}
	return expireDue(ctx, c, stdout, log)
}

// needs checks a command's required setting and that it has at most n
// arguments.
func needs(ok bool, missing string, args []string, n int) error {
	switch {
	case !ok:
		return &usageError{"missing " + missing}
	case len(args) > n:
		return &usageError{fmt.Sprintf("unexpected arguments %q", args[n:])}
	}
	return nil
}
