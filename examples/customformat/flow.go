package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/botlife/botlife/validate"
)

// FlowFormat is the name of this service's own bot format: a JSON flow of
// nodes, each saying something and naming the node that comes next.
//
//	{"start": "hello", "nodes": [
//	  {"id": "hello", "say": "Hi! Pizza or pasta?", "next": "order"},
//	  {"id": "order", "say": "Coming right up."}]}
const FlowFormat = "acme.flow/v1"

// Flow is a document in FlowFormat.
type Flow struct {
	Start string `json:"start"`
	Nodes []Node `json:"nodes"`
}

// Node is one step of a flow; Next is empty at the end.
type Node struct {
	ID   string `json:"id"`
	Say  string `json:"say"`
	Next string `json:"next,omitempty"`
}

// FlowChecker is the service's validate.Checker: it reads FlowFormat and
// has one error rule and one warning rule. It is a pure function of the
// document, as the lifecycle requires.
//
//	code              severity  what it finds
//	flow.invalid      error     the text is not one flow (bad JSON, unknown fields, data after it)
//	flow.dangling     error     start or a node's next names no node
//	flow.unreachable  warning   a node cannot be reached from start
type FlowChecker struct{}

// Formats returns FlowFormat.
func (FlowChecker) Formats() []string { return []string{FlowFormat} }

// Check decodes the flow strictly and runs the two rules.
func (FlowChecker) Check(doc validate.Document) validate.Report {
	var f Flow
	dec := json.NewDecoder(strings.NewReader(doc.Text))
	dec.DisallowUnknownFields()
	err := dec.Decode(&f)
	if err == nil {
		if _, after := dec.Token(); !errors.Is(after, io.EOF) {
			err = errors.New("data after the flow; send one JSON object")
		}
	}
	if err != nil {
		return validate.NewReport([]validate.Finding{{Code: "flow.invalid", Severity: validate.Error,
			Message: fmt.Sprintf("the flow is not valid %s JSON: %v", FlowFormat, err)}})
	}
	index := map[string]int{}
	for i, n := range f.Nodes {
		index[n.ID] = i
	}
	var fs []validate.Finding
	dangling := func(path, id string) {
		if _, ok := index[id]; !ok {
			fs = append(fs, validate.Finding{Code: "flow.dangling", Severity: validate.Error, Path: path,
				Message: fmt.Sprintf("node %q does not exist; name one of the flow's nodes", id)})
		}
	}
	dangling("start", f.Start)
	for i, n := range f.Nodes {
		if n.Next != "" {
			dangling(fmt.Sprintf("nodes[%d].next", i), n.Next)
		}
	}
	seen := map[string]bool{}
	for id := f.Start; id != "" && !seen[id]; {
		seen[id] = true
		i, ok := index[id]
		if !ok {
			break
		}
		id = f.Nodes[i].Next
	}
	for i, n := range f.Nodes {
		if !seen[n.ID] {
			fs = append(fs, validate.Finding{Code: "flow.unreachable", Severity: validate.Warning, Path: fmt.Sprintf("nodes[%d]", i),
				Message: fmt.Sprintf("node %q cannot be reached from start; link it or remove it", n.ID)})
		}
	}
	return validate.NewReport(fs)
}
