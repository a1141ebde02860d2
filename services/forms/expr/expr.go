// Package expr is the small condition language of the form definitions:
// whether a page or a field is shown depends on earlier answers, e.g.
//
//	herkunft == "ausserkantonal" and not (anzahl_hunde < 2)
//	contains(zusatz, "garage") or answered(bemerkung)
//
// It owns parsing and evaluation only; it knows nothing of forms or
// templates. Operators, weakest first: or, and, not, the comparisons
// == != < <= > >= (numeric when both sides are numbers, else on strings)
// and parentheses. Operands are identifiers (the id of a field, whose
// answer is looked up at evaluation), "string" literals, numbers, true and
// false, and the functions contains(field, "value") (a multiple choice
// includes a value) and answered(field) (the answer is not empty).
package expr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Lookup returns the answer of a field: one value, or several for a
// multiple choice; nil when unanswered.
type Lookup func(field string) []string

// Expr is a parsed condition. It is immutable and safe for concurrent use.
type Expr struct {
	src  string
	root node
	refs []string
}

// String returns the source text.
func (e *Expr) String() string { return e.src }

// Refs lists the field identifiers the condition reads, in order of
// appearance, without repetitions.
func (e *Expr) Refs() []string { return e.refs }

// Eval reports whether the condition holds for the answers.
func (e *Expr) Eval(answers Lookup) bool { return truthy(e.root.eval(answers)) }

// Parse parses a condition; the error names the position (1-based column)
// and what was expected.
func Parse(src string) (*Expr, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, fmt.Errorf("column %d: unexpected %q", t.pos, t.text)
	}
	e := &Expr{src: src, root: n}
	seen := map[string]bool{}
	n.walk(func(id string) {
		if !seen[id] {
			seen[id] = true
			e.refs = append(e.refs, id)
		}
	})
	return e, nil
}

// value is the result of evaluating a node: a list of strings (an answer,
// a literal) or a boolean.
type value struct {
	strs   []string
	b      bool
	isBool bool
}

func truthy(v value) bool {
	if v.isBool {
		return v.b
	}
	return len(v.strs) > 0 && v.strs[0] != ""
}

func boolean(b bool) value { return value{b: b, isBool: true} }

// first returns the single-value form of v.
func (v value) first() string {
	if v.isBool {
		return strconv.FormatBool(v.b)
	}
	if len(v.strs) == 0 {
		return ""
	}
	return v.strs[0]
}

type node interface {
	eval(Lookup) value
	walk(func(id string))
}

type (
	ident   struct{ name string }
	literal struct{ v value }
	notNode struct{ x node }
	binary  struct {
		op   string
		l, r node
	}
	call struct {
		fn    string
		field string
		arg   string
	}
)

func (n ident) eval(l Lookup) value   { return value{strs: l(n.name)} }
func (n literal) eval(Lookup) value   { return n.v }
func (n notNode) eval(l Lookup) value { return boolean(!truthy(n.x.eval(l))) }
func (n call) eval(l Lookup) value {
	vals := l(n.field)
	switch n.fn {
	case "contains":
		for _, v := range vals {
			if v == n.arg {
				return boolean(true)
			}
		}
		return boolean(false)
	default: // answered
		for _, v := range vals {
			if strings.TrimSpace(v) != "" {
				return boolean(true)
			}
		}
		return boolean(false)
	}
}

func (n binary) eval(l Lookup) value {
	switch n.op {
	case "and":
		return boolean(truthy(n.l.eval(l)) && truthy(n.r.eval(l)))
	case "or":
		return boolean(truthy(n.l.eval(l)) || truthy(n.r.eval(l)))
	}
	a, b := n.l.eval(l).first(), n.r.eval(l).first()
	cmp := strings.Compare(a, b)
	if x, err := strconv.ParseFloat(a, 64); err == nil {
		if y, err := strconv.ParseFloat(b, 64); err == nil {
			cmp = compareFloat(x, y)
		}
	}
	switch n.op {
	case "==":
		return boolean(cmp == 0)
	case "!=":
		return boolean(cmp != 0)
	case "<":
		return boolean(cmp < 0)
	case "<=":
		return boolean(cmp <= 0)
	case ">":
		return boolean(cmp > 0)
	default: // >=
		return boolean(cmp >= 0)
	}
}

func compareFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func (n ident) walk(f func(string))   { f(n.name) }
func (literal) walk(func(string))     {}
func (n notNode) walk(f func(string)) { n.x.walk(f) }
func (n binary) walk(f func(string))  { n.l.walk(f); n.r.walk(f) }
func (n call) walk(f func(string))    { f(n.field) }

// Lexer.

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tOp
	tLParen
	tRParen
	tComma
)

type token struct {
	kind tokKind
	text string // for tString the unquoted value
	pos  int    // 1-based column
}

