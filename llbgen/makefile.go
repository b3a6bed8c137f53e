package llbgen

import (
	"maps"
	"path"
	"slices"
	"strings"
)

// Makefiles: hoist still treats make as opaque (it may run any tool and read
// any cache), but reads the recipes the invoked goals reach, so what they
// remove or write (go clean -modcache, rm -rf $(GOPATH)/pkg) counts for the
// step as a script's would. A Makefile hoist cannot read adds nothing.

// Bounds that keep a hostile makefile from blowing up the analysis.
const (
	maxMakeIncludes = 4       // include nesting
	maxMakeGoals    = 1000    // goals followed
	maxMakeText     = 1 << 16 // bytes of one expansion
	maxMakeWork     = 1 << 22 // bytes read and expanded in all: past it, make stays unseen
)

type makeRule struct {
	targets, prereqs []string
	recipe           []string // lines as written, tab and continuations removed
}

type makefile struct {
	vars     map[string]string // values as written; simple ones expanded at definition
	cmdline  map[string]string // NAME=value operands of the make call
	env      map[string]string
	dir      string // CURDIR
	rules    []makeRule
	goal     string // the first target, the default goal
	oneShell bool
	read     func(name string) ([]byte, bool)
	included map[string]bool
	// targetVars are target-specific variables (build: GOFLAGS = -v), as
	// written; a recipe of that target sees them.
	targetVars map[string]map[string]string
	work       int // bytes parsed and expanded so far (maxMakeWork)
}

// over reports whether the makefile took more work than hoist gives it.
func (m *makefile) over() bool { return m.work > maxMakeWork }

// makeArgs splits a make call's arguments: -C directory, -f makefile,
// NAME=value operands and goals.
func makeArgs(args []string) (dir, file string, vars map[string]string, goals []string) {
	vars = map[string]string{}
	// Options that take the next argument (those read below as well).
	valued := map[string]bool{"-I": true, "-o": true, "-W": true, "--include-dir": true, "--old-file": true, "--what-if": true,
		"--new-file": true, "--assume-old": true, "--assume-new": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func(short string, longs ...string) (string, bool) {
			for _, long := range longs {
				if v, ok := strings.CutPrefix(a, long+"="); ok {
					return v, true
				}
			}
			switch {
			case a == short || slices.Contains(longs, a):
				if i+1 < len(args) {
					i++
					return args[i], true
				}
			case len(a) > 2 && strings.HasPrefix(a, short) && !strings.HasPrefix(a, "--"):
				return a[2:], true
			}
			return "", false
		}
		if v, ok := val("-C", "--directory"); ok {
			dir = path.Join(dir, v)
			if path.IsAbs(v) {
				dir = v
			}
			continue
		}
		if v, ok := val("-f", "--file", "--makefile"); ok {
			file = v
			continue
		}
		if strings.HasPrefix(a, "-") {
			if valued[a] {
				i++
			}
			continue
		}
		if k, v, ok := strings.Cut(a, "="); ok && isMakeName(strings.TrimRight(k, ":+?")) {
			vars[strings.TrimRight(k, ":+?")] = v
			continue
		}
		goals = append(goals, a)
	}
	return dir, file, vars, goals
}

func isMakeName(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t:#=$()%")
}

