package seal

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
)

// This file is a minimal PDF object reader: just enough to find the catalog,
// page 1 and its size, the AcroForm and the trailer of an existing file, so
// that a seal can be appended as an incremental update. It reads classic
// cross-reference tables, cross-reference streams and object streams; it
// refuses encrypted files.

// Object values: nil, bool, int64, float64, name, []byte (string), []any
// (array), dict, ref and *stream.
type (
	name   string
	dict   map[string]any
	ref    struct{ num, gen int }
	stream struct {
		dict dict
		data []byte // raw (still encoded) bytes
	}
)

// xrefEntry says where object num lives: at offset (kind 1) or as the
// index-th object of object stream stm (kind 2).
type xrefEntry struct {
	kind   int
	offset int64
	stm    int
	index  int
}

// document is a parsed PDF file.
type document struct {
	data      []byte
	xref      map[int]xrefEntry
	trailer   dict // newest trailer (or cross-reference stream dictionary)
	startxref int64
	objstms   map[int][]any // decoded object streams
}

// ErrNotPDF means the input is no PDF file this package can read.
var ErrNotPDF = errors.New("not a PDF file")

// parsePDF reads the cross-reference data of a PDF file.
func parsePDF(data []byte) (*document, error) {
	if !bytes.HasPrefix(data, []byte("%PDF-")) {
		return nil, ErrNotPDF
	}
	tail := data[max(0, len(data)-1024):]
	i := bytes.LastIndex(tail, []byte("startxref"))
	if i < 0 {
		return nil, fmt.Errorf("%w: no startxref", ErrNotPDF)
	}
	lx := &lexer{data: tail, pos: i + len("startxref")}
	off, ok := lx.next().(int64)
	if !ok || off <= 0 || off >= int64(len(data)) {
		return nil, fmt.Errorf("%w: bad startxref", ErrNotPDF)
	}
	d := &document{data: data, xref: map[int]xrefEntry{}, startxref: off, objstms: map[int][]any{}}
	seen := map[int64]bool{}
	for off > 0 {
		if seen[off] || off >= int64(len(data)) {
			return nil, fmt.Errorf("%w: cross-reference loop", ErrNotPDF)
		}
		seen[off] = true
		tr, err := d.readXref(off)
		if err != nil {
			return nil, err
		}
		if d.trailer == nil {
			d.trailer = tr
		}
		if stm, ok := tr["XRefStm"].(int64); ok { // hybrid file
			if _, err := d.readXref(stm); err != nil {
				return nil, err
			}
		}
		off, _ = tr["Prev"].(int64)
	}
	if _, ok := d.trailer["Encrypt"]; ok {
		return nil, errors.New("encrypted PDF files cannot be sealed")
	}
	if _, ok := d.trailer["Root"].(ref); !ok {
		return nil, fmt.Errorf("%w: no catalog", ErrNotPDF)
	}
	return d, nil
}

