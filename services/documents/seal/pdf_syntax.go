package seal

// PDF syntax: the lexer that reads objects (with its bounds for hostile
// input) and writeObject, which writes them.

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
)

// keyword is a bare word such as obj, R, n, f, true.
type keyword string

type lexer struct {
	data  []byte
	pos   int
	doc   *document // to resolve an indirect /Length
	err   error
	depth int // nesting of arrays and dictionaries
}

// maxDepth bounds the nesting of arrays and dictionaries, so that hostile
// input cannot exhaust the stack.
const maxDepth = 64

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelim(c byte) bool {
	return bytes.IndexByte([]byte("()<>[]{}/%"), c) >= 0
}

func (lx *lexer) skipSpace() {
	for lx.pos < len(lx.data) {
		c := lx.data[lx.pos]
		switch {
		case isSpace(c):
			lx.pos++
		case c == '%':
			for lx.pos < len(lx.data) && lx.data[lx.pos] != '\n' && lx.data[lx.pos] != '\r' {
				lx.pos++
			}
		default:
			return
		}
	}
}

func (lx *lexer) fail(msg string) any {
	if lx.err == nil {
		lx.err = fmt.Errorf("%w: %s at %d", ErrNotPDF, msg, lx.pos)
	}
	lx.pos = len(lx.data)
	return nil
}

// next returns the next object (resolving "n g R" into a ref and a
// dictionary followed by "stream" into a *stream), or a keyword.
func (lx *lexer) next() any {
	v := lx.token()
	if n, ok := v.(int64); ok {
		save := lx.pos
		if lx.digitNext() {
			if g, ok := lx.token().(int64); ok && lx.rNext() {
				if kw, ok := lx.token().(keyword); ok && kw == "R" {
					return ref{int(n), int(g)}
				}
			}
		}
		lx.pos = save
		return n
	}
	if d, ok := v.(dict); ok {
		save := lx.pos
		lx.skipSpace()
		if !bytes.HasPrefix(lx.data[lx.pos:], []byte("stream")) {
			lx.pos = save
			return d
		}
		lx.pos += len("stream")
		if lx.pos < len(lx.data) && lx.data[lx.pos] == '\r' {
			lx.pos++
		}
		if lx.pos < len(lx.data) && lx.data[lx.pos] == '\n' {
			lx.pos++
		}
		length := int64(-1)
		switch l := d["Length"].(type) {
		case int64:
			length = l
		case ref:
			if lx.doc != nil {
				if v, err := lx.doc.resolve(l); err == nil {
					length, _ = v.(int64)
				}
			}
		}
		start := lx.pos
		if length < 0 || start+int(length) > len(lx.data) ||
			!bytes.Contains(lx.data[start+int(length):min(len(lx.data), start+int(length)+32)], []byte("endstream")) {
			end := bytes.Index(lx.data[start:], []byte("endstream"))
			if end < 0 {
				return lx.fail("unterminated stream")
			}
			length = int64(end)
			for length > 0 && (lx.data[start+int(length)-1] == '\n' || lx.data[start+int(length)-1] == '\r') {
				length--
			}
		}
		lx.pos = start + int(length)
		return &stream{dict: d, data: lx.data[start : start+int(length)]}
	}
	return v
}

// digitNext and rNext look ahead without consuming anything but space.
func (lx *lexer) digitNext() bool {
	lx.skipSpace()
	return lx.pos < len(lx.data) && lx.data[lx.pos] >= '0' && lx.data[lx.pos] <= '9'
}

func (lx *lexer) rNext() bool {
	lx.skipSpace()
	return lx.pos < len(lx.data) && lx.data[lx.pos] == 'R'
}

