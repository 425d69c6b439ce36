package lifecycle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// The export document format (R13). Version 2 records the definition as
// the service's document, its format name and its text (R25).
const (
	ExportFormat  = "botlife.chatbot"
	ExportVersion = 2
)

// exportDoc is the versioned JSON document Export writes and Import reads.
// Its field order is the document's.
type exportDoc struct {
	Format      string     `json:"format"`
	Version     int        `json:"version"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Channel     string     `json:"channel"`
	Senders     []Sender   `json:"senders"`
	IdleTimeout string     `json:"idle_timeout"`
	Definition  Definition `json:"definition"`
}

// encodeExport writes the bot's settings and definition as a versioned JSON
// document (R13). The definition goes in as it is stored: its format name
// and its text, as a JSON string (R25). The encoding is canonical: the same bot always gives the
// same bytes, and ImportDocument of them gives back a Draft with the same
// settings and definition, which exports to the same bytes.
func encodeExport(b Bot) ([]byte, error) {
	senders := b.Senders
	if senders == nil {
		senders = []Sender{}
	}
	doc := exportDoc{Format: ExportFormat, Version: ExportVersion, Name: b.Name, Description: b.Description,
		Channel: b.Channel, Senders: senders, IdleTimeout: b.IdleTimeout.String(), Definition: b.Definition}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("export bot %s: %w", b.ID, err)
	}
	return buf.Bytes(), nil
}

// decodeExport reads an export document strictly: at most max bytes, one
// JSON object, no unknown fields, the right format and version, and valid
// settings (checked again when the Draft is made).
func decodeExport(data []byte, max int) (Create, error) {
	bad := func(problem string) (Create, error) {
		return Create{}, &InputError{Field: "import document", Value: shown(string(data)), Problem: problem}
	}
	if len(data) > max {
		return bad(fmt.Sprintf("is %d bytes; the limit is %d", len(data), max))
	}
	if p := strictJSON(data); p != "" {
		return bad(p)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var doc exportDoc
	if err := dec.Decode(&doc); err != nil {
		return bad(decodeProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return bad("has data after the document; import one document at a time")
	}
	if doc.Format != ExportFormat {
		return bad(fmt.Sprintf("has format %q; botlife imports %q documents written by Export", doc.Format, ExportFormat))
	}
	if doc.Version != ExportVersion {
		return bad(fmt.Sprintf("has version %d; this botlife reads version %d, whose definition is {\"format\", \"text\"} (export the bot again)", doc.Version, ExportVersion))
	}
	if doc.Definition.Format == "" {
		return bad("has a definition without a format; Export writes the definition's format name")
	}
	idle, err := time.ParseDuration(doc.IdleTimeout)
	if err != nil || idle <= 0 {
		return bad(fmt.Sprintf("has idle_timeout %q; use a positive duration such as \"30m0s\"", doc.IdleTimeout))
	}
	for _, s := range doc.Senders {
		if s.Channel == "" {
			return bad(fmt.Sprintf("has sender %q without a channel", s.Address))
		}
	}
	return Create{Name: doc.Name, Description: doc.Description, Channel: doc.Channel, Senders: doc.Senders,
		Definition: doc.Definition, IdleTimeout: idle}, nil
}

// decodeProblem says, in the words of the document rather than of Go's
// types, what encoding/json found wrong with an import document, and
// what to do (R13).
func decodeProblem(err error) string {
	const fix = "; import a document written by Export, unchanged"
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "is empty" + fix
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "ends before the document does (is it cut short?)" + fix
	case errors.As(err, &syn):
		return fmt.Sprintf("is not JSON: %v at byte %d%s", syn, syn.Offset, fix)
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Sprintf("is a JSON %s, not an export document (a JSON object)%s", typ.Value, fix)
	case errors.As(err, &typ):
		return fmt.Sprintf("has a %s as %q, which Export writes as a %s%s", typ.Value, typ.Field, jsonKind(typ.Type.Kind().String()), fix)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "has the " + strings.TrimPrefix(err.Error(), "json: ") + ", which Export does not write" + fix
	}
	return fmt.Sprintf("is not a valid export document: %v%s", err, fix)
}

// jsonKind names a Go kind as the JSON value that decodes into it.
func jsonKind(k string) string {
	switch k {
	case "int", "int64", "uint64":
		return "whole number"
	case "slice":
		return "list"
	case "struct":
		return "object"
	}
	return k
}