// parse reads one makefile's text; includes are read through m.read.
func (m *makefile) parse(text string, depth int) {
	m.work += len(text)
	if m.over() {
		return
	}
	var cur *makeRule
	var define string // name of the define ... endef being read
	var defined []string
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) && (len(line)-len(strings.TrimRight(line, "\\")))%2 == 1 {
			i++
			line = strings.TrimRight(strings.TrimSuffix(line, "\\"), " \t") + " " + strings.TrimLeft(lines[i], " \t")
		}
		if define != "" {
			if strings.TrimSpace(line) == "endef" {
				m.vars[define] = strings.Join(defined, "\n")
				define, defined = "", nil
			} else {
				defined = append(defined, line)
			}
			continue
		}
		if strings.HasPrefix(line, "\t") {
			if cur != nil {
				cur.recipe = append(cur.recipe, line[1:])
			}
			continue
		}
		t := strings.TrimSpace(stripMakeComment(line))
		if t == "" {
			continue
		}
		word, rest, _ := strings.Cut(t, " ")
		switch word {
		case "ifeq", "ifneq", "ifdef", "ifndef", "else", "endif":
			// Both branches are read: what either may run counts.
			continue
		case "define":
			define = strings.TrimSpace(strings.TrimRight(strings.TrimSpace(rest), ":+?!="))
			if define == "" {
				define = "?"
			}
			continue
		case "include", "-include", "sinclude":
			cur = nil
			if depth < maxMakeIncludes {
				for _, f := range strings.Fields(m.expand(rest, "", 0)) {
					// Once each: include guards (ifndef) are not followed.
					if m.included[f] {
						continue
					}
					if m.included == nil {
						m.included = map[string]bool{}
					}
					m.included[f] = true
					if dt, ok := m.read(f); ok {
						m.parse(string(dt), depth+1)
					}
				}
			}
			continue
		case "export", "unexport", "override", "private", "vpath":
			if word == "vpath" || word == "unexport" || !strings.ContainsAny(rest, "=:") {
				continue
			}
			t = strings.TrimSpace(rest)
		}
		if m.assign(t) {
			cur = nil
			continue
		}
		colon := topIndex(t, ':')
		if colon < 0 {
			cur = nil
			continue
		}
		targets := strings.Fields(m.expand(t[:colon], "", 0))
		after := strings.TrimLeft(t[colon+1:], ":")
		recipe := ""
		if semi := topIndex(after, ';'); semi >= 0 {
			after, recipe = after[:semi], strings.TrimSpace(after[semi+1:])
		}
		if topIndex(after, '=') >= 0 {
			// A target-specific variable.
			cur = nil
			t := &makefile{vars: map[string]string{}, cmdline: map[string]string{}, env: map[string]string{}}
			if t.assign(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(after), "override "))) {
				for _, tg := range targets {
					if m.targetVars == nil {
						m.targetVars = map[string]map[string]string{}
					}
					if m.targetVars[tg] == nil {
						m.targetVars[tg] = map[string]string{}
					}
					maps.Copy(m.targetVars[tg], t.vars)
				}
			}
			continue
		}
		after = strings.Replace(after, "|", " ", 1)
		m.rules = append(m.rules, makeRule{targets: targets, prereqs: strings.Fields(m.expand(after, "", 0))})
		cur = &m.rules[len(m.rules)-1]
		if recipe != "" {
			cur.recipe = append(cur.recipe, recipe)
		}
		for _, tg := range targets {
			if tg == ".ONESHELL" {
				m.oneShell = true
			}
			if m.goal == "" && !strings.Contains(tg, "%") && (!strings.HasPrefix(tg, ".") || strings.Contains(tg, "/")) {
				m.goal = tg
			}
		}
	}
}

// assign records a variable assignment; false when t is not one.
func (m *makefile) assign(t string) bool {
	eq := topIndex(t, '=')
	if eq < 0 {
		return false
	}
	op := eq
	for op > 0 && strings.ContainsRune(":+?!", rune(t[op-1])) {
		op--
	}
	name := strings.TrimSpace(t[:op])
	if !isMakeName(name) {
		return false
	}
	val := strings.TrimSpace(t[eq+1:])
	if _, ok := m.cmdline[name]; ok {
		return true
	}
	switch t[op:eq] {
	case "?":
		if _, ok := m.vars[name]; ok {
			return true
		}
		if _, ok := m.env[name]; ok {
			return true
		}
	case "+":
		if old, ok := m.vars[name]; ok {
			val = old + " " + val
		}
	case ":", "::", ":::":
		val = m.expand(val, "", 0)
	case "!":
		val = makeUnknown
	}
	m.vars[name] = val
	return true
}

// makeUnknown stands for text hoist cannot work out (a make function): a
// shell variable nothing sets, so the shell analysis sees a dynamic word.
const makeUnknown = "${HOIST_MAKE_UNKNOWN}"

// value is variable name as make expands it in a recipe.
func (m *makefile) value(name, target string, depth int) string {
	if v, ok := m.cmdline[name]; ok {
		return m.expand(v, target, depth+1)
	}
	if v, ok := m.targetVars[target][name]; ok {
		return m.expand(v, target, depth+1)
	}
	if v, ok := m.vars[name]; ok {
		return m.expand(v, target, depth+1)
	}
	if v, ok := m.env[name]; ok {
		return v
	}
	switch name {
	case "MAKE":
		return "make"
	case "CURDIR":
		return m.dir
	case "SHELL":
		return "/bin/sh"
	}
	return ""
}

// expand expands make's variable references in s; $$ becomes $.
func (m *makefile) expand(s, target string, depth int) string {
	m.work += len(s)
	if depth > 16 || m.over() {
		return makeUnknown
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if b.Len() > maxMakeText {
			return makeUnknown
		}
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch c := s[i]; c {
		case '$':
			b.WriteByte('$')
		case '(', '{':
			end := matchParen(s, i)
			if end < 0 {
				b.WriteString(makeUnknown)
				return b.String()
			}
			inner := s[i+1 : end]
			i = end
			if isMakeName(inner) {
				b.WriteString(m.value(inner, target, depth))
				continue
			}
			fn, arg, _ := strings.Cut(inner, " ")
			if fn == "shell" {
				b.WriteString("$(" + m.expand(arg, target, depth+1) + ")")
				continue
			}
			if name, subst, ok := strings.Cut(inner, ":"); ok && isMakeName(name) && strings.Contains(subst, "=") {
				from, to, _ := strings.Cut(subst, "=")
				var ws []string
				for _, w := range strings.Fields(m.value(name, target, depth)) {
					if strings.HasSuffix(w, from) {
						w = strings.TrimSuffix(w, from) + to
					}
					ws = append(ws, w)
				}
				b.WriteString(strings.Join(ws, " "))
				continue
			}
			b.WriteString(makeUnknown)
		case '@':
			b.WriteString(target)
		default:
			// $<, $^, $* and the like: no file names hoist could tell.
		}
	}
	return b.String()
}