// readXref reads one cross-reference section (table or stream) at off and
// returns its trailer. Entries already known (from newer sections) win.
func (d *document) readXref(off int64) (dict, error) {
	lx := &lexer{data: d.data, pos: int(off)}
	lx.skipSpace()
	if bytes.HasPrefix(d.data[lx.pos:], []byte("xref")) {
		lx.pos += 4
		for {
			lx.skipSpace()
			if bytes.HasPrefix(d.data[lx.pos:], []byte("trailer")) {
				lx.pos += len("trailer")
				tr, ok := lx.next().(dict)
				if !ok {
					return nil, fmt.Errorf("%w: bad trailer", ErrNotPDF)
				}
				return tr, nil
			}
			first, ok1 := lx.next().(int64)
			count, ok2 := lx.next().(int64)
			if !ok1 || !ok2 || count < 0 || count > 1<<22 {
				return nil, fmt.Errorf("%w: bad xref subsection", ErrNotPDF)
			}
			for k := int64(0); k < count; k++ {
				o, ok1 := lx.next().(int64)
				_, ok2 := lx.next().(int64)
				kw, ok3 := lx.next().(keyword)
				if !ok1 || !ok2 || !ok3 {
					return nil, fmt.Errorf("%w: bad xref entry", ErrNotPDF)
				}
				num := int(first + k)
				if _, known := d.xref[num]; known {
					continue
				}
				if kw == "n" {
					d.xref[num] = xrefEntry{kind: 1, offset: o}
				} else {
					d.xref[num] = xrefEntry{kind: 0}
				}
			}
		}
	}
	_, v, err := d.objectAt(off)
	if err != nil {
		return nil, err
	}
	s, ok := v.(*stream)
	if !ok || s.dict["Type"] != name("XRef") {
		return nil, fmt.Errorf("%w: no cross-reference at %d", ErrNotPDF, off)
	}
	raw, err := decodeStream(s)
	if err != nil {
		return nil, err
	}
	w, _ := s.dict["W"].([]any)
	if len(w) != 3 {
		return nil, fmt.Errorf("%w: bad /W", ErrNotPDF)
	}
	var ws [3]int
	for i := range ws {
		n, _ := w[i].(int64)
		if n < 0 || n > 8 {
			return nil, fmt.Errorf("%w: bad /W", ErrNotPDF)
		}
		ws[i] = int(n)
	}
	size, _ := s.dict["Size"].(int64)
	index := []any{int64(0), size}
	if ix, ok := s.dict["Index"].([]any); ok {
		index = ix
	}
	rowLen := ws[0] + ws[1] + ws[2]
	if rowLen == 0 {
		return nil, fmt.Errorf("%w: bad /W", ErrNotPDF)
	}
	field := func(b []byte) int64 {
		var n int64
		for _, c := range b {
			n = n<<8 | int64(c)
		}
		return n
	}
	pos := 0
	for i := 0; i+1 < len(index); i += 2 {
		first, _ := index[i].(int64)
		count, _ := index[i+1].(int64)
		for k := int64(0); k < count; k++ {
			if pos+rowLen > len(raw) {
				return nil, fmt.Errorf("%w: short cross-reference stream", ErrNotPDF)
			}
			row := raw[pos : pos+rowLen]
			pos += rowLen
			typ := int64(1)
			if ws[0] > 0 {
				typ = field(row[:ws[0]])
			}
			f2, f3 := field(row[ws[0]:ws[0]+ws[1]]), field(row[ws[0]+ws[1]:])
			num := int(first + k)
			if _, known := d.xref[num]; known {
				continue
			}
			switch typ {
			case 1:
				d.xref[num] = xrefEntry{kind: 1, offset: f2}
			case 2:
				d.xref[num] = xrefEntry{kind: 2, stm: int(f2), index: int(f3)}
			default:
				d.xref[num] = xrefEntry{kind: 0}
			}
		}
	}
	return s.dict, nil
}

// objectAt parses "num gen obj … endobj" at off.
func (d *document) objectAt(off int64) (ref, any, error) {
	if off < 0 || off >= int64(len(d.data)) {
		return ref{}, nil, fmt.Errorf("%w: object offset out of range", ErrNotPDF)
	}
	lx := &lexer{data: d.data, pos: int(off), doc: d}
	num, ok1 := lx.next().(int64)
	gen, ok2 := lx.next().(int64)
	kw, ok3 := lx.next().(keyword)
	if !ok1 || !ok2 || !ok3 || kw != "obj" {
		return ref{}, nil, fmt.Errorf("%w: no object at %d", ErrNotPDF, off)
	}
	v := lx.next()
	if lx.err != nil {
		return ref{}, nil, lx.err
	}
	return ref{int(num), int(gen)}, v, nil
}

// resolve follows indirect references.
func (d *document) resolve(v any) (any, error) {
	for depth := 0; depth < 32; depth++ {
		r, ok := v.(ref)
		if !ok {
			return v, nil
		}
		e, ok := d.xref[r.num]
		switch {
		case !ok || e.kind == 0:
			return nil, nil
		case e.kind == 1:
			_, obj, err := d.objectAt(e.offset)
			if err != nil {
				return nil, err
			}
			v = obj
		default:
			objs, err := d.objectStream(e.stm)
			if err != nil {
				return nil, err
			}
			if e.index >= len(objs) {
				return nil, fmt.Errorf("%w: object %d missing in its stream", ErrNotPDF, r.num)
			}
			v = objs[e.index]
		}
	}
	return nil, fmt.Errorf("%w: reference chain too long", ErrNotPDF)
}

