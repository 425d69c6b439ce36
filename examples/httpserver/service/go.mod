module github.com/botlife/botlife/examples/httpserver/service

go 1.25.0

require (
	github.com/botlife/botlife v0.0.0
	github.com/botlife/botlife/store/postgres v0.0.0
	github.com/botlife/botlife/store/sqlite v0.0.0
	github.com/jackc/pgx/v5 v5.12.0
	modernc.org/sqlite v1.46.1
)

require (
	github.com/benbjohnson/clock v1.3.5 // indirect
	github.com/dustin/go-humanize v1.1.0 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/looplab/fsm v1.0.3 // indirect
	github.com/mattn/go-isatty v0.0.24 // indirect
	github.com/ncruces/go-strftime v1.1.0 // indirect
	github.com/remyoudompheng/bigfft v0.0.0-20230129092748-24d4a6f8daec // indirect
	golang.org/x/exp v0.0.0-20251023183803-a4bb9ffd2546 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/sys v0.41.0 // indirect
	golang.org/x/text v0.41.0 // indirect
	modernc.org/libc v1.67.6 // indirect
	modernc.org/mathutil v1.7.1 // indirect
	modernc.org/memory v1.12.1 // indirect
)

replace (
	github.com/botlife/botlife => ../../..
	github.com/botlife/botlife/store/postgres => ../../../store/postgres
	github.com/botlife/botlife/store/sqlite => ../../../store/sqlite
)
