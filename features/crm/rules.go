package crm

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/affinity-rec/affinity/features"
)

// MaxRuleLen is the longest rule source accepted, in bytes: rules are
// written by people, and a bound keeps a hostile body from costing a large
// parse.
const MaxRuleLen = 4096

// maxRuleNodes bounds a rule's syntax tree (expr's own default is 10,000).
const maxRuleNodes = 500

// RuleMemoryBudget bounds what one evaluation may build, in expr's units:
// elements of the arrays, ranges and maps it creates (expr's default is a
// million). A profile rule reads a handful of fields and a few short lists;
// one that needs more is refused when it is defined, and counts as no
// match if a customer's data ever drives it over.
const RuleMemoryBudget = 10_000

// MaxRuleRange is the most elements a range (`a..b`) in a rule may have.
// Its bounds must be integer literals: a range is a fixed set of values,
// and `frequency in 1..5` costs nothing (expr rewrites it as two
// comparisons) while `1..999999` would be built on every evaluation.
const MaxRuleRange = 1000

// ruleBuiltins are the expr builtins a rule may call; every other one is
// disabled. Left out: serialisation and encoding (toJSON, fromJSON,
// toBase64, fromBase64), string and list builders whose output can grow
// faster than the rule's text (repeat, replace, split, splitAfter, join,
// concat, flatten, toPairs, fromPairs, groupBy) and folds with an
// accumulator (reduce): none reads a profile, and each can turn a short
// rule into seconds of work or gigabytes per customer. expr counts only
// arrays and maps against the memory budget, not strings, so they are
// refused up front.
var ruleBuiltins = []string{
	"abs", "all", "any", "bitand", "bitnand", "bitnot", "bitor", "bitshl", "bitshr", "bitushr", "bitxor",
	"ceil", "count", "date", "duration", "filter", "find", "findIndex", "findLast", "findLastIndex",
	"first", "float", "floor", "get", "hasPrefix", "hasSuffix", "indexOf", "int", "keys", "last",
	"lastIndexOf", "len", "lower", "map", "max", "mean", "median", "min", "none", "now", "one",
	"reverse", "round", "sort", "sortBy", "string", "sum", "take", "timezone", "trim", "trimPrefix",
	"trimSuffix", "type", "uniq", "upper", "values",
}

// ruleOptions are the expr options every rule is compiled with: the
// profile's variables and types, a boolean result, the node bound and the
// builtin allow-list.
func ruleOptions(env map[string]any) []expr.Option {
	opts := []expr.Option{expr.Env(env), expr.AsBool(), expr.MaxNodes(maxRuleNodes), expr.DisableAllBuiltins()}
	for _, name := range ruleBuiltins {
		opts = append(opts, expr.EnableBuiltin(name))
	}
	return opts
}

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
	"churn_risk":       float64(0),
	"p_alive":          float64(0),
	"expected_value":   float64(0),
	"events":           int(0),
	"attributes":       map[string]any{},
	"segments":         []string{},
}

// RuleVariables lists the names a rule may use, sorted (for error messages
// and documentation).
var RuleVariables = []string{"attributes", "churn_risk", "current_value", "events", "expected_value", "f_score", "frequency",
	"historical_value", "m_score", "monetary", "p_alive", "r_score", "recency_days", "segments", "tier"}

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
// language (no side effects, a memory budget at run time) rather than a
// hand-written parser. On top of expr's checks it enforces the cost
// bounds of this file: allowed builtins, literal ranges, no nested loops,
// no variables. A bad rule is a *FieldError on field "rule" saying what is
// wrong and, for a syntax or type error, where (line and column).
func CompileRule(src string) (*Rule, error) {
	return compileRule(src, true)
}

// ruleSpec is what a kind of rule is evaluated over: profile rules (the
// default) or product rules (productrules.go).
type ruleSpec struct {
	env     map[string]any
	vars    []string
	attrs   string // how the spec's attributes are written, for messages
	example string
}

