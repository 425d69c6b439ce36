package validate

import (
	"fmt"
	"strings"
)

// Rule is one check with a stable code and a default severity. Check looks at
// the definition (and at the facts the Index has already worked out) and
// calls report once per problem, with a path into the definition and a
// message that says what to fix. A Check must not modify the definition,
// and must report the same paths and messages for the same definition: a
// warning's message is part of the report's fingerprint (R4).
type Rule struct {
	Code     string
	Severity Severity
	// Summary is one line for documentation ("a goto points to no dialog").
	Summary string
	Check   func(d *Definition, ix *Index, report func(path, message string))
}

// Validator runs a set of rules. It is immutable and safe for concurrent use;
// the With* methods return modified copies.
type Validator struct {
	rules []Rule
}

// New returns a validator that runs exactly the given rules, in order. A rule
// whose code repeats an earlier one replaces it.
func New(rules ...Rule) *Validator {
	return (&Validator{}).With(rules...)
}

var defaultValidator = New(DefaultRules()...)

// Default returns the validator with [DefaultRules]. It is shared and
// immutable.
func Default() *Validator { return defaultValidator }

// Rules returns a copy of the validator's rules.
func (v *Validator) Rules() []Rule {
	return append([]Rule(nil), v.rules...)
}

// With returns a copy of v with the rules added; a rule whose code v already
// has replaces that rule in place.
func (v *Validator) With(rules ...Rule) *Validator {
	out := &Validator{rules: append([]Rule(nil), v.rules...)}
	for _, r := range rules {
		replaced := false
		for i := range out.rules {
			if out.rules[i].Code == r.Code {
				out.rules[i], replaced = r, true
				break
			}
		}
		if !replaced {
			out.rules = append(out.rules, r)
		}
	}
	return out
}

// Without returns a copy of v without the rules of the given codes. Unknown
// codes are ignored.
func (v *Validator) Without(codes ...string) *Validator {
	out := &Validator{}
	for _, r := range v.rules {
		drop := false
		for _, c := range codes {
			drop = drop || r.Code == c
		}
		if !drop {
			out.rules = append(out.rules, r)
		}
	}
	return out
}

// WithSeverity returns a copy of v in which the rule code reports with
// severity s (a team may promote a warning to an error). It fails when v has
// no such rule or s is not Error or Warning.
func (v *Validator) WithSeverity(code string, s Severity) (*Validator, error) {
	if s != Error && s != Warning {
		return nil, fmt.Errorf("validate: invalid severity %d for rule %q; use validate.Error or validate.Warning", uint8(s), code)
	}
	out := &Validator{rules: append([]Rule(nil), v.rules...)}
	for i := range out.rules {
		if out.rules[i].Code == code {
			out.rules[i].Severity = s
			return out, nil
		}
	}
	return nil, fmt.Errorf("validate: no rule %q to change; Rules() lists the codes", code)
}

// Finding codes the validator itself reports about broken rules.
const (
	CodeRulePanic   = "rule.panic"   // a rule's Check panicked
	CodeRuleInvalid = "rule.invalid" // a rule has no code, no Check or an invalid severity
)

// Validate runs every rule over d and returns the report. It never panics: a
// rule that panics or is malformed is reported as an error finding with code
// [CodeRulePanic] (quoting at most 200 bytes of the panic value) or
// [CodeRuleInvalid]. Its cost is linear in the size of d
// for the default rules.
func (v *Validator) Validate(d *Definition) Report {
	if d == nil {
		d = &Definition{}
	}
	return v.run(d, "")
}

// run runs every rule over d for a bot on channel bot ("" when unknown).
func (v *Validator) run(d *Definition, bot string) Report {
	ix := newIndex(d)
	ix.botChannel = bot
	f := &findings{}
	emit := f.emit // one function value for every rule: rules run without allocating
	for i := range v.rules {
		f.run(&v.rules[i], d, ix, emit)
	}
	return newReport(f.fs)
}

// findings collects the findings of one validation, rule by rule.
type findings struct {
	fs   []Finding
	rule *Rule // the rule running
}

