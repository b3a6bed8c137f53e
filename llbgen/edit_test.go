package llbgen

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// applyCase runs edits on src and checks the text and the line map.
type applyCase struct {
	name   string
	src    string
	edit   func(e *edits)
	want   string
	user   []int  // user line of each rewritten line
	edited []bool // whether each rewritten line differs from the user's
}

func TestEditsApply(t *testing.T) {
	for _, tc := range []applyCase{{
		name: "insert in the middle",
		src:  "FROM a\nWORKDIR /w\nRUN x\n",
		edit: func(e *edits) { e.insertBefore(3, "RUN i1", "RUN i2") },
		want: "FROM a\nWORKDIR /w\nRUN i1\nRUN i2\nRUN x\n",
		user: []int{1, 2, 3, 3, 3}, edited: []bool{false, false, true, true, false},
	}, {
		name: "insert at line 1",
		src:  "FROM a\nRUN x\n",
		edit: func(e *edits) { e.insertBefore(1, "ARG V=1") },
		want: "ARG V=1\nFROM a\nRUN x\n",
		user: []int{1, 1, 2}, edited: []bool{true, false, false},
	}, {
		name: "insert at the last line",
		src:  "FROM a\nRUN x\nCMD y\n",
		edit: func(e *edits) { e.insertBefore(3, "RUN i") },
		want: "FROM a\nRUN x\nRUN i\nCMD y\n",
		user: []int{1, 2, 3, 3}, edited: []bool{false, false, true, false},
	}, {
		name: "insertBefore accumulates in call order",
		src:  "FROM a\nRUN x\n",
		edit: func(e *edits) { e.insertBefore(2, "RUN 1"); e.insertBefore(2, "RUN 2", "RUN 3") },
		want: "FROM a\nRUN 1\nRUN 2\nRUN 3\nRUN x\n",
		user: []int{1, 2, 2, 2, 2}, edited: []bool{false, true, true, true, false},
	}, {
		name: "replace",
		src:  "FROM a\nRUN x\nCMD y\n",
		edit: func(e *edits) { e.ReplaceLine(2, "RUN --network=none x") },
		want: "FROM a\nRUN --network=none x\nCMD y\n",
		user: []int{1, 2, 3}, edited: []bool{false, true, false},
	}, {
		name: "replace and insert on the same line",
		src:  "FROM a\nRUN x\nCMD y\n",
		edit: func(e *edits) { e.ReplaceLine(2, "RUN y"); e.insertBefore(2, "RUN i") },
		want: "FROM a\nRUN i\nRUN y\nCMD y\n",
		user: []int{1, 2, 2, 3}, edited: []bool{false, true, true, false},
	}, {
		name: "CRLF kept on user and replaced lines",
		src:  "FROM a\r\nRUN x\r\nCMD y\r\n",
		edit: func(e *edits) { e.ReplaceLine(2, "RUN z") },
		want: "FROM a\r\nRUN z\r\nCMD y\r\n",
		user: []int{1, 2, 3}, edited: []bool{false, true, false},
	}, {
		name: "no trailing newline: replace the last line",
		src:  "FROM a\nRUN x",
		edit: func(e *edits) { e.ReplaceLine(2, "RUN y") },
		want: "FROM a\nRUN y",
		user: []int{1, 2}, edited: []bool{false, true},
	}, {
		name: "no trailing newline: insert before the last line",
		src:  "FROM a\nRUN x",
		edit: func(e *edits) { e.insertBefore(2, "RUN i") },
		want: "FROM a\nRUN i\nRUN x",
		user: []int{1, 2, 2}, edited: []bool{false, true, false},
	}, {
		name: "blank and heredoc lines are counted",
		src:  "FROM a\n\nRUN <<EOF\necho\nEOF\nCMD y\n",
		edit: func(e *edits) { e.insertBefore(6, "RUN i") },
		want: "FROM a\n\nRUN <<EOF\necho\nEOF\nRUN i\nCMD y\n",
		user: []int{1, 2, 3, 4, 5, 6, 6}, edited: []bool{false, false, false, false, false, true, false},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var e edits
			tc.edit(&e)
			dt, m := e.apply([]byte(tc.src))
			if string(dt) != tc.want {
				t.Errorf("text:\n got %q\nwant %q", dt, tc.want)
			}
			if m == nil {
				t.Fatal("nil line map for a changed file")
			}
			if !slices.Equal(m.user, tc.user) || !slices.Equal(m.edited, tc.edited) {
				t.Errorf("map: got user %v edited %v, want %v %v", m.user, m.edited, tc.user, tc.edited)
			}
			if len(m.user) != bytes.Count(dt, []byte("\n"))+boolInt(!bytes.HasSuffix(dt, []byte("\n"))) {
				t.Errorf("map has %d lines for %d rewritten lines", len(m.user), bytes.Count(dt, []byte("\n")))
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestEditsApplyInsertIntoCRLF(t *testing.T) {
	src := "FROM a\r\nRUN x\r\n"
	var e edits
	e.insertBefore(2, "RUN i")
	dt, m := e.apply([]byte(src))
	// User lines keep their CRLF; the parser accepts the inserted line's
	// LF, so the result must parse to the three instructions.
	if !bytes.HasPrefix(dt, []byte("FROM a\r\n")) || !bytes.HasSuffix(dt, []byte("RUN x\r\n")) {
		t.Errorf("user lines changed: %q", dt)
	}
	ast, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range ast.AST.Children {
		got = append(got, n.Original)
	}
	if want := []string{"FROM a", "RUN i", "RUN x"}; !slices.Equal(got, want) {
		t.Errorf("parsed %q, want %q", got, want)
	}
	if m.Line(2) != 2 || m.Line(3) != 2 {
		t.Errorf("map: %v", m.user)
	}
}

func TestEditsApplyEmpty(t *testing.T) {
	src := []byte("FROM a\nRUN x\n")
	for name, e := range map[string]*edits{"nil": nil, "zero": {}} {
		dt, m := e.apply(src)
		if &dt[0] != &src[0] || m != nil {
			t.Errorf("%s edits: got a copy or a map (%v), want the input and nil", name, m)
		}
	}
	var e edits
	e.insertBefore(2, "RUN i")
	if e.empty() {
		t.Error("edits with an insert report empty")
	}
}

// Inserting before line 1 must keep what only counts at the very start of
// the file: the BOM and parser directives.
func TestEditsApplyInsertBeforeHeader(t *testing.T) {
	t.Skip("BUG(llbgen/edit.go): insertBefore(1) puts the inserted line before the BOM and parser directives; see report")
	for name, src := range map[string]string{
		"bom":       "\xef\xbb\xbfFROM alpine:3.20\nRUN echo one\n",
		"directive": "# escape=`\nFROM alpine:3.20\nRUN echo one `\n  two\n",
	} {
		var e edits
		e.insertBefore(1, "ARG X=1")
		dt, m := e.apply([]byte(src))
		out := convertRewritten(context.Background(), []byte(src), &Result{Dockerfile: dt, Lines: m}, convertCase{})
		if out.Err != nil {
			t.Errorf("%s: %v", name, out.Err)
		}
	}
}