// matchParen is the index of the bracket closing the one at s[i].
func matchParen(s string, i int) int {
	open, close := s[i], byte(')')
	if open == '{' {
		close = '}'
	}
	n := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case open:
			n++
		case close:
			n--
			if n == 0 {
				return j
			}
		}
	}
	return -1
}

// topIndex is the index of the first c in s outside $(...) and ${...}.
func topIndex(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '$' && i+1 < len(s) && (s[i+1] == '(' || s[i+1] == '{') {
			if end := matchParen(s, i+1); end > 0 {
				i = end
				continue
			}
		}
		if s[i] == c {
			return i
		}
	}
	return -1
}

func stripMakeComment(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] != '\\') {
			return s[:i]
		}
	}
	return s
}

// scripts are the shell scripts make runs for goals (the default goal when
// there are none), following prerequisites, pattern rules and recursive
// $(MAKE) calls of the same makefile: each recipe line is a shell of its own
// (one per recipe under .ONESHELL).
func (m *makefile) scripts(goals []string) []string {
	if len(goals) == 0 && m.goal != "" {
		goals = []string{m.goal}
	}
	if g, ok := m.vars[".DEFAULT_GOAL"]; ok && len(goals) == 1 && goals[0] == m.goal {
		goals = strings.Fields(m.expand(g, "", 0))
	}
	if slices.ContainsFunc(goals, func(g string) bool { return strings.Contains(g, "$") }) {
		// A goal hoist cannot expand (make $TARGET) may be any of them.
		goals = nil
		for _, r := range m.rules {
			goals = append(goals, r.targets...)
		}
	}
	var out []string
	seen := map[string]bool{}
	for len(goals) > 0 {
		t := goals[0]
		goals = goals[1:]
		if seen[t] {
			continue
		}
		if len(seen) > maxMakeGoals {
			break // pattern rules whose prerequisites match them again
		}
		seen[t] = true
		explicit := false
		for _, r := range m.rules {
			if slices.Contains(r.targets, t) {
				explicit = true
				goals = append(goals, r.prereqs...)
				goals = append(goals, m.recipeScripts(r, t, &out)...)
			}
		}
		if explicit {
			continue
		}
		for _, r := range m.rules {
			for _, pt := range r.targets {
				stem, ok := matchPattern(pt, t)
				if !ok {
					continue
				}
				for _, p := range r.prereqs {
					goals = append(goals, strings.Replace(p, "%", stem, 1))
				}
				goals = append(goals, m.recipeScripts(r, t, &out)...)
			}
		}
	}
	return out
}

// recipeScripts appends r's recipe, expanded for target, to out, and
// returns the goals a $(MAKE) in it asks of the same makefile.
func (m *makefile) recipeScripts(r makeRule, target string, out *[]string) []string {
	var lines, goals []string
	for _, l := range r.recipe {
		for _, e := range strings.Split(m.expand(l, target, 0), "\n") {
			e = strings.TrimLeft(e, " \t@-+")
			if e == "" {
				continue
			}
			lines = append(lines, e)
			goals = append(goals, subMakeGoals(e)...)
		}
	}
	if m.oneShell && len(lines) > 0 {
		*out = append(*out, strings.Join(lines, "\n"))
	} else {
		*out = append(*out, lines...)
	}
	return goals
}

// subMakeGoals are the goals of a make in a recipe line that runs the same
// makefile (no -C, no -f); a make of another makefile stays unseen.
func subMakeGoals(line string) []string {
	f := strings.Fields(line)
	for i, w := range f {
		if b := path.Base(w); b != "make" && b != "gmake" {
			continue
		}
		var goals []string
		for _, a := range f[i+1:] {
			if strings.ContainsAny(a, ";&|)") {
				break
			}
			if a == "-C" || a == "-f" || strings.HasPrefix(a, "--directory") || strings.HasPrefix(a, "--file") || strings.HasPrefix(a, "--makefile") ||
				strings.HasPrefix(a, "-C") || strings.HasPrefix(a, "-f") {
				return nil
			}
			if !strings.HasPrefix(a, "-") && !strings.Contains(a, "=") {
				goals = append(goals, a)
			}
		}
		return goals
	}
	return nil
}

// matchPattern matches target t against a pattern rule's target (one %).
func matchPattern(pattern, t string) (string, bool) {
	pre, suf, ok := strings.Cut(pattern, "%")
	if !ok || len(t) < len(pre)+len(suf) || !strings.HasPrefix(t, pre) || !strings.HasSuffix(t, suf) {
		return "", false
	}
	return t[len(pre) : len(t)-len(suf)], true
}