// objectStream decodes the objects of object stream num.
func (d *document) objectStream(num int) ([]any, error) {
	if objs, ok := d.objstms[num]; ok {
		return objs, nil
	}
	e := d.xref[num]
	if e.kind != 1 {
		return nil, fmt.Errorf("%w: object stream %d not found", ErrNotPDF, num)
	}
	_, v, err := d.objectAt(e.offset)
	if err != nil {
		return nil, err
	}
	s, ok := v.(*stream)
	if !ok {
		return nil, fmt.Errorf("%w: object stream %d is no stream", ErrNotPDF, num)
	}
	raw, err := decodeStream(s)
	if err != nil {
		return nil, err
	}
	n, _ := s.dict["N"].(int64)
	first, _ := s.dict["First"].(int64)
	if n < 0 || n > int64(len(raw)) || first < 0 || first > int64(len(raw)) {
		return nil, fmt.Errorf("%w: bad object stream", ErrNotPDF)
	}
	head := &lexer{data: raw[:first]}
	offsets := make([]int64, n)
	for i := range offsets {
		head.next()
		offsets[i], _ = head.next().(int64)
	}
	objs := make([]any, n)
	for i, o := range offsets {
		if first+o >= int64(len(raw)) {
			return nil, fmt.Errorf("%w: bad object stream offset", ErrNotPDF)
		}
		lx := &lexer{data: raw, pos: int(first + o)}
		objs[i] = lx.next()
	}
	d.objstms[num] = objs
	return objs, nil
}

// dictOf resolves v and returns it as a dictionary (nil when it is none).
func (d *document) dictOf(v any) dict {
	v, err := d.resolve(v)
	if err != nil {
		return nil
	}
	switch x := v.(type) {
	case dict:
		return x
	case *stream:
		return x.dict
	}
	return nil
}

// firstPage finds page 1, its reference and its dictionary, and the page's
// (possibly inherited) MediaBox.
func (d *document) firstPage() (ref, dict, [4]float64, error) {
	root := d.dictOf(d.trailer["Root"])
	node := root["Pages"]
	var inherited any
	for depth := 0; depth < 32; depth++ {
		r, ok := node.(ref)
		if !ok {
			break
		}
		n := d.dictOf(r)
		if mb, ok := n["MediaBox"]; ok {
			inherited = mb
		}
		if n["Type"] == name("Page") || n["Kids"] == nil {
			var box [4]float64
			mb, _ := d.resolve(inherited)
			arr, _ := mb.([]any)
			if len(arr) != 4 {
				box = [4]float64{0, 0, 595.28, 841.89}
			} else {
				for i, x := range arr {
					box[i] = number(x)
				}
			}
			return r, n, box, nil
		}
		kidsV, _ := d.resolve(n["Kids"])
		kids, _ := kidsV.([]any)
		if len(kids) == 0 {
			break
		}
		node = kids[0]
	}
	return ref{}, nil, [4]float64{}, fmt.Errorf("%w: page 1 not found", ErrNotPDF)
}

func number(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

// decodeStream undoes FlateDecode (with PNG predictors); other filters are
// refused.
func decodeStream(s *stream) ([]byte, error) {
	f := s.dict["Filter"]
	if arr, ok := f.([]any); ok && len(arr) == 1 {
		f = arr[0]
	}
	switch f {
	case nil:
		return s.data, nil
	case name("FlateDecode"):
	default:
		return nil, fmt.Errorf("unsupported filter %v", f)
	}
	zr, err := zlib.NewReader(bytes.NewReader(s.data))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, 64<<20))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	parms, _ := s.dict["DecodeParms"].(dict)
	if arr, ok := s.dict["DecodeParms"].([]any); ok && len(arr) == 1 {
		parms, _ = arr[0].(dict)
	}
	pred, _ := parms["Predictor"].(int64)
	if pred < 10 {
		return out, nil
	}
	cols, _ := parms["Columns"].(int64)
	if cols <= 0 {
		cols = 1
	}
	if cols > int64(len(out)) {
		return nil, errors.New("bad PNG predictor columns")
	}
	return unpredictPNG(out, int(cols))
}

// unpredictPNG undoes PNG row predictors (one byte per pixel).
func unpredictPNG(in []byte, cols int) ([]byte, error) {
	row := cols + 1
	if len(in)%row != 0 {
		return nil, errors.New("bad PNG predictor data")
	}
	out := make([]byte, 0, len(in)/row*cols)
	prev := make([]byte, cols)
	for i := 0; i < len(in); i += row {
		ft, cur := in[i], append([]byte(nil), in[i+1:i+row]...)
		for j := range cur {
			var left, up, ul byte
			if j > 0 {
				left, ul = cur[j-1], prev[j-1]
			}
			up = prev[j]
			switch ft {
			case 1:
				cur[j] += left
			case 2:
				cur[j] += up
			case 3:
				cur[j] += byte((int(left) + int(up)) / 2)
			case 4:
				cur[j] += paeth(left, up, ul)
			}
		}
		out = append(out, cur...)
		prev = cur
	}
	return out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
