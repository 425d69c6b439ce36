package apitest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// CurlLine is one curl command of the README and the status it promises.
type CurlLine struct {
	Text    string
	Method  string
	Target  string // path and query
	Headers http.Header
	Body    string
	Status  int           // from the comment after the command: "# 201 ..."
	MaxTime time.Duration // --max-time: the request ends then (streams)
}

var statusComment = regexp.MustCompile(`^\s*([1-5][0-9][0-9])\b`)

// CurlLines reads every line of readme that starts with "curl " and talks to
// 127.0.0.1:8080 (a trailing backslash continues a line). Each must end in a
// comment that starts with the expected status.
func CurlLines(readme []byte) ([]CurlLine, error) {
	var out []CurlLine
	lines := strings.Split(string(readme), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if !strings.HasPrefix(line, "curl ") || !strings.Contains(line, "127.0.0.1:8080") && !strings.HasSuffix(line, "\\") {
			continue
		}
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, "\\") + " " + strings.TrimSpace(lines[i])
		}
		c, err := parseCurl(line)
		if err != nil {
			return nil, fmt.Errorf("README line %q: %w", line, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// parseCurl reads the curl options the README uses: -s, -i, -N, -X,
// -H, --json, -d and --max-time, with single- or double-quoted words.
func parseCurl(line string) (CurlLine, error) {
	words, comment, err := shellWords(line)
	if err != nil {
		return CurlLine{}, err
	}
	c := CurlLine{Text: line, Method: "GET", Headers: http.Header{}}
	m := statusComment.FindStringSubmatch(comment)
	if m == nil {
		return c, fmt.Errorf("no expected status in the comment %q", comment)
	}
	c.Status, _ = strconv.Atoi(m[1])
	method := ""
	for i := 1; i < len(words); i++ {
		w := words[i]
		next := func() (string, error) {
			if i+1 >= len(words) {
				return "", fmt.Errorf("%s needs a value", w)
			}
			i++
			return words[i], nil
		}
		switch w {
		case "-s", "-i", "-N", "-sS", "-si":
		case "-X":
			if method, err = next(); err != nil {
				return c, err
			}
		case "-H":
			h, err := next()
			if err != nil {
				return c, err
			}
			k, v, ok := strings.Cut(h, ":")
			if !ok {
				return c, fmt.Errorf("header %q", h)
			}
			c.Headers.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		case "--json", "-d":
			if c.Body, err = next(); err != nil {
				return c, err
			}
			c.Method = "POST"
			if w == "--json" {
				c.Headers.Set("Content-Type", "application/json")
				c.Headers.Set("Accept", "application/json")
			} else {
				c.Headers.Set("Content-Type", "application/x-www-form-urlencoded")
			}
		case "--max-time":
			v, err := next()
			if err != nil {
				return c, err
			}
			secs, err := strconv.Atoi(v)
			if err != nil {
				return c, err
			}
			c.MaxTime = time.Duration(secs) * time.Second
		default:
			if strings.HasPrefix(w, "-") {
				return c, fmt.Errorf("option %s is not supported by the README test", w)
			}
			u := strings.TrimPrefix(strings.TrimPrefix(w, "http://"), "127.0.0.1:8080")
			if u == w || !strings.HasPrefix(u, "/") {
				return c, fmt.Errorf("URL %q is not on 127.0.0.1:8080", w)
			}
			c.Target = u
		}
	}
	if method != "" {
		c.Method = method
	}
	if c.Target == "" {
		return c, fmt.Errorf("no URL")
	}
	return c, nil
}

// shellWords splits a command line as sh would for the quoting the README
// uses, and returns the comment after an unquoted #.
func shellWords(line string) ([]string, string, error) {
	var words []string
	var cur strings.Builder
	in := false
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case ch == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, "", fmt.Errorf("unclosed single quote")
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			in = true
		case ch == '"':
			j := strings.IndexByte(line[i+1:], '"')
			if j < 0 {
				return nil, "", fmt.Errorf("unclosed double quote")
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			in = true
		case ch == ' ' || ch == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case ch == '#' && !in:
			return words, line[i+1:], nil
		default:
			cur.WriteByte(ch)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words, "", nil
}

// Curl runs the README's curl lines, in order, through a fresh fixture's
// handler (with check, which may be nil), and checks each status. A line
// with --max-time (a stream) ends after 100ms.
func Curl(t *testing.T, readme []byte, check Check) {
	lines, err := CurlLines(readme)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) < 10 {
		t.Fatalf("the README has %d curl lines; expected the HTTP service's session", len(lines))
	}
	f := NewFixture(t)
	c := &Client{T: t, Handler: f.Server, Check: check}
	for _, l := range lines {
		ctx, cancel := context.WithCancel(context.Background())
		if l.MaxTime > 0 {
			ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
		}
		req := httptest.NewRequestWithContext(ctx, l.Method, l.Target, bytes.NewReader([]byte(l.Body)))
		req.Header = l.Headers.Clone()
		r := c.Send(req, []byte(l.Body))
		cancel()
		if r.Status != l.Status {
			t.Errorf("%s\n  answered %d, the README says %d: %.300s", l.Text, r.Status, l.Status, r.Body)
		}
	}
}