func (f *findings) emit(path, message string) {
	f.fs = append(f.fs, Finding{Code: f.rule.Code, Severity: f.rule.Severity, Path: path, Message: message})
}

// run runs one rule; a malformed rule, or one that panics, is an error
// finding instead of its own.
func (f *findings) run(r *Rule, d *Definition, ix *Index, emit func(path, message string)) {
	if p := r.problems(); p != "" {
		f.fs = append(f.fs, Finding{Code: CodeRuleInvalid, Severity: Error,
			Message: fmt.Sprintf("rule %q %s; fix or remove the rule", r.Code, p)})
		return
	}
	n := len(f.fs)
	defer func() {
		if p := recover(); p != nil {
			f.fs = append(f.fs[:n], Finding{Code: CodeRulePanic, Severity: Error,
				Message: fmt.Sprintf("rule %q crashed (%s), so its findings are discarded; fix or remove the rule", r.Code, panicText(p))})
		}
	}()
	f.rule = r
	r.Check(d, ix, emit)
}

// maxPanicText is how many bytes of a crashed rule's panic value its
// [CodeRulePanic] finding quotes: all of a runtime error, not all of the
// document a rule may have panicked with (a message is stored, sent and
// printed with every report).
const maxPanicText = 200

// panicText is the panic value p as a rule.panic finding quotes it: at
// most maxPanicText bytes of valid UTF-8.
func panicText(p any) string {
	return cutAt(strings.ToValidUTF8(fmt.Sprint(p), "\uFFFD"), maxPanicText)
}

// problems says what makes r unusable, or "" when nothing does.
func (r *Rule) problems() string {
	var ps []string
	if strings.TrimSpace(r.Code) == "" {
		ps = append(ps, `has no code (give it a stable dotted one, such as "team.keyword_help")`)
	}
	if r.Check == nil {
		ps = append(ps, "has no Check function")
	}
	if r.Severity != Error && r.Severity != Warning {
		ps = append(ps, fmt.Sprintf("has severity %d, which is neither validate.Error nor validate.Warning", uint8(r.Severity)))
	}
	return strings.Join(ps, " and ")
}

// Index holds facts about a definition that several rules need, worked out
// once per validation in linear time.
type Index struct {
	botChannel string
	dialogs    map[string]int // dialog id -> first index
	reachable  map[string]bool
	declared   map[string]bool
	used       map[string]bool
}

// BotChannel returns the channel of the bot the definition is checked for,
// or "" when it is validated on its own ([Validator.Validate]).
func (ix *Index) BotChannel() string { return ix.botChannel }

// Dialog returns the index of the first dialog with id, if any. A dialog
// without an id (empty or blank, an error of its own) is none: no
// reference names it.
func (ix *Index) Dialog(id string) (int, bool) {
	i, ok := ix.dialogs[id]
	return i, ok
}

// Reachable reports whether the dialog id can be reached from the entry
// dialog, the fallback dialog, an intent or a keyword.
func (ix *Index) Reachable(id string) bool { return ix.reachable[id] }

// Declared reports whether an attribute of that name is declared.
func (ix *Index) Declared(name string) bool { return ix.declared[name] }

// Used reports whether an attribute of that name is read or written
// anywhere: in a field that the element's type uses (a text's, a buttons'
// or an input's text, an input's attribute, a condition's branches, a
// webhook's call), not in one it ignores.
func (ix *Index) Used(name string) bool { return ix.used[name] }

// Placeholders returns the attribute names used as {{name}} in s: a name
// of letters, digits, '_', '.' and '-', with spaces, tabs or line breaks
// around it allowed.
func Placeholders(s string) []string {
	var out []string
	braces(s, func(_ int, m string) {
		if name, ok := placeholderName(m); ok {
			out = append(out, name)
		}
	})
	return out
}

