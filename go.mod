module github.com/botlife/botlife

go 1.24

require (
	github.com/benbjohnson/clock v1.3.5
	github.com/google/go-cmp v0.7.0
	github.com/looplab/fsm v1.0.3
	pgregory.net/rapid v1.3.0
)