var profileSpec = ruleSpec{env: ruleEnvTemplate, vars: RuleVariables, attrs: "customer attributes are attributes.NAME",
	example: "monetary > 1000 && frequency >= 5"}

// CompileStoredRule compiles a rule read back from the store. One stored
// before the cost bounds existed still compiles, with expr's own builtins
// and no shape checks (its evaluations keep RuleMemoryBudget, so a huge
// range fails fast), and overBounds says why it would be refused today,
// for the caller to log: a store must open and keep its definitions. err
// is a rule that does not compile at all.
func CompileStoredRule(src string) (r *Rule, overBounds, err error) {
	r, err = compileRule(src, true)
	if err == nil {
		return r, nil, nil
	}
	legacy, lerr := compileRule(src, false)
	if lerr != nil {
		return nil, nil, err
	}
	return legacy, err, nil
}

func compileRule(src string, bounded bool) (*Rule, error) {
	return compileRuleSpec(src, bounded, profileSpec)
}

func compileRuleSpec(src string, bounded bool, spec ruleSpec) (*Rule, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &features.FieldError{Field: "rule", Msg: "is required: a boolean expression such as " + spec.example}
	}
	if len(src) > MaxRuleLen {
		return nil, &features.FieldError{Field: "rule", Msg: fmt.Sprintf("is %d bytes; at most %d allowed", len(src), MaxRuleLen)}
	}
	if !utf8.ValidString(src) {
		return nil, &features.FieldError{Field: "rule", Msg: "is not valid UTF-8"}
	}
	opts := []expr.Option{expr.Env(spec.env), expr.AsBool(), expr.MaxNodes(maxRuleNodes)}
	if bounded {
		opts = ruleOptions(spec.env)
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, ruleError(err, spec)
	}
	r := &Rule{src: src, prog: prog}
	node := prog.Node()
	if bounded {
		if err := checkRuleShape(node); err != nil {
			return nil, err
		}
	}
	ast.Walk(&node, identFinder{name: "segments", found: &r.usesSegments})
	return r, nil
}

// ruleError turns expr's error into a FieldError naming the position.
func ruleError(err error, spec ruleSpec) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		msg := fe.Message
		if name, ok := strings.CutPrefix(msg, "unknown name "); ok && slices.Contains(builtin.Names, name) {
			msg = name + " is not allowed in a rule: it can make one evaluation cost seconds or gigabytes" +
				" (docs/customer-value.md lists the functions a rule may call)"
		} else if strings.HasPrefix(msg, "unknown name ") {
			msg += " (known: " + strings.Join(spec.vars, ", ") + "; " + spec.attrs + ")"
		}
		return &features.FieldError{Field: "rule", Msg: fmt.Sprintf("is invalid at line %d, column %d: %s", fe.Line, fe.Column+1, plainTypes(msg))}
	}
	return &features.FieldError{Field: "rule", Msg: "is invalid: " + plainTypes(err.Error())}
}

// goTypeName matches the Go type names expr puts in its messages
// ("mismatched types map[string]interface {} and int"). Users write rules
// over JSON profiles, so plainTypes says object, number, text and list.
var goTypeName = regexp.MustCompile(`map\[string\]interface \{\}|\[\]interface \{\}|interface \{\}|\[\]string|\b(?:float64|float32|int64|int|bool|string)\b`)

var plainTypeNames = map[string]string{
	"map[string]interface {}": "object",
	"[]interface {}":          "list",
	"interface {}":            "any",
	"[]string":                "list of text",
	"float64":                 "number",
	"float32":                 "number",
	"int64":                   "whole number",
	"int":                     "whole number",
	"bool":                    "true/false",
	"string":                  "text",
}