// braces calls f, left to right, with each "{{...}}" in s that has no
// brace inside and where it starts: what a designer may have meant as a
// placeholder. It is the regular expression \{\{[^{}]*\}\} of
// FindAllStringIndex, written out: a rule runs it on every text of a
// definition, and the expression cost validation a third of its time.
func braces(s string, f func(at int, m string)) {
	for i := 0; i < len(s); {
		a := strings.Index(s[i:], "{{")
		if a < 0 {
			return
		}
		a += i
		b := strings.IndexAny(s[a+2:], "{}")
		if b < 0 {
			return
		}
		if end := a + 2 + b; strings.HasPrefix(s[end:], "}}") {
			f(a, s[a:end+2])
			i = end + 2
		} else {
			i = a + 1
		}
	}
}

// placeholderName returns the attribute name of m, a "{{...}}" that
// braces found, if m is a placeholder: \{\{\s*([A-Za-z0-9_.-]+)\s*\}\}.
func placeholderName(m string) (string, bool) {
	name := strings.Trim(m[2:len(m)-2], " \t\n\f\r")
	if name == "" {
		return "", false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return "", false
		}
	}
	return name, true
}

// fillPlaceholders returns s with every placeholder replaced by with.
func fillPlaceholders(s, with string) string {
	var b strings.Builder
	last := 0
	braces(s, func(at int, m string) {
		if _, ok := placeholderName(m); ok {
			b.WriteString(s[last:at])
			b.WriteString(with)
			last = at + len(m)
		}
	})
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func newIndex(d *Definition) *Index {
	ix := &Index{
		dialogs:   make(map[string]int, len(d.Dialogs)),
		reachable: make(map[string]bool, len(d.Dialogs)),
		declared:  make(map[string]bool, len(d.Attributes)),
		used:      make(map[string]bool),
	}
	for i, dl := range d.Dialogs {
		if _, dup := ix.dialogs[dl.ID]; !dup && strings.TrimSpace(dl.ID) != "" {
			ix.dialogs[dl.ID] = i
		}
	}
	for _, a := range d.Attributes {
		ix.declared[a.Name] = true
	}
	use := func(names ...string) {
		for _, n := range names {
			if n != "" {
				ix.used[n] = true
			}
		}
	}
	for i := range d.Dialogs {
		for j := range d.Dialogs[i].Elements {
			attributeUses(&d.Dialogs[i].Elements[j], func(_ string, _ int, name string) { use(name) })
		}
	}
	ix.walk(d)
	return ix
}

// attributeUses calls f with every attribute name e reads or writes and the
// field it stands in (".text", ".call.url", ...; ".branches" with the
// branch's index k, else k is -1): only the fields of e's type, as the
// element runs them - an attribute left on a text element, or a call on a
// goto, is used by nothing (attribute.undeclared and attribute.unused must
// agree on that).
func attributeUses(e *Element, f func(field string, k int, name string)) {
	switch e.Type {
	case Text, Buttons, Input:
		for _, n := range Placeholders(e.Text) {
			f(".text", -1, n)
		}
		if e.Type == Input {
			f(".attribute", -1, e.Attribute)
		}
	case Condition:
		for k, b := range e.Branches {
			f(".branches", k, b.Attribute)
		}
	case Webhook:
		if e.Call != nil {
			for _, n := range Placeholders(e.Call.URL) {
				f(".call.url", -1, n)
			}
			f(".call.save_to", -1, e.Call.SaveTo)
		}
	}
}

// walk marks the dialogs reachable over goto and branch edges from every
// start point, breadth first: a goto's target and a condition's branches,
// as checkTargets checks them, not fields other elements happen to carry.
func (ix *Index) walk(d *Definition) {
	var queue []string
	visit := func(id string) {
		if _, ok := ix.dialogs[id]; ok && !ix.reachable[id] {
			ix.reachable[id] = true
			queue = append(queue, id)
		}
	}
	visit(d.EntryDialog)
	visit(d.FallbackDialog)
	for _, in := range d.Intents {
		visit(in.Dialog)
	}
	for _, k := range d.Keywords {
		visit(k.Dialog)
	}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, e := range d.Dialogs[ix.dialogs[id]].Elements {
			switch e.Type { // only these lead on; other elements' targets are ignored
			case GoTo:
				visit(e.Target)
			case Condition:
				for _, b := range e.Branches {
					visit(b.Dialog)
				}
			}
		}
	}
}