func (lx *lexer) token() any {
	lx.skipSpace()
	if lx.pos >= len(lx.data) {
		return lx.fail("unexpected end")
	}
	c := lx.data[lx.pos]
	switch {
	case c == '/':
		lx.pos++
		start := lx.pos
		for lx.pos < len(lx.data) && !isSpace(lx.data[lx.pos]) && !isDelim(lx.data[lx.pos]) {
			lx.pos++
		}
		return name(unescapeName(lx.data[start:lx.pos]))
	case c == '(':
		return lx.literal()
	case c == '<' && lx.pos+1 < len(lx.data) && lx.data[lx.pos+1] == '<':
		if lx.depth++; lx.depth > maxDepth {
			return lx.fail("nested too deeply")
		}
		defer func() { lx.depth-- }()
		lx.pos += 2
		d := dict{}
		for {
			lx.skipSpace()
			if bytes.HasPrefix(lx.data[lx.pos:], []byte(">>")) {
				lx.pos += 2
				return d
			}
			k, ok := lx.token().(name)
			if !ok {
				return lx.fail("dictionary key is no name")
			}
			d[string(k)] = lx.next()
			if lx.err != nil {
				return nil
			}
		}
	case c == '<':
		lx.pos++
		end := bytes.IndexByte(lx.data[lx.pos:], '>')
		if end < 0 {
			return lx.fail("unterminated hex string")
		}
		hex := lx.data[lx.pos : lx.pos+end]
		lx.pos += end + 1
		return decodeHex(hex)
	case c == '[':
		if lx.depth++; lx.depth > maxDepth {
			return lx.fail("nested too deeply")
		}
		defer func() { lx.depth-- }()
		lx.pos++
		arr := []any{}
		for {
			lx.skipSpace()
			if lx.pos < len(lx.data) && lx.data[lx.pos] == ']' {
				lx.pos++
				return arr
			}
			v := lx.next()
			if lx.err != nil {
				return nil
			}
			arr = append(arr, v)
		}
	case c == ']' || c == '>' || c == ')' || c == '{' || c == '}':
		return lx.fail("unexpected delimiter")
	}
	start := lx.pos
	for lx.pos < len(lx.data) && !isSpace(lx.data[lx.pos]) && !isDelim(lx.data[lx.pos]) {
		lx.pos++
	}
	w := string(lx.data[start:lx.pos])
	if n, err := strconv.ParseInt(w, 10, 64); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(w, 64); err == nil {
		return f
	}
	switch w {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	return keyword(w)
}

func (lx *lexer) literal() any {
	lx.pos++ // (
	var out []byte
	depth := 1
	for lx.pos < len(lx.data) {
		c := lx.data[lx.pos]
		lx.pos++
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return out
			}
		case '\\':
			if lx.pos >= len(lx.data) {
				break
			}
			e := lx.data[lx.pos]
			lx.pos++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r', '\n':
				if e == '\r' && lx.pos < len(lx.data) && lx.data[lx.pos] == '\n' {
					lx.pos++
				}
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && lx.pos < len(lx.data) && lx.data[lx.pos] >= '0' && lx.data[lx.pos] <= '7'; k++ {
						v = v*8 + int(lx.data[lx.pos]-'0')
						lx.pos++
					}
					c = byte(v)
				} else {
					c = e
				}
			}
		}
		out = append(out, c)
	}
	return lx.fail("unterminated string")
}

func unescapeName(b []byte) string {
	if bytes.IndexByte(b, '#') < 0 {
		return string(b)
	}
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] == '#' && i+2 < len(b) {
			if v, err := strconv.ParseUint(string(b[i+1:i+3]), 16, 8); err == nil {
				out = append(out, byte(v))
				i += 2
				continue
			}
		}
		out = append(out, b[i])
	}
	return string(out)
}

func decodeHex(h []byte) []byte {
	var digits []byte
	for _, c := range h {
		if !isSpace(c) {
			digits = append(digits, c)
		}
	}
	if len(digits)%2 == 1 {
		digits = append(digits, '0')
	}
	out := make([]byte, len(digits)/2)
	for i := range out {
		v, _ := strconv.ParseUint(string(digits[2*i:2*i+2]), 16, 8)
		out[i] = byte(v)
	}
	return out
}

// writeObject serialises v in PDF syntax (dictionary keys sorted, so the
// output is deterministic).
func writeObject(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case float64:
		b.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
	case name:
		b.WriteByte('/')
		for _, c := range []byte(x) {
			if c <= ' ' || c > '~' || c == '#' || isDelim(c) {
				fmt.Fprintf(b, "#%02X", c)
			} else {
				b.WriteByte(c)
			}
		}
	case []byte:
		fmt.Fprintf(b, "<%X>", x)
	case string: // text written as a literal string (ASCII expected)
		b.WriteByte('(')
		for _, c := range []byte(x) {
			if c == '(' || c == ')' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
		b.WriteByte(')')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeObject(b, e)
		}
		b.WriteByte(']')
	case dict:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("<<")
		for _, k := range keys {
			writeObject(b, name(k))
			b.WriteByte(' ')
			writeObject(b, x[k])
		}
		b.WriteString(">>")
	case ref:
		fmt.Fprintf(b, "%d %d R", x.num, x.gen)
	case raw:
		b.WriteString(string(x))
	default:
		panic(fmt.Sprintf("seal: cannot write %T", v))
	}
}

// raw is PDF syntax written as is (used for the signature placeholders).
type raw string
