module github.com/botlife/botlife/examples/compare

go 1.24

require (
	github.com/botlife/botlife v0.0.0
	github.com/casbin/casbin/v2 v2.135.0
	github.com/looplab/fsm v1.0.3
)

require (
	github.com/bmatcuk/doublestar/v4 v4.6.1 // indirect
	github.com/casbin/govaluate v1.3.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
)

replace github.com/botlife/botlife => ../..