func lex(src string) ([]token, error) {
	var toks []token
	rs := []rune(src)
	for i := 0; i < len(rs); {
		c := rs[i]
		pos := i + 1
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '(':
			toks = append(toks, token{tLParen, "(", pos})
			i++
		case c == ')':
			toks = append(toks, token{tRParen, ")", pos})
			i++
		case c == ',':
			toks = append(toks, token{tComma, ",", pos})
			i++
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				if rs[j] == '\\' && j+1 < len(rs) {
					j++
				}
				b.WriteRune(rs[j])
			}
			if j >= len(rs) {
				return nil, fmt.Errorf("column %d: unterminated string", pos)
			}
			toks = append(toks, token{tString, b.String(), pos})
			i = j + 1
		case strings.ContainsRune("=!<>&|", c):
			raw := string(c)
			if i+1 < len(rs) && (rs[i+1] == '=' || rs[i+1] == c && (c == '&' || c == '|')) {
				raw += string(rs[i+1])
			}
			op, ok := map[string]string{"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
				"&&": "and", "||": "or", "!": "not"}[raw]
			if !ok {
				return nil, fmt.Errorf("column %d: unknown operator %q (use == != < <= > >= and or not)", pos, raw)
			}
			toks = append(toks, token{tOp, op, pos})
			i += len([]rune(raw))
		case c == '-' || unicode.IsDigit(c):
			j := i + 1
			for j < len(rs) && (unicode.IsDigit(rs[j]) || rs[j] == '.') {
				j++
			}
			if _, err := strconv.ParseFloat(string(rs[i:j]), 64); err != nil {
				return nil, fmt.Errorf("column %d: bad number %q", pos, string(rs[i:j]))
			}
			toks = append(toks, token{tNumber, string(rs[i:j]), pos})
			i = j
		case c == '_' || unicode.IsLetter(c):
			j := i + 1
			for j < len(rs) && (rs[j] == '_' || rs[j] == '.' || unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j])) {
				j++
			}
			word := string(rs[i:j])
			if word == "and" || word == "or" || word == "not" {
				toks = append(toks, token{tOp, word, pos})
			} else {
				toks = append(toks, token{tIdent, word, pos})
			}
			i = j
		default:
			return nil, fmt.Errorf("column %d: unexpected character %q", pos, c)
		}
	}
	return append(toks, token{tEOF, "end", len(rs) + 1}), nil
}

// Parser (recursive descent).

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) or() (node, error)  { return p.chain("or", p.and) }
func (p *parser) and() (node, error) { return p.chain("and", p.not) }

func (p *parser) chain(op string, sub func() (node, error)) (node, error) {
	l, err := sub()
	if err != nil {
		return nil, err
	}
	for t := p.peek(); t.kind == tOp && t.text == op; t = p.peek() {
		p.next()
		r, err := sub()
		if err != nil {
			return nil, err
		}
		l = binary{op: op, l: l, r: r}
	}
	return l, nil
}

func (p *parser) not() (node, error) {
	if t := p.peek(); t.kind == tOp && t.text == "not" {
		p.next()
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return notNode{x}, nil
	}
	return p.comparison()
}

func (p *parser) comparison() (node, error) {
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if t.kind != tOp || t.text == "and" || t.text == "or" || t.text == "not" {
		return l, nil
	}
	p.next()
	r, err := p.operand()
	if err != nil {
		return nil, err
	}
	if t2 := p.peek(); t2.kind == tOp && t2.text != "and" && t2.text != "or" && t2.text != "not" {
		return nil, fmt.Errorf("column %d: comparisons cannot be chained; use and", t2.pos)
	}
	return binary{op: t.text, l: l, r: r}, nil
}

func (p *parser) operand() (node, error) {
	t := p.next()
	switch t.kind {
	case tLParen:
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, fmt.Errorf("column %d: expected ) but found %q", c.pos, c.text)
		}
		return n, nil
	case tString:
		return literal{value{strs: []string{t.text}}}, nil
	case tNumber:
		return literal{value{strs: []string{t.text}}}, nil
	case tIdent:
		switch t.text {
		case "true", "false":
			return literal{boolean(t.text == "true")}, nil
		case "contains", "answered":
			return p.call(t)
		}
		return ident{t.text}, nil
	case tEOF:
		return nil, fmt.Errorf("column %d: condition ends too early", t.pos)
	}
	return nil, fmt.Errorf("column %d: unexpected %q", t.pos, t.text)
}

var errCallSyntax = errors.New(`use contains(field, "value") or answered(field)`)

func (p *parser) call(fn token) (node, error) {
	if t := p.next(); t.kind != tLParen {
		return nil, fmt.Errorf("column %d: %w", t.pos, errCallSyntax)
	}
	f := p.next()
	if f.kind != tIdent {
		return nil, fmt.Errorf("column %d: %s needs a field name: %w", f.pos, fn.text, errCallSyntax)
	}
	c := call{fn: fn.text, field: f.text}
	if fn.text == "contains" {
		if t := p.next(); t.kind != tComma {
			return nil, fmt.Errorf("column %d: %w", t.pos, errCallSyntax)
		}
		a := p.next()
		if a.kind != tString {
			return nil, fmt.Errorf("column %d: contains needs a \"value\": %w", a.pos, errCallSyntax)
		}
		c.arg = a.text
	}
	if t := p.next(); t.kind != tRParen {
		return nil, fmt.Errorf("column %d: expected ) but found %q", t.pos, t.text)
	}
	return c, nil
}
