package llbgen

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteExplained writes the rewritten Dockerfile with each note as a
// comment above the first rewritten line it concerns. Notes on lines hoist
// left alone come above those lines too. The output is itself a valid
// Dockerfile.
func WriteExplained(w io.Writer, rw *Result) error {
	byLine := map[int][]Note{}
	for _, n := range rw.Notes {
		byLine[n.Line] = append(byLine[n.Line], n)
	}
	bw := bufio.NewWriter(w)
	lines := splitLines(rw.Dockerfile)
	for i, l := range lines {
		user := rw.Lines.Line(i + 1)
		for _, n := range byLine[user] {
			mark := "hoist"
			if !n.Changed {
				mark = "hoist (unchanged)"
			}
			msg := n.Message
			if n.Rule != "" {
				msg += " [" + n.Rule + "]"
			}
			fmt.Fprintf(bw, "# %s: line %d: %s\n", mark, n.Line, msg)
		}
		delete(byLine, user)
		bw.WriteString(l)
		bw.WriteByte('\n')
	}
	if len(rw.Notes) == 0 {
		bw.WriteString("# hoist: no changes\n")
	}
	return bw.Flush()
}

// WriteDiff writes a unified diff from the user's Dockerfile to the
// rewritten one. The line map says exactly which lines were inserted or
// replaced, so no diff algorithm is needed.
func WriteDiff(w io.Writer, name string, orig []byte, rw *Result) error {
	a := splitLines(orig)
	b := splitLines(rw.Dockerfile)
	if bytes.Equal(orig, rw.Dockerfile) {
		return nil
	}
	// Rewritten lines mapped to one user line are its insertions, then the
	// line itself, verbatim or replaced.
	groups := make([][]int, len(a)+1)
	for j := range b {
		if u := rw.Lines.Line(j + 1); u >= 1 && u <= len(a) {
			groups[u] = append(groups[u], j)
		}
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "--- %s\n+++ %s (hoist)\n@@ -1,%d +1,%d @@\n", name, name, len(a), len(b))
	for u := 1; u <= len(a); u++ {
		g := groups[u]
		if len(g) == 0 {
			fmt.Fprintf(bw, "-%s\n", a[u-1])
			continue
		}
		for _, j := range g[:len(g)-1] {
			fmt.Fprintf(bw, "+%s\n", b[j])
		}
		last := g[len(g)-1]
		if rw.Lines.isEdited(last + 1) {
			fmt.Fprintf(bw, "-%s\n+%s\n", a[u-1], b[last])
		} else {
			fmt.Fprintf(bw, " %s\n", a[u-1])
		}
	}
	return bw.Flush()
}

func splitLines(dt []byte) []string {
	s := strings.TrimSuffix(string(dt), "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// NotesByLine returns notes sorted by the user's line.
func NotesByLine(notes []Note) []Note {
	out := append([]Note(nil), notes...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}
