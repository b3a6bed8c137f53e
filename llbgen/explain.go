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
		user, _ := rw.Lines.pos(i + 1)
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
	// The line map says where each rewritten line stands: a user line
	// (verbatim or replaced) or a line inserted at one.
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "--- %s\n+++ %s (hoist)\n@@ -1,%d +1,%d @@\n", name, name, len(a), len(b))
	done := 0 // user lines written so far
	for j := range b {
		u, ins := rw.Lines.pos(j + 1)
		if ins || u < 1 || u > len(a) {
			fmt.Fprintf(bw, "+%s\n", b[j])
			continue
		}
		for ; done < u-1; done++ {
			fmt.Fprintf(bw, "-%s\n", a[done])
		}
		if rw.Lines.isEdited(j + 1) {
			fmt.Fprintf(bw, "-%s\n+%s\n", a[u-1], b[j])
		} else {
			fmt.Fprintf(bw, " %s\n", a[u-1])
		}
		done = u
	}
	for ; done < len(a); done++ {
		fmt.Fprintf(bw, "-%s\n", a[done])
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
