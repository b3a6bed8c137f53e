package llbgen

import (
	"maps"
	"slices"
	"strings"

	"github.com/hoistbuild/hoist/llbgen/shellscan"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Editing the user's RUN text in place: where its script starts, and
// settings put before a call or the whole script.

// ScriptStart returns the Dockerfile line where the RUN's script starts
// (its first, or the next when the first holds only flags and a line
// continuation), the line's text and the script's offset in it.
func (a *Analysis) ScriptStart(rs *RunStep) (int, string, int, bool) {
	text, ok := a.LineText(rs.Line)
	if !ok {
		return 0, "", 0, false
	}
	i := len(text) - len(strings.TrimLeft(text, " \t"))
	if len(text) < i+3 || !strings.EqualFold(text[i:i+3], "RUN") {
		return 0, "", 0, false
	}
	i += 3
	for {
		j := i
		for j < len(text) && (text[j] == ' ' || text[j] == '\t') {
			j++
		}
		if j == i || j >= len(text) {
			return 0, "", 0, false
		}
		if rest := text[j:]; rest == "\\" || rest == "`" {
			// RUN --mount=... \ with the script on the next line.
			next, at, ok := a.ContinuedLine(rs, rs.Line)
			if !ok {
				return 0, "", 0, false
			}
			return rs.Line + 1, next, at, true
		}
		if !strings.HasPrefix(text[j:], "--") {
			return rs.Line, text, j, true
		}
		k := strings.IndexAny(text[j:], " \t")
		if k < 0 {
			return 0, "", 0, false
		}
		i = j + k
	}
}

// ContinuedLine is the line after ln when the RUN goes on there with
// text (not a comment or blank line): as edited so far, and where its text
// starts.
func (a *Analysis) ContinuedLine(rs *RunStep, ln int) (string, int, bool) {
	node := a.Nodes[rs.Line]
	next, ok := a.LineText(ln + 1)
	t := strings.TrimLeft(next, " \t")
	if !ok || node == nil || node.EndLine <= ln || t == "" || strings.HasPrefix(t, "#") {
		return "", 0, false
	}
	return next, len(next) - len(t), true
}

// LineText is Dockerfile line n as edited so far.
func (a *Analysis) LineText(n int) (string, bool) {
	if n < 1 || n > len(a.Lines) {
		return "", false
	}
	text := a.Lines[n-1]
	if r, ok := a.Edits.Replace[n]; ok {
		text = r
	}
	return strings.TrimSuffix(text, "\r"), true
}

// ExportFirst puts `export <assignments>;` before the script of a
// shell-form RUN none of whose calls is one avoid reports: every call of the
// RUN sees them.
func (a *Analysis) ExportFirst(rs *RunStep, assignments string, avoid func(shellscan.Call) bool) bool {
	if !rs.Cmd.PrependShell || len(rs.Cmd.Files) > 0 || slices.ContainsFunc(rs.Calls, avoid) {
		return false
	}
	ln, line, start, ok := a.ScriptStart(rs)
	if !ok || strings.HasPrefix(line[start:], "-") {
		return false
	}
	a.Edits.ReplaceLine(ln, line[:start]+"export "+strings.TrimSpace(assignments)+"; "+line[start:])
	return true
}

// PrefixCall puts assignments (NAME=value words, space-terminated) before
// the words of call c: see EditCall.
func (a *Analysis) PrefixCall(rs *RunStep, c shellscan.Call, assignments string) bool {
	want, ok := parseAssignments(assignments)
	if !ok {
		return false
	}
	return a.EditCall(rs, c, func(line string, at int) string {
		return line[:at] + assignments + line[at:]
	}, func(before, after shellscan.Call) bool {
		if !slices.Equal(before.Args, after.Args) || len(after.Env) != len(before.Env)+len(want) {
			return false
		}
		for k, v := range want {
			if _, had := before.Env[k]; had || after.Env[k] != v {
				return false
			}
		}
		return true
	})
}

// parseAssignments reads NAME=value words, values plain or single-quoted.
func parseAssignments(s string) (map[string]string, bool) {
	m := map[string]string{}
	for _, w := range strings.Fields(s) {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, false
		}
		m[k] = strings.Trim(v, "'")
	}
	return m, len(m) > 0
}

// maxEditTries bounds the places EditCall tries.
const maxEditTries = 8

// EditCall changes call c of the RUN in its text: at each place c's words
// are written, on one line, edit gives the line changed there, which
// stands only when the RUN, parsed again, runs the same calls as before
// with c changed as check says (so text in quotes, a comment or heredoc
// data is never taken for the call). false when no place passes.
func (a *Analysis) EditCall(rs *RunStep, c shellscan.Call, edit func(line string, at int) string, check func(before, after shellscan.Call) bool) bool {
	node := a.Nodes[rs.Line]
	if !rs.Cmd.PrependShell || node == nil || c.Dynamic {
		return false
	}
	words := RunWords(c)
	before, ok := a.reparse(rs, 0, "")
	if !ok {
		return false
	}
	target := -1
	for i, o := range before {
		if RunWords(o) == words {
			if target >= 0 {
				return false // the same words twice: which one is c?
			}
			target = i
		}
	}
	if target < 0 {
		return false
	}
	sl, _, start, sok := a.ScriptStart(rs)
	tries := 0
	for l := rs.Line; l <= node.EndLine; l++ {
		text, ok := a.LineText(l)
		if !ok {
			return false
		}
		for i := 0; ; {
			k := strings.Index(text[i:], words)
			if k < 0 {
				break
			}
			k += i
			i = k + len(words)
			if end := text[i:]; end != "" && !strings.ContainsRune(" \t;&|)`\\", rune(end[0])) {
				continue
			}
			if l == rs.Line && (!sok || sl != l || k < start) {
				continue // the RUN's flags
			}
			if tries++; tries > maxEditTries {
				return false
			}
			changed := edit(text, k)
			after, ok := a.reparse(rs, l, changed)
			if !ok || len(after) != len(before) {
				continue
			}
			same := true
			for j := range before {
				if j == target {
					same = same && check(before[j], after[j])
				} else {
					same = same && RunWords(before[j]) == RunWords(after[j]) && maps.Equal(before[j].Env, after[j].Env)
				}
			}
			if same {
				a.Edits.ReplaceLine(l, changed)
				return true
			}
		}
	}
	return false
}

// reparse parses the RUN at rs again as edited so far, with line ln
// replaced by text (ln 0: none), and returns its calls.
func (a *Analysis) reparse(rs *RunStep, ln int, text string) ([]shellscan.Call, bool) {
	node := a.Nodes[rs.Line]
	var b strings.Builder
	if a.escape != 0 && a.escape != '\\' {
		b.WriteString("# escape=" + string(a.escape) + "\n")
	}
	for l := rs.Line; l <= node.EndLine; l++ {
		t, ok := a.LineText(l)
		if !ok {
			return nil, false
		}
		if l == ln {
			t = text
		}
		b.WriteString(t + "\n")
	}
	ast, err := parser.Parse(strings.NewReader(b.String()))
	if err != nil || len(ast.AST.Children) != 1 {
		return nil, false
	}
	v, err := instructions.ParseInstruction(ast.AST.Children[0])
	run, ok := v.(*instructions.RunCommand)
	if err != nil || !ok {
		return nil, false
	}
	calls, err := shellscan.RunCallsUnset(run, rs.Stage.shell, rs.Env, a.unsetArgs(rs.Stage, rs.Env))
	return calls, err == nil
}
