package api

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the API's OpenAPI 3.0.3 document, served at /openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	h := http.Header{}
	h.Set("Content-Type", "application/yaml")
	h.Set("Cache-Control", "max-age=300")
	s.write(w, r, rendered{status: http.StatusOK, header: h, body: OpenAPI})
}

// problemDoc describes one problem type at its URI: GET /problems/{name}.
func (s *Server) problemDoc(w http.ResponseWriter, r *http.Request) {
	k, ok := kindByName(r.PathValue("name"))
	if !ok {
		s.writeProblem(w, r, fail(probNoRoute, "no problem type is called "+trunc(r.PathValue("name"))+"; see /openapi.yaml"))
		return
	}
	s.write(w, r, s.mustRender(ProblemType{Type: k.Type(), Title: k.Title, Status: k.Status}))
}

// ProblemType describes a problem type.
type ProblemType struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
}

func (s *Server) mustRender(v any) rendered {
	b, _ := encode(v)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return rendered{status: http.StatusOK, header: h, body: b}
}
