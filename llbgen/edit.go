package llbgen

import "bytes"

// edits collects changes to the user's Dockerfile, keyed by the user's
// 1-based line numbers. Applying them yields the rewritten text and the map
// back to the user's lines.
type edits struct {
	insert  map[int][]string // lines inserted before a user line
	after   map[int][]string // lines inserted after a user line
	replace map[int]string   // a user line replaced by another
}

func (e *edits) empty() bool {
	return e == nil || (len(e.insert) == 0 && len(e.after) == 0 && len(e.replace) == 0)
}

func (e *edits) insertAfter(line int, text ...string) {
	if e.after == nil {
		e.after = map[int][]string{}
	}
	e.after[line] = append(e.after[line], text...)
}

func (e *edits) insertBefore(line int, text ...string) {
	if e.insert == nil {
		e.insert = map[int][]string{}
	}
	e.insert[line] = append(e.insert[line], text...)
}

func (e *edits) replaceLine(line int, text string) {
	if e.replace == nil {
		e.replace = map[int]string{}
	}
	e.replace[line] = text
}

// apply returns the rewritten text and its line map.
func (e *edits) apply(dt []byte) ([]byte, *LineMap) {
	if e.empty() {
		return dt, nil
	}
	lines := bytes.SplitAfter(dt, []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	var out bytes.Buffer
	m := &LineMap{}
	for i, l := range lines {
		n := i + 1
		for _, ins := range e.insert[n] {
			out.WriteString(ins)
			out.WriteByte('\n')
			m.user = append(m.user, n)
			m.edited = append(m.edited, true)
		}
		if r, ok := e.replace[n]; ok {
			out.WriteString(r)
			if bytes.HasSuffix(l, []byte("\r\n")) {
				out.WriteString("\r\n")
			} else if bytes.HasSuffix(l, []byte("\n")) {
				out.WriteByte('\n')
			}
			m.user = append(m.user, n)
			m.edited = append(m.edited, true)
		} else {
			out.Write(l)
			m.user = append(m.user, n)
			m.edited = append(m.edited, false)
		}
		if after := e.after[n]; len(after) > 0 {
			if !bytes.HasSuffix(l, []byte("\n")) {
				out.WriteByte('\n')
			}
			for _, ins := range after {
				out.WriteString(ins)
				out.WriteByte('\n')
				m.user = append(m.user, n)
				m.edited = append(m.edited, true)
			}
		}
	}
	return out.Bytes(), m
}
