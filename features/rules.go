package features

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// MaxRuleLen is the longest rule source accepted, in bytes: rules are
// written by people, and a bound keeps a hostile body from costing a large
// parse.
const MaxRuleLen = 4096

// maxRuleNodes bounds a rule's syntax tree (expr's own default is 10,000).
const maxRuleNodes = 500

// ruleEnvTemplate declares the variables a rule sees and their types, so
// that a misspelt field or a type error is caught when the rule is
// compiled, not when it is first run. RuleEnv fills the same names.
var ruleEnvTemplate = map[string]any{
	"recency_days":     float64(0),
	"frequency":        int(0),
	"monetary":         float64(0),
	"r_score":          int(0),
	"f_score":          int(0),
	"m_score":          int(0),
	"tier":             "",
	"historical_value": float64(0),
	"current_value":    float64(0),
	"events":           int(0),
	"attributes":       map[string]any{},
	"segments":         []string{},
}

// RuleVariables lists the names a rule may use, sorted (for error messages
// and documentation).
var RuleVariables = []string{"attributes", "current_value", "events", "f_score", "frequency",
	"historical_value", "m_score", "monetary", "r_score", "recency_days", "segments", "tier"}

// Rule is a compiled boolean expression over a customer's profile (the
// variables of RuleEnv), written in the expr language
// (github.com/expr-lang/expr): e.g. `monetary > 1000 && frequency >= 5`,
// `tier == "at_risk"`, `attributes.country == "France"`,
// `"at_risk" in segments && monetary > 200`. A Rule is immutable and safe
// for concurrent use.
type Rule struct {
	src  string
	prog *vm.Program
	// usesSegments says whether the rule reads `segments`; segment rules
	// may not (a segment defined by other segments would need an
	// evaluation order).
	usesSegments bool
}

// CompileRule parses and type-checks src once. The expression library is
// expr-lang/expr, a maintained, sandboxed, statically typed expression
// language (no loops, no side effects, a memory budget at run time) rather
// than a hand-written parser. A bad rule is a *FieldError on field "rule"
// saying what is wrong and where (line and column).
func CompileRule(src string) (*Rule, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &FieldError{Field: "rule", Msg: "is required: a boolean expression such as monetary > 1000 && frequency >= 5"}
	}
	if len(src) > MaxRuleLen {
		return nil, &FieldError{Field: "rule", Msg: fmt.Sprintf("is %d bytes; at most %d allowed", len(src), MaxRuleLen)}
	}
	if !utf8.ValidString(src) {
		return nil, &FieldError{Field: "rule", Msg: "is not valid UTF-8"}
	}
	prog, err := expr.Compile(src, expr.Env(ruleEnvTemplate), expr.AsBool(), expr.MaxNodes(maxRuleNodes))
	if err != nil {
		return nil, ruleError(err)
	}
	r := &Rule{src: src, prog: prog}
	node := prog.Node()
	ast.Walk(&node, identFinder{name: "segments", found: &r.usesSegments})
	return r, nil
}

// ruleError turns expr's error into a FieldError naming the position.
func ruleError(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		msg := fe.Message
		if strings.HasPrefix(msg, "unknown name ") {
			msg += " (known: " + strings.Join(RuleVariables, ", ") + "; customer attributes are attributes.NAME)"
		}
		return &FieldError{Field: "rule", Msg: fmt.Sprintf("is invalid at line %d, column %d: %s", fe.Line, fe.Column+1, msg)}
	}
	return &FieldError{Field: "rule", Msg: "is invalid: " + err.Error()}
}

type identFinder struct {
	name  string
	found *bool
}

func (f identFinder) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok && id.Value == f.name {
		*f.found = true
	}
}

// String returns the rule's source.
func (r *Rule) String() string { return r.src }

// Match evaluates the rule against env (normally from Store.RuleEnv). A
// run-time failure, such as comparing a text attribute with a number, is an
// error and no match.
func (r *Rule) Match(env map[string]any) (bool, error) {
	out, err := expr.Run(r.prog, env)
	return matchResult(out, err)
}

// matchVM is Match with a caller-owned VM, reused across a pass to save
// its allocation; the VM is not safe for concurrent use.
func (r *Rule) matchVM(v *vm.VM, env map[string]any) (bool, error) {
	out, err := v.Run(r.prog, env)
	return matchResult(out, err)
}

func matchResult(out any, err error) (bool, error) {
	if err != nil {
		return false, fmt.Errorf("cannot evaluate rule: %w", err)
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("%w: rule result is not a boolean", ErrInvalid)
	}
	return b, nil
}
