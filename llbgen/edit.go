package llbgen

import "bytes"

// edits collects changes to the user's Dockerfile, keyed by the user's
// 1-based line numbers. Applying them yields the rewritten text and the map
// back to the user's lines.
type edits struct {
	insert  map[int][]string // lines inserted before a user line
	after   map[int][]string // lines inserted after a user line
	Replace map[int]string   // a user line replaced by another
	// insertFor and afterFor are, per inserted line, the user line it
	// maps to when not the one it sits at (0): a hoisted download maps to
	// the RUN that needs it, so its failure is reported where stock would.
	insertFor, afterFor map[int][]int
}

func (e *edits) empty() bool {
	return e == nil || (len(e.insert) == 0 && len(e.after) == 0 && len(e.Replace) == 0)
}

func (e *edits) insertAfter(line int, text ...string) {
	e.insertAfterFor(line, nil, text...)
}

func (e *edits) insertBefore(line int, text ...string) {
	e.insertBeforeFor(line, nil, text...)
}

// insertBeforeFor inserts text before line; owners[i], when not 0, is the
// user line text[i] maps to.
func (e *edits) insertBeforeFor(line int, owners []int, text ...string) {
	if e.insert == nil {
		e.insert, e.insertFor = map[int][]string{}, map[int][]int{}
	}
	e.insert[line] = append(e.insert[line], text...)
	e.insertFor[line] = append(e.insertFor[line], padOwners(owners, len(text))...)
}

func (e *edits) insertAfterFor(line int, owners []int, text ...string) {
	if e.after == nil {
		e.after, e.afterFor = map[int][]string{}, map[int][]int{}
	}
	e.after[line] = append(e.after[line], text...)
	e.afterFor[line] = append(e.afterFor[line], padOwners(owners, len(text))...)
}

func padOwners(owners []int, n int) []int {
	out := make([]int, n)
	copy(out, owners)
	return out
}

// owner is the user line inserted line i of the group at n maps to.
func owner(owners []int, i, n int) int {
	if i < len(owners) && owners[i] != 0 {
		return owners[i]
	}
	return n
}

func (e *edits) ReplaceLine(line int, text string) {
	if e.Replace == nil {
		e.Replace = map[int]string{}
	}
	e.Replace[line] = text
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
		for j, ins := range e.insert[n] {
			out.WriteString(ins)
			out.WriteByte('\n')
			m.user = append(m.user, owner(e.insertFor[n], j, n))
			m.edited = append(m.edited, true)
			m.at, m.inserted = append(m.at, n), append(m.inserted, true)
		}
		if r, ok := e.Replace[n]; ok {
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
		m.at, m.inserted = append(m.at, n), append(m.inserted, false)
		if after := e.after[n]; len(after) > 0 {
			if !bytes.HasSuffix(l, []byte("\n")) {
				out.WriteByte('\n')
			}
			for j, ins := range after {
				out.WriteString(ins)
				out.WriteByte('\n')
				m.user = append(m.user, owner(e.afterFor[n], j, n))
				m.edited = append(m.edited, true)
				m.at, m.inserted = append(m.at, n), append(m.inserted, true)
			}
		}
	}
	return out.Bytes(), m
}
