package llbgen

import (
	"slices"
	"strings"

	"github.com/hoistbuild/hoist/llbgen/shellscan"
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

// PrefixCall puts assignments before the words of call c where they are
// written once in the RUN, on one line, right after a shell operator or
// keyword or at the start of the script: the only place a command with
// these words can start.
func (a *Analysis) PrefixCall(rs *RunStep, c shellscan.Call, assignments string) bool {
	node := a.Nodes[rs.Line]
	if !rs.Cmd.PrependShell || node == nil || c.Dynamic || len(c.Env) > 0 {
		return false
	}
	words := RunWords(c)
	for _, o := range rs.Calls {
		if !SameCall(o, c) && RunWords(o) == words {
			return false
		}
	}
	sl, _, start, sok := a.ScriptStart(rs)
	ln, at := 0, -1
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
			if end := text[i:]; end != "" && !strings.ContainsRune(" \t;&|)`", rune(end[0])) {
				continue
			}
			if at >= 0 {
				return false // written twice
			}
			if !(sok && l == sl && k == start) && !commandStart(text[:k]) {
				return false
			}
			ln, at = l, k
		}
	}
	// On the RUN's own line, only within the script, not its flags.
	if at < 0 || ln == rs.Line && (!sok || sl != ln || at < start) {
		return false
	}
	text, _ := a.LineText(ln)
	a.Edits.ReplaceLine(ln, text[:at]+assignments+text[at:])
	return true
}

// commandStart reports whether a command can start after before: at the
// start of a line, or after an operator or a keyword that starts one.
func commandStart(before string) bool {
	t := strings.TrimRight(before, " \t")
	if t == "" {
		return true
	}
	for _, op := range []string{"&&", "||", ";", "|", "(", "{", "!"} {
		if strings.HasSuffix(t, op) {
			return !strings.HasSuffix(t, ";;") || op != ";"
		}
	}
	f := strings.Fields(t)
	switch f[len(f)-1] {
	case "then", "do", "else", "elif":
		return len(f) == 1 || commandStart(strings.TrimSuffix(t, f[len(f)-1]))
	}
	return false
}