func plainTypes(msg string) string {
	return goTypeName.ReplaceAllStringFunc(msg, func(t string) string { return plainTypeNames[t] })
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

// Match evaluates the rule against env (normally from Service.RuleEnv). A
// run-time failure, such as comparing a text attribute with a number or
// going over RuleMemoryBudget, is an error and no match.
func (r *Rule) Match(env map[string]any) (bool, error) {
	v := vm.VM{MemoryBudget: RuleMemoryBudget}
	out, err := v.Run(r.prog, env)
	return matchResult(out, err)
}

// matchVM is Match with a caller-owned VM, reused across a pass to save
// its allocation; the VM is not safe for concurrent use.
func (r *Rule) matchVM(v *vm.VM, env map[string]any) (bool, error) {
	v.MemoryBudget = RuleMemoryBudget
	out, err := v.Run(r.prog, env)
	return matchResult(out, err)
}

func matchResult(out any, err error) (bool, error) {
	if err != nil {
		return false, fmt.Errorf("cannot evaluate rule: %w", err)
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("%w: rule result is not a boolean", features.ErrInvalid)
	}
	return b, nil
}

// checkRuleShape refuses the constructs whose cost a rule's length does not
// bound: a variable (`let`, with which `let b = a + a` doubles a string
// per line), a range without literal bounds or longer than MaxRuleRange,
// and a loop (all, any, filter, map, ...) inside another loop's body,
// whose cost is the product of two lists. What is left costs at most the
// rule's size times the longest list it reads. It walks the optimised
// tree, so `frequency in 1..5000`, which expr turns into two comparisons,
// is allowed.
func checkRuleShape(node ast.Node) error {
	v := &shapeVisitor{}
	ast.Walk(&node, v)
	if v.bad == nil {
		return nil
	}
	return &features.FieldError{Field: "rule", Msg: v.msg}
}

type shapeVisitor struct {
	bad ast.Node
	msg string
}

func (v *shapeVisitor) refuse(n ast.Node, msg string) {
	if v.bad == nil {
		v.bad, v.msg = n, msg
	}
}

func (v *shapeVisitor) Visit(np *ast.Node) {
	switch n := (*np).(type) {
	case *ast.BuiltinNode:
		// expr parses its loop builtins (reduce, groupBy, ...) whatever
		// the disabled list says: the allow-list is enforced here too.
		if !slices.Contains(ruleBuiltins, n.Name) {
			v.refuse(n, "may not call "+n.Name+": it can make one evaluation cost seconds or gigabytes (docs/customer-value.md lists the functions a rule may call)")
		}
	case *ast.VariableDeclaratorNode:
		v.refuse(n, fmt.Sprintf("may not declare variables (let %s = ...): write the expression where it is used", n.Name))
	case *ast.BinaryNode:
		if n.Operator != ".." {
			return
		}
		lo, okLo := intLiteral(n.Left)
		hi, okHi := intLiteral(n.Right)
		if !okLo || !okHi {
			v.refuse(n, "may use a range (a..b) only with integer literals as bounds, such as 1..10")
		} else if hi-lo+1 > MaxRuleRange {
			v.refuse(n, fmt.Sprintf("has a range of %d elements (%d..%d); at most %d allowed", hi-lo+1, lo, hi, MaxRuleRange))
		}
	case *ast.PredicateNode:
		inner := &loopFinder{}
		ast.Walk(&n.Node, inner)
		if inner.found {
			v.refuse(n, "may not nest a loop (all, any, none, one, filter, map, count, sum, find, ...) inside another one's body: its cost is the product of both lists")
		}
	}
}

type loopFinder struct{ found bool }

func (f *loopFinder) Visit(n *ast.Node) {
	if _, ok := (*n).(*ast.PredicateNode); ok {
		f.found = true
	}
}

// intLiteral reads an integer literal, possibly negated.
func intLiteral(n ast.Node) (int, bool) {
	switch n := n.(type) {
	case *ast.IntegerNode:
		return n.Value, true
	case *ast.UnaryNode:
		if n.Operator == "-" {
			if v, ok := intLiteral(n.Node); ok {
				return -v, true
			}
		}
	}
	return 0, false
}
