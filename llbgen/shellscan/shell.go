package shellscan

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// Call is one simple command a RUN step runs.
//
// Env holds only what the command really sees: prefix assignments,
// `env X=1`, exported variables, and plain `X=1` of a variable that was
// already in the environment (or under set -a). A plain `X=1` of a new
// name stays a shell variable (Locals): `GOFLAGS=-mod=vendor; go build`
// does not reach go unless GOFLAGS was exported before.
//
// Line counts lines of the text the shell parses: the RUN command text
// (continuation lines are already joined by the Dockerfile parser; for a
// heredoc RUN handed to the shell whole, such as `RUN bash <<EOF`, the
// command line followed by the bodies, as dockerfile2llb builds it), or,
// when Heredoc is set, the body of that heredoc (1 = first body line).
type Call struct {
	Name     string            // command as written after resolution: "go", "/usr/local/go/bin/go", "npm", ...
	Args     []string          // arguments after Name, statically expanded where possible
	Dynamic  bool              // some word of Name/Args could not be resolved statically (unknown $VAR, $(...), xargs input)
	Env      map[string]string // variables the script set that the command sees (see above)
	Unset    []string          // variables the script unset or exported with a value it cannot resolve, sorted
	Dir      string            // directory from cd/pushd/env -C: absolute, or relative to WORKDIR; "" = WORKDIR
	DirKnown bool              // false when a directory change could not be resolved (then Dir is "")
	Line     int               // 1-based line (see above), 0 if unknown

	// Heredoc names the heredoc whose body Line counts in; "" means the
	// RUN command text (or the exec-form argument).
	Heredoc string
	// Locals are shell variables the script set without exporting them:
	// they were used to expand words but the command does not see them.
	Locals map[string]string
	// Wrappers are the commands unwrapped to reach Name, outermost first:
	// "env", "time", "sh -c", "xargs", ...
	Wrappers []string
	// Opaque is set when the command runs code this analysis cannot see:
	// a script file, a script on a pipe, eval of dynamic text, `.`/source,
	// su -c, a shell function recursing too deep.
	Opaque bool
	// Writes are the files the command's output redirections (>, >>, &>,
	// <>) open for writing, statically expanded, as written (absolute, or
	// relative to Dir); redirections of an enclosing block or loop count.
	Writes []string
}

// errNotShell reports a SHELL this analysis cannot follow.
var errNotShell = errors.New("not a POSIX shell")

// Limits that keep hostile or generated scripts from blowing up the
// analysis; real Dockerfiles stay far below them.
const (
	maxNesting = 16    // nested sh -c / eval / function calls
	maxWork    = 50000 // statements visited (and parsed bytes/64), loops and branches included
)

// RunCalls returns the simple commands of a RUN instruction, in source order.
// shell is the stage's SHELL (nil means ["/bin/sh", "-c"]); env is the
// step's environment (stage ENV + ARGs in scope) used to expand words.
// Variables not in env and not set by the script are treated as unknown:
// words using them are Dynamic, cd into them makes DirKnown false.
//
// Commands are assumed to succeed, except that a command after && or in an
// if/case/loop body may not run: state changes there (cd, export) are
// merged with the state without them, so later calls see them as unknown
// unless both paths agree.
func RunCalls(run *instructions.RunCommand, shell []string, env map[string]string) ([]Call, error) {
	if run == nil {
		return nil, errors.New("nil RUN command")
	}
	if len(shell) == 0 {
		shell = []string{"/bin/sh", "-c"}
	}
	a := &analyzer{files: map[string]string{}}
	st := newState(env)
	top := &frame{lang: syntax.LangPOSIX}

	if !run.PrependShell {
		if len(run.Files) > 0 {
			return nil, fmt.Errorf("parsing produced an invalid run command: %v", run.CmdLine)
		}
		if len(run.CmdLine) == 0 {
			return nil, errors.New("RUN has an empty command")
		}
		args := make([]field, len(run.CmdLine))
		for i, s := range run.CmdLine {
			args[i] = field{s: s}
		}
		a.exec(args, nil, st, top, 1, nil, nil, execOpts{})
		return a.result()
	}

	if err := checkShell(shell); err != nil {
		return nil, err
	}
	script := strings.Join(run.CmdLine, " ")
	if len(run.Files) > 0 {
		// Mirror dockerfile2llb's dispatchRun: a lone heredoc is the script
		// itself (or an executable file when it starts with #!); anything
		// else is reconstituted and handed to the shell.
		if len(run.CmdLine) == 1 && parser.MustParseHeredoc(run.CmdLine[0]) != nil {
			f := run.Files[0]
			data := f.Data
			if f.Chomp {
				data = parser.ChompHeredocContent(data)
			}
			top.heredoc = f.Name
			if strings.HasPrefix(data, "#!") {
				p := "/dev/pipes/" + f.Name
				a.files[p] = data
				first, _, _ := strings.Cut(data[2:], "\n")
				var argv []field
				for _, s := range strings.Fields(first) {
					argv = append(argv, field{s: s})
				}
				if len(argv) == 0 {
					return nil, fmt.Errorf("heredoc %s has an empty #! line", f.Name)
				}
				argv = append(argv, field{s: p})
				a.exec(argv, nil, st, top, 1, nil, nil, execOpts{})
				return a.result()
			}
			script = data
		} else {
			var b strings.Builder
			b.WriteString(run.CmdLine[0])
			for _, f := range run.Files {
				b.WriteByte('\n')
				b.WriteString(f.Data)
				b.WriteString(f.Name)
			}
			script = b.String()
		}
	}
	args := make([]field, 0, len(shell)+1)
	for _, s := range shell {
		args = append(args, field{s: s})
	}
	args = append(args, field{s: script})
	a.exec(args, nil, st, top, 1, nil, nil, execOpts{top: true})
	return a.result()
}

// checkShell rejects a SHELL whose command language is not sh-like.
func checkShell(shell []string) error {
	for i := 0; i < len(shell); i++ {
		base := path.Base(shell[i])
		if base == "busybox" && i == 0 {
			continue
		}
		if base == "env" && i == 0 {
			// ["/usr/bin/env", "bash", "-c"]: skip env's options and assignments.
			for i+1 < len(shell) && (strings.HasPrefix(shell[i+1], "-") || strings.Contains(shell[i+1], "=")) {
				i++
			}
			continue
		}
		if _, ok := shellLang(base); ok {
			return nil
		}
		break
	}
	return fmt.Errorf("SHELL %q: %w", shell, errNotShell)
}

// IsShell reports whether a command's base name is a shell this analysis
// follows into (sh, bash, zsh, the ksh family).
func IsShell(base string) bool {
	_, ok := shellLang(base)
	return ok
}

// shellLang maps a shell's base name to the parser variant.
func shellLang(base string) (syntax.LangVariant, bool) {
	switch base {
	case "sh", "dash", "ash", "posh", "yash":
		return syntax.LangPOSIX, true
	case "bash", "rbash":
		return syntax.LangBash, true
	case "zsh":
		return syntax.LangZsh, true
	case "ksh", "mksh", "ksh93", "pdksh", "oksh", "lksh":
		return syntax.LangMirBSDKorn, true
	}
	return 0, false
}

func parseScript(src string, lang syntax.LangVariant) (*syntax.File, error) {
	f, err := syntax.NewParser(syntax.Variant(lang)).Parse(strings.NewReader(src), "")
	if err != nil && lang == syntax.LangPOSIX {
		// /bin/sh is bash on some distributions, where bash syntax works;
		// dash would reject such a script at build time anyway.
		if f2, err2 := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(src), ""); err2 == nil {
			return f2, nil
		}
	}
	return f, err
}

// field is one expanded word.
type field struct {
	s   string
	dyn bool
}

// sv is the analysis' view of one shell variable.
type sv struct {
	val      string
	known    bool // val/set are certain
	set      bool // false: known to be unset
	exported bool
	script   bool // assigned or unset by the script (not the passed env)
}

type dirEnt struct {
	dir   string
	known bool
}

// shState is what one shell process knows at a point of the script.
type shState struct {
	vars      map[string]sv
	envKnown  bool // variables absent from vars are known to be unset (env -i)
	dir       dirEnt
	old       dirEnt // OLDPWD, for cd -
	stack     []dirEnt
	funcs     map[string]*syntax.Stmt
	arg0      string
	params    []string
	paramsOK  bool
	allExport bool
	dead      bool // exit/return/exec ran: nothing after it runs
}

func newState(env map[string]string) *shState {
	st := &shState{vars: map[string]sv{}, dir: dirEnt{known: true}, funcs: map[string]*syntax.Stmt{}, paramsOK: true, arg0: "sh"}
	for k, v := range env {
		st.vars[k] = sv{val: v, known: true, set: true, exported: true}
	}
	return st
}

func (s *shState) clone() *shState {
	c := *s
	c.vars = maps.Clone(s.vars)
	c.funcs = maps.Clone(s.funcs)
	c.stack = slices.Clone(s.stack)
	c.params = slices.Clone(s.params)
	return &c
}

// child is the state a new shell process starts with: exported variables,
// the directory, nothing else.
func (s *shState) child() *shState {
	c := &shState{vars: map[string]sv{}, envKnown: s.envKnown, dir: s.dir, old: dirEnt{known: false}, funcs: map[string]*syntax.Stmt{}, paramsOK: true}
	for k, v := range s.vars {
		if v.exported || (v.script && !v.set) {
			c.vars[k] = v
		}
	}
	return c
}

// merge folds the state of another possible path into s.
func (s *shState) merge(o *shState) {
	if o.dead {
		return
	}
	if s.dead {
		*s = *o.clone()
		return
	}
	for k, v := range o.vars {
		if w, ok := s.vars[k]; !ok || w != v {
			s.vars[k] = sv{known: false, set: true, exported: v.exported || w.exported, script: true}
		}
	}
	for k, w := range s.vars {
		if _, ok := o.vars[k]; !ok {
			s.vars[k] = sv{known: false, set: true, exported: w.exported, script: true}
		}
	}
	s.envKnown = s.envKnown && o.envKnown
	if s.dir != o.dir {
		s.dir = dirEnt{}
	}
	if s.old != o.old {
		s.old = dirEnt{}
	}
	if !slices.Equal(s.stack, o.stack) {
		n := max(len(s.stack), len(o.stack))
		s.stack = make([]dirEnt, n)
	}
	for k, f := range o.funcs {
		if _, ok := s.funcs[k]; !ok {
			s.funcs[k] = f
		}
	}
	if !slices.Equal(s.params, o.params) || s.paramsOK != o.paramsOK {
		s.paramsOK = false
	}
	s.allExport = s.allExport || o.allExport
}

func (s *shState) setVar(name, val string, known bool) {
	old := s.vars[name]
	s.vars[name] = sv{val: val, known: known, set: true, exported: old.exported || s.allExport, script: true}
}

func (s *shState) unsetVar(name string) {
	s.vars[name] = sv{known: true, set: false, script: true}
}

// frame is the syntax context of one script text.
type frame struct {
	lang     syntax.LangVariant
	lineBase int      // added to parser lines
	heredoc  string   // Call.Heredoc for calls in this text
	wrappers []string // Call.Wrappers prefix: the shells that run this text
}

type execOpts struct {
	noFuncs  bool // `command`, `env`, ...: shell functions and builtins do not apply
	external bool // the command runs as a separate program: builtins cannot change st
	dynArgs  bool // more arguments arrive at run time (xargs)
	top      bool // the stage's SHELL running the RUN text: not a wrapper the user wrote
}

type analyzer struct {
	calls []Call
	err   error
	depth int
	work  int
	files map[string]string // contents of files the analysis knows (heredoc scripts)
	hdocs map[*syntax.Redirect]field
	// writes are the output redirection targets of the statements being
	// walked, outermost first.
	writes []string
}

func (a *analyzer) result() ([]Call, error) {
	if a.err != nil {
		return nil, a.err
	}
	return a.calls, nil
}

func (a *analyzer) fail(err error) {
	if a.err == nil {
		a.err = err
	}
}

// The walkers leave in st the state after the statement succeeded and
// return the state after it failed, or nil when that is the same state
// (plain commands are assumed to change nothing when they fail, so a
// failing `cd` is not modelled). The distinction keeps `a && b && c`
// precise while `[ -d x ] && cd x; go build` sees an unknown directory.

func (a *analyzer) stmts(list []*syntax.Stmt, st *shState, fr *frame) *shState {
	var fail *shState
	for _, s := range list {
		if fail != nil {
			// Without set -e the next statement runs on either path.
			st.merge(fail)
			fail = nil
		}
		if st.dead || a.err != nil {
			return nil
		}
		fail = a.stmt(s, st, fr)
	}
	return fail
}

// orClone returns f, or a copy of st when f is nil.
func orClone(f, st *shState) *shState {
	if f != nil {
		return f
	}
	return st.clone()
}

func (a *analyzer) stmt(s *syntax.Stmt, st *shState, fr *frame) *shState {
	a.work++
	if a.work > maxWork {
		a.fail(errors.New("RUN script is too complex to analyse"))
		return nil
	}
	if s.Background || s.Coprocess || s.Disown {
		st = st.clone() // runs in a subshell
	}
	for _, r := range s.Redirs {
		switch r.Op {
		case syntax.Hdoc, syntax.DashHdoc:
			if r.Hdoc != nil {
				s, dyn := a.document(r.Hdoc, st, fr)
				a.setHdoc(r, field{s: s, dyn: dyn})
			} else {
				a.setHdoc(r, field{})
			}
		case syntax.WordHdoc:
			s, dyn := a.literal(r.Word, st, fr)
			a.setHdoc(r, field{s: s + "\n", dyn: dyn})
		default:
			if r.Word != nil {
				w, dyn := a.literal(r.Word, st, fr)
				if writesTo(r.Op) && !dyn && w != "" && !strings.HasPrefix(w, "/dev/") {
					outer := a.writes
					a.writes = append(slices.Clone(a.writes), w)
					defer func() { a.writes = outer }()
				}
			}
		}
	}
	if s.Cmd == nil {
		return nil
	}
	fail := a.command(s.Cmd, s, st, fr)
	if s.Negated {
		ok := st.clone()
		*st = *orClone(fail, st)
		fail = ok
	}
	return fail
}

// writesTo reports redirections that open their file for writing.
func writesTo(op syntax.RedirOperator) bool {
	switch op {
	case syntax.RdrOut, syntax.AppOut, syntax.RdrAll, syntax.AppAll, syntax.RdrInOut, syntax.RdrClob, syntax.AppClob:
		return true
	}
	return false
}

func (a *analyzer) setHdoc(r *syntax.Redirect, f field) {
	if a.hdocs == nil {
		a.hdocs = map[*syntax.Redirect]field{}
	}
	a.hdocs[r] = f
}

func (a *analyzer) command(cmd syntax.Command, s *syntax.Stmt, st *shState, fr *frame) *shState {
	switch c := cmd.(type) {
	case *syntax.CallExpr:
		return a.callExpr(c, s, st, fr)
	case *syntax.BinaryCmd:
		switch c.Op {
		case syntax.AndStmt:
			fail := orClone(a.stmt(c.X, st, fr), st)
			if st.dead {
				return fail
			}
			fail.merge(orClone(a.stmt(c.Y, st, fr), st))
			return fail
		case syntax.OrStmt:
			y := orClone(a.stmt(c.X, st, fr), st)
			fail := a.stmt(c.Y, y, fr)
			if fail == nil {
				fail = y.clone()
			}
			st.merge(y)
			return fail
		default: // pipes: every element runs in a subshell
			a.stmt(c.X, st.clone(), fr)
			a.stmt(c.Y, st.clone(), fr)
		}
	case *syntax.Subshell:
		a.stmts(c.Stmts, st.clone(), fr)
	case *syntax.Block:
		return a.stmts(c.Stmts, st, fr)
	case *syntax.IfClause:
		a.ifClause(c, st, fr)
	case *syntax.WhileClause:
		a.loop(st, func(x *shState) {
			a.stmts(c.Cond, x, fr)
			a.stmts(c.Do, x, fr)
		})
	case *syntax.ForClause:
		switch l := c.Loop.(type) {
		case *syntax.WordIter:
			var items []field
			if l.InPos.IsValid() || len(l.Items) > 0 {
				for _, w := range l.Items {
					items = append(items, a.fields(w, st, fr)...)
				}
			} else if st.paramsOK {
				for _, p := range st.params {
					items = append(items, field{s: p})
				}
			} else {
				items = []field{{dyn: true}, {dyn: true}}
			}
			name := l.Name.Value
			static := !slices.ContainsFunc(items, func(f field) bool { return f.dyn })
			switch {
			case static && len(items) == 0:
				return nil
			case static && len(items) == 1: // the body runs exactly once
				st.setVar(name, items[0].s, true)
				a.stmts(c.Do, st, fr)
				return nil
			}
			a.loop(st, func(x *shState) {
				if len(items) == 1 && !items[0].dyn {
					x.setVar(name, items[0].s, true)
				} else {
					x.setVar(name, "", false)
				}
				a.stmts(c.Do, x, fr)
			})
		default:
			a.substs(c.Loop, st, fr)
			a.loop(st, func(x *shState) { a.stmts(c.Do, x, fr) })
		}
	case *syntax.CaseClause:
		a.literal(c.Word, st, fr)
		out := st.clone()
		out.dead = true
		catchAll := false
		for _, it := range c.Items {
			for _, p := range it.Patterns {
				if p.Lit() == "*" {
					catchAll = true
				}
			}
			b := st.clone()
			a.stmts(it.Stmts, b, fr)
			out.merge(b)
		}
		if !catchAll {
			out.merge(st)
		}
		*st = *out
	case *syntax.FuncDecl:
		if fixed := splitFuncChain(c); fixed != nil {
			return a.stmt(fixed, st, fr)
		}
		if c.Name != nil {
			st.funcs[c.Name.Value] = c.Body
		}
		for _, n := range c.Names {
			st.funcs[n.Value] = c.Body
		}
		return neverFails()
	case *syntax.DeclClause:
		a.declClause(c, st, fr)
		return neverFails()
	case *syntax.TimeClause:
		if c.Stmt != nil {
			return a.stmt(c.Stmt, st, fr)
		}
	case *syntax.CoprocClause:
		a.stmt(c.Stmt, st.clone(), fr)
	case *syntax.ArithmCmd, *syntax.LetClause:
		a.arithm(c, st, fr)
	case *syntax.TestClause:
		a.substs(c, st, fr)
	}
	return nil
}

// splitFuncChain undoes a quirk of mvdan.cc/sh v3.14.1, which parses
// `f() { ...; } && f` as a function whose body is `{ ...; } && f`. Shells
// end the body at the compound command, so this returns the chain with
// the definition as its first element, or nil when c is not affected.
func splitFuncChain(c *syntax.FuncDecl) *syntax.Stmt {
	if c.Body == nil {
		return nil
	}
	if _, ok := c.Body.Cmd.(*syntax.BinaryCmd); !ok {
		return nil
	}
	var rebuild func(s *syntax.Stmt) *syntax.Stmt
	rebuild = func(s *syntax.Stmt) *syntax.Stmt {
		if bc, ok := s.Cmd.(*syntax.BinaryCmd); ok && bc.X != nil {
			nb := *bc
			nb.X = rebuild(bc.X)
			ns := *s
			ns.Cmd = &nb
			return &ns
		}
		fd := *c
		fd.Body = s
		return &syntax.Stmt{Cmd: &fd, Position: c.Position}
	}
	return rebuild(c.Body)
}

func (a *analyzer) ifClause(c *syntax.IfClause, st *shState, fr *frame) {
	if !c.ThenPos.IsValid() { // else
		a.stmts(c.Then, st, fr)
		return
	}
	fail := a.stmts(c.Cond, st, fr)
	then := st.clone()
	a.stmts(c.Then, then, fr)
	els := orClone(fail, st)
	if c.Else != nil {
		a.ifClause(c.Else, els, fr)
	}
	then.merge(els)
	*st = *then
}

// loop runs body zero or more times. A first silent pass finds what the
// body changes; calls are recorded from a second pass over the merged state,
// so a `cd sub` in the body makes Dir unknown for every iteration.
func (a *analyzer) loop(st *shState, body func(*shState)) {
	n := len(a.calls)
	trial := st.clone()
	body(trial)
	a.calls = a.calls[:n]
	trial.dead = false // break/exit in the body: the state still flows out
	m := st.clone()
	m.merge(trial)
	run := m.clone()
	body(run)
	m.merge(run)
	*st = *m
}

// arithm marks variables an arithmetic command assigns as unknown.
func (a *analyzer) arithm(n syntax.Node, st *shState, fr *frame) {
	syntax.Walk(n, func(n syntax.Node) bool {
		switch x := n.(type) {
		case *syntax.BinaryArithm:
			if x.Op >= syntax.Assgn && x.Op <= syntax.ShrAssgn {
				if w, ok := x.X.(*syntax.Word); ok {
					st.setVar(w.Lit(), "", false)
				}
			}
		case *syntax.UnaryArithm:
			if x.Op == syntax.Inc || x.Op == syntax.Dec {
				if w, ok := x.X.(*syntax.Word); ok {
					st.setVar(w.Lit(), "", false)
				}
			}
		case *syntax.CmdSubst:
			a.stmts(x.Stmts, st.clone(), fr)
			return false
		}
		return true
	})
}

// substs walks the command substitutions inside a node that is not
// expanded word by word (test clauses, C-style loops).
func (a *analyzer) substs(n syntax.Node, st *shState, fr *frame) {
	if n == nil {
		return
	}
	syntax.Walk(n, func(n syntax.Node) bool {
		switch x := n.(type) {
		case *syntax.CmdSubst:
			a.stmts(x.Stmts, st.clone(), fr)
			return false
		case *syntax.ProcSubst:
			a.stmts(x.Stmts, st.clone(), fr)
			return false
		}
		return true
	})
}

// declClause handles bash's export/declare/local/readonly/typeset.
func (a *analyzer) declClause(c *syntax.DeclClause, st *shState, fr *frame) {
	variant := c.Variant.Value
	export := variant == "export"
	unexport := false
	for _, as := range c.Args {
		if as.Naked && as.Name == nil && as.Value != nil {
			s, dyn := a.literal(as.Value, st, fr)
			switch {
			case strings.HasPrefix(s, "-") && strings.ContainsRune(s, 'x'):
				export = true
			case strings.HasPrefix(s, "+") && strings.ContainsRune(s, 'x'):
				unexport = true
			case variant == "export" && s == "-n":
				unexport, export = true, false
			case strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+"):
			default:
				if name, val, ok := strings.Cut(s, "="); ok && syntax.ValidName(name) {
					a.assign(st, name, val, !dyn, false, export)
				}
			}
			continue
		}
		if as.Name == nil {
			continue
		}
		name := as.Name.Value
		if as.Naked {
			v, ok := st.vars[name]
			if !ok {
				v = sv{set: true}
				if st.envKnown {
					v = sv{known: true}
				}
			}
			if export || unexport {
				v.exported = export && !unexport
				v.script = true
				st.vars[name] = v
			}
			continue
		}
		if as.Array != nil || as.Index != nil {
			a.substs(as, st, fr)
			st.setVar(name, "", false)
			if export {
				v := st.vars[name]
				v.exported = true
				st.vars[name] = v
			}
			continue
		}
		val, dyn := "", false
		if as.Value != nil {
			val, dyn = a.literal(as.Value, st, fr)
		}
		a.assign(st, name, val, !dyn, as.Append, export)
		if unexport {
			v := st.vars[name]
			v.exported = false
			st.vars[name] = v
		}
	}
}

// assign sets a variable as an assignment word would.
func (a *analyzer) assign(st *shState, name, val string, known, app, export bool) {
	if app {
		old, ok := st.vars[name]
		switch {
		case ok && old.known:
			val = old.val + val
		case !ok && st.envKnown:
		default:
			known = false
		}
	}
	st.setVar(name, val, known)
	if export {
		v := st.vars[name]
		v.exported = true
		st.vars[name] = v
	}
}

// neverFails is the failure state of a command that cannot fail: a dead
// state, which merges away.
func neverFails() *shState { return &shState{dead: true} }

// cannotFail lists commands whose failure is not worth a path of its own.
var cannotFail = map[string]bool{"true": true, ":": true, "set": true, "unset": true, "shift": true,
	"export": true, "readonly": true, "local": true, "declare": true, "typeset": true}

func (a *analyzer) callExpr(c *syntax.CallExpr, s *syntax.Stmt, st *shState, fr *frame) *shState {
	line := 0
	if p := c.Pos(); p.IsValid() {
		line = int(p.Line()) + fr.lineBase
	}
	if len(c.Args) == 0 {
		for _, as := range c.Assigns {
			a.assignWord(as, st, fr)
		}
		return neverFails()
	}
	// POSIX-mode export/readonly/local arrive as plain calls; their
	// operands are assignments, not fields to split.
	if lit := c.Args[0].Lit(); len(c.Assigns) == 0 && (lit == "export" || lit == "readonly" || lit == "local" || lit == "declare" || lit == "typeset") {
		export := lit == "export"
		for _, w := range c.Args[1:] {
			v, dyn := a.literal(w, st, fr)
			if strings.HasPrefix(v, "-") {
				if lit == "export" && strings.Contains(v, "n") {
					export = false
				} else if strings.Contains(v, "x") {
					export = true
				}
				continue
			}
			name, val, ok := strings.Cut(v, "=")
			if !syntax.ValidName(name) {
				continue
			}
			if ok {
				a.assign(st, name, val, !dyn, false, export)
			} else if export {
				x, found := st.vars[name]
				if !found {
					x = sv{set: true}
					if st.envKnown {
						x = sv{known: true}
					}
				}
				x.exported, x.script = true, true
				st.vars[name] = x
			}
		}
		return neverFails()
	}
	var args []field
	for _, w := range c.Args {
		args = append(args, a.fields(w, st, fr)...)
	}
	var pre map[string]sv
	if len(c.Assigns) > 0 {
		// Prefix assignments are visible to later prefix expansions and
		// exported to the command only.
		tmp := st.clone()
		pre = map[string]sv{}
		for _, as := range c.Assigns {
			a.assignWord(as, tmp, fr)
			v := tmp.vars[as.Name.Value]
			v.exported = true
			pre[as.Name.Value] = v
		}
	}
	a.exec(args, pre, st, fr, line, s, nil, execOpts{})
	if len(args) > 0 && !args[0].dyn && cannotFail[args[0].s] {
		return neverFails()
	}
	return nil
}

func (a *analyzer) assignWord(as *syntax.Assign, st *shState, fr *frame) {
	if as.Name == nil {
		return
	}
	if as.Array != nil || as.Index != nil {
		a.substs(as, st, fr)
		st.setVar(as.Name.Value, "", false)
		return
	}
	val, dyn := "", false
	if as.Value != nil {
		val, dyn = a.literal(as.Value, st, fr)
	}
	a.assign(st, as.Name.Value, val, !dyn, as.Append, false)
}

// exec runs one expanded command line.
func (a *analyzer) exec(args []field, pre map[string]sv, st *shState, fr *frame, line int, s *syntax.Stmt, wr []string, o execOpts) {
	if a.err != nil {
		return
	}
	if len(args) == 0 {
		// Only assignments (a word expanded to nothing): they stay in the shell.
		for k, v := range pre {
			v.exported = st.vars[k].exported || st.allExport
			st.vars[k] = v
		}
		return
	}
	name := args[0]
	if name.dyn {
		a.record(args, pre, st, fr, line, wr, o, true)
		return
	}
	rest := args[1:]
	if !o.external {
		switch name.s {
		case "cd":
			a.cd(rest, st)
			return
		case "pushd":
			prev := st.dir
			ops := nonOptions(rest)
			if len(ops) != 1 || strings.HasPrefix(ops[0].s, "+") || strings.HasPrefix(ops[0].s, "-") {
				st.dir = dirEnt{}
				st.stack = append(st.stack, dirEnt{})
				return
			}
			a.cd(ops, st)
			st.stack = append(st.stack, prev)
			return
		case "popd":
			if len(st.stack) == 0 || len(nonOptions(rest)) > 0 {
				st.dir = dirEnt{}
				return
			}
			st.old = st.dir
			st.dir = st.stack[len(st.stack)-1]
			st.stack = st.stack[:len(st.stack)-1]
			return
		case "unset":
			funcs := false
			for _, f := range rest {
				switch {
				case f.s == "-f":
					funcs = true
				case f.s == "-v":
					funcs = false
				case f.dyn:
				case funcs:
					delete(st.funcs, f.s)
				case syntax.ValidName(f.s):
					st.unsetVar(f.s)
				}
			}
			return
		case "set":
			a.set(rest, st)
			return
		case "shift":
			n := 1
			if len(rest) > 0 {
				if _, err := fmt.Sscanf(rest[0].s, "%d", &n); err != nil || rest[0].dyn {
					st.paramsOK = false
					return
				}
			}
			if n <= len(st.params) {
				st.params = st.params[n:]
			}
			return
		case "eval":
			a.eval(args, st, fr, line, wr)
			return
		case ".", "source":
			a.record(args, pre, st, fr, line, wr, o, false).Opaque = true
			return
		case "exit", "return":
			st.dead = true
			return
		case "read", "getopts", "mapfile", "readarray", "printf":
			a.assignsRun(name.s, rest, st)
		case "exec":
			if len(rest) == 0 {
				return
			}
			a.exec(skipOpts(rest, "a"), pre, st, fr, line, s, append(wr, "exec"), o)
			st.dead = true
			return
		case "command":
			if len(rest) == 0 {
				return
			}
			for _, f := range rest {
				if !strings.HasPrefix(f.s, "-") || f.s == "--" {
					break
				}
				if strings.ContainsAny(f.s, "vV") { // a lookup, not a run
					a.record(args, pre, st, fr, line, wr, o, false)
					return
				}
			}
			o.noFuncs = true
			a.exec(skipOpts(rest, ""), pre, st, fr, line, s, append(wr, "command"), o)
			return
		case "builtin":
			o.noFuncs = true
			a.exec(rest, pre, st, fr, line, s, append(wr, "builtin"), o)
			return
		case "time":
			a.exec(skipOpts(rest, "fo"), pre, st, fr, line, s, append(wr, "time"), o)
			return
		}
		if f, ok := st.funcs[name.s]; ok && !o.noFuncs {
			a.callFunc(f, args, pre, st, fr, line, wr, o)
			return
		}
	}
	base := path.Base(name.s)
	switch base {
	case "env":
		a.env(args, pre, st, fr, line, s, wr, o)
		return
	case "nice":
		a.execChild(skipOpts(rest, "n"), pre, st, fr, line, s, append(wr, base), o)
		return
	case "nohup":
		a.execChild(rest, pre, st, fr, line, s, append(wr, base), o)
		return
	case "setsid", "stdbuf", "ionice", "chrt", "taskset":
		opts := map[string]string{"stdbuf": "ioe", "ionice": "cnp", "chrt": "", "taskset": ""}[base]
		r := skipOpts(rest, opts)
		if base == "taskset" && len(r) > 0 && !strings.HasPrefix(args[1].s, "-p") {
			r = r[1:] // the CPU mask
		}
		if base == "chrt" && len(r) > 0 {
			r = r[1:] // the priority
		}
		a.execChild(r, pre, st, fr, line, s, append(wr, base), o)
		return
	case "timeout":
		r := skipOpts(rest, "sk")
		if len(r) > 0 {
			r = r[1:] // the duration
		}
		a.execChild(r, pre, st, fr, line, s, append(wr, base), o)
		return
	case "time":
		a.execChild(skipOpts(rest, "fo"), pre, st, fr, line, s, append(wr, base), o)
		return
	case "xargs":
		a.xargs(args, pre, st, fr, line, s, wr, o)
		return
	case "find":
		a.find(args, pre, st, fr, line, s, wr, o)
		return
	case "busybox":
		if len(rest) > 0 && !strings.HasPrefix(rest[0].s, "-") {
			a.exec(rest, pre, st, fr, line, s, append(wr, base), o)
			return
		}
	case "sudo", "runuser", "gosu", "su-exec":
		if a.switchUser(base, args, pre, st, fr, line, s, wr, o) {
			return
		}
		a.record(args, pre, st, fr, line, wr, o, false).Opaque = true
		return
	case "su":
		a.record(args, pre, st, fr, line, wr, o, false).Opaque = slices.ContainsFunc(rest, func(f field) bool {
			return f.s == "-c" || f.s == "--command" || strings.HasPrefix(f.s, "--command=") || f.s == "-s" || f.s == "--session-command"
		})
		return
	}
	if lang, ok := shellLang(base); ok {
		a.shell(args, lang, pre, st, fr, line, s, wr, o)
		return
	}
	a.record(args, pre, st, fr, line, wr, o, false)
}

// assignsRun marks the variables that read, getopts, mapfile and printf -v
// assign at run time as unknown.
func (a *analyzer) assignsRun(name string, args []field, st *shState) {
	mark := func(f field) {
		if !f.dyn && syntax.ValidName(f.s) {
			st.setVar(f.s, "", false)
		}
	}
	switch name {
	case "getopts":
		if len(args) > 1 {
			mark(args[1])
		}
		st.setVar("OPTARG", "", false)
		st.setVar("OPTIND", "", false)
	case "printf":
		for i := 0; i+1 < len(args) && strings.HasPrefix(args[i].s, "-"); i++ {
			if args[i].s == "-v" {
				mark(args[i+1])
			}
		}
	default: // read, mapfile, readarray
		withArg := "adinNptuCcOs"
		if name == "read" {
			withArg = "adinNptu"
		}
		i := 0
		for ; i < len(args) && strings.HasPrefix(args[i].s, "-") && args[i].s != "-"; i++ {
			f := args[i].s
			if f == "--" {
				i++
				break
			}
			if strings.IndexByte(withArg, f[len(f)-1]) >= 0 && i+1 < len(args) {
				if f[len(f)-1] == 'a' {
					mark(args[i+1])
				}
				i++
			}
		}
		names := args[i:]
		if len(names) == 0 {
			names = []field{{s: map[bool]string{true: "REPLY", false: "MAPFILE"}[name == "read"]}}
		}
		for _, f := range names {
			mark(f)
		}
	}
}

// switchUser unwraps sudo, runuser -u, gosu and su-exec: the command
// runs as another user, so HOME (and for sudo without -E the whole
// environment) is no longer what the stage says. It returns false when the
// wrapped command cannot be found (sudo -s, runuser -c, ...).
func (a *analyzer) switchUser(base string, args []field, pre map[string]sv, st *shState, fr *frame, line int, s *syntax.Stmt, wr []string, o execOpts) bool {
	child := st.clone()
	maps.Copy(child.vars, pre)
	rest := args[1:]
	resetAll := base == "sudo"
	switch base {
	case "gosu", "su-exec":
		if len(rest) < 2 {
			return false
		}
		rest = rest[1:]
	default:
		user := false
		for len(rest) > 0 && strings.HasPrefix(rest[0].s, "-") {
			f := rest[0].s
			rest = rest[1:]
			if f == "--" {
				break
			}
			if rest0 := strings.TrimLeft(f, "-"); strings.HasPrefix(f, "--") {
				switch {
				case rest0 == "preserve-env" || strings.HasPrefix(rest0, "preserve-env="):
					resetAll = false
				case rest0 == "user" || rest0 == "group" || rest0 == "chdir" || rest0 == "prompt" || rest0 == "host" || rest0 == "close-from" || rest0 == "command-timeout" || rest0 == "role" || rest0 == "type" || rest0 == "other-user" || rest0 == "chroot":
					user = user || rest0 == "user"
					if rest0 == "chdir" && len(rest) > 0 {
						a.cd(rest[:1], child)
					}
					if len(rest) > 0 {
						rest = rest[1:]
					}
				case strings.HasPrefix(rest0, "user="):
					user = true
				case strings.HasPrefix(rest0, "chdir="):
					a.cd([]field{{s: strings.TrimPrefix(rest0, "chdir=")}}, child)
				case rest0 == "login" || rest0 == "shell" || rest0 == "command" || rest0 == "session-command" || rest0 == "edit" || rest0 == "list" || rest0 == "validate":
					return false
				}
				continue
			}
			for j := 1; j < len(f); j++ {
				switch c := f[j]; {
				case c == 'E':
					resetAll = false
				case strings.IndexByte("isclveVkKpbw", c) >= 0 && !(base == "sudo" && strings.IndexByte("pw", c) >= 0):
					if base == "sudo" && c == 'k' && len(rest) > 0 {
						continue // sudo -k cmd: only resets the timestamp
					}
					if c == 'p' || c == 'w' { // runuser -p/-w: keep env / whitelist
						resetAll = false
						continue
					}
					return false
				case strings.IndexByte("ugCDhprtUTRg", c) >= 0:
					user = user || c == 'u'
					v := field{s: f[j+1:]}
					if j == len(f)-1 {
						if len(rest) == 0 {
							return false
						}
						v, rest = rest[0], rest[1:]
					}
					if c == 'D' && base == "sudo" {
						a.cd([]field{v}, child)
					}
					j = len(f)
				}
			}
		}
		if base == "runuser" && !user {
			return false // runuser USER -c ...: like su
		}
	}
	for k, v := range child.vars {
		if resetAll || k == "HOME" || k == "USER" || k == "LOGNAME" || k == "SHELL" {
			child.vars[k] = sv{known: false, set: true, exported: v.exported, script: true}
		}
	}
	if _, ok := child.vars["HOME"]; !ok {
		child.vars["HOME"] = sv{set: true, exported: true, script: true}
	}
	if resetAll {
		child.envKnown = false
	}
	// sudo VAR=value cmd
	for base == "sudo" && len(rest) > 0 {
		k, v, ok := strings.Cut(rest[0].s, "=")
		if !ok || !syntax.ValidName(k) {
			break
		}
		child.vars[k] = sv{val: v, known: !rest[0].dyn, set: true, exported: true, script: true}
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return false
	}
	a.execChild(rest, nil, child, fr, line, s, append(wr, base), o)
	return true
}

// execChild runs a wrapped command: it is a separate program, so builtins
// and shell functions no longer apply.
func (a *analyzer) execChild(args []field, pre map[string]sv, st *shState, fr *frame, line int, s *syntax.Stmt, wr []string, o execOpts) {
	o.external, o.noFuncs = true, true
	a.exec(args, pre, st, fr, line, s, wr, o)
}

func nonOptions(args []field) []field {
	for i, f := range args {
		if f.s == "--" {
			return args[i+1:]
		}
		if !strings.HasPrefix(f.s, "-") || f.s == "-" {
			return args[i:]
		}
	}
	return nil
}

// skipOpts drops leading options; letters in withArg take a value
// (-n 10, -n10, --name=v, --name v for their long forms too).
func skipOpts(args []field, withArg string) []field {
	i := 0
	for i < len(args) {
		f := args[i].s
		if f == "--" {
			return args[i+1:]
		}
		if !strings.HasPrefix(f, "-") || f == "-" {
			break
		}
		i++
		if strings.HasPrefix(f, "--") {
			if !strings.Contains(f, "=") && longTakesArg(f) {
				i++
			}
			continue
		}
		if isNumber(f[1:]) { // nice -10
			continue
		}
		for j := 1; j < len(f); j++ {
			if strings.IndexByte(withArg, f[j]) >= 0 {
				if j == len(f)-1 {
					i++
				}
				break
			}
		}
	}
	if i > len(args) {
		return nil
	}
	return args[i:]
}

func longTakesArg(f string) bool {
	switch f {
	case "--adjustment", "--signal", "--kill-after", "--format", "--output", "--input", "--error",
		"--chdir", "--unset", "--split-string", "--max-args", "--max-lines", "--max-procs", "--delimiter",
		"--arg-file", "--max-chars", "--replace", "--eof", "--class", "--classdata", "--pid":
		return true
	}
	return false
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func (a *analyzer) cd(args []field, st *shState) {
	ops := nonOptions(args)
	prev := st.dir
	var target field
	switch {
	case len(ops) == 0:
		h, ok := st.vars["HOME"]
		if !ok || !h.known || !h.set {
			st.dir = dirEnt{}
			st.old = prev
			return
		}
		target = field{s: h.val}
	case ops[0].s == "-":
		st.dir, st.old = st.old, prev
		return
	default:
		target = ops[0]
	}
	st.old = prev
	if target.dyn || target.s == "" {
		st.dir = dirEnt{}
		return
	}
	t := target.s
	if !path.IsAbs(t) && !strings.HasPrefix(t, "./") && !strings.HasPrefix(t, "../") && t != "." && t != ".." {
		if v, ok := st.vars["CDPATH"]; ok && (!v.known || v.val != "") {
			st.dir = dirEnt{} // CDPATH may redirect a relative cd
			return
		}
	}
	switch {
	case path.IsAbs(t):
		st.dir = dirEnt{dir: path.Clean(t), known: true}
	case !prev.known:
		st.dir = dirEnt{}
	default:
		d := path.Clean(path.Join(prev.dir, t))
		if d == "." {
			d = ""
		}
		st.dir = dirEnt{dir: d, known: true}
	}
}

func (a *analyzer) set(args []field, st *shState) {
	for i := 0; i < len(args); i++ {
		f := args[i]
		if f.dyn {
			st.paramsOK = false
			return
		}
		switch {
		case f.s == "--":
			a.setParams(args[i+1:], st)
			return
		case f.s == "-o" || f.s == "+o":
			if i+1 < len(args) {
				i++
				if args[i].s == "allexport" {
					st.allExport = f.s == "-o"
				}
			}
		case strings.HasPrefix(f.s, "-") || strings.HasPrefix(f.s, "+"):
			if strings.ContainsRune(f.s[1:], 'a') {
				st.allExport = f.s[0] == '-'
			}
			if strings.ContainsRune(f.s[1:], 'o') && i+1 < len(args) {
				i++
				if args[i].s == "allexport" {
					st.allExport = f.s[0] == '-'
				}
			}
		default:
			a.setParams(args[i:], st)
			return
		}
	}
}

func (a *analyzer) setParams(args []field, st *shState) {
	st.params = st.params[:0:0]
	st.paramsOK = true
	for _, f := range args {
		if f.dyn {
			st.paramsOK = false
		}
		st.params = append(st.params, f.s)
	}
}

func (a *analyzer) eval(args []field, st *shState, fr *frame, line int, wr []string) {
	var parts []string
	for _, f := range args[1:] {
		if f.dyn {
			c := a.record(args, nil, st, fr, line, wr, execOpts{}, true)
			c.Opaque = true
			st.dir = dirEnt{} // the text may cd anywhere
			return
		}
		parts = append(parts, f.s)
	}
	a.nested(strings.Join(parts, " "), fr.lang, st, &frame{lang: fr.lang, lineBase: max(line-1, 0), heredoc: fr.heredoc,
		wrappers: append(append(slices.Clone(fr.wrappers), wr...), "eval")})
}

// nested parses and walks script text in st.
func (a *analyzer) nested(src string, lang syntax.LangVariant, st *shState, fr *frame) {
	if a.depth >= maxNesting {
		a.fail(errors.New("RUN script nests shells or eval too deeply to analyse"))
		return
	}
	a.work += len(src) / 64
	f, err := parseScript(src, lang)
	if err != nil {
		a.fail(fmt.Errorf("cannot parse shell script: %w", err))
		return
	}
	a.depth++
	a.stmts(f.Stmts, st, fr)
	a.depth--
}

func (a *analyzer) callFunc(body *syntax.Stmt, args []field, pre map[string]sv, st *shState, fr *frame, line int, wr []string, o execOpts) {
	if a.depth >= maxNesting {
		c := a.record(args, pre, st, fr, line, wr, o, false)
		c.Opaque = true
		st.dir = dirEnt{}
		return
	}
	savedParams, savedOK := st.params, st.paramsOK
	a.setParams(args[1:], st)
	a.depth++
	a.stmt(body, st, fr)
	a.depth--
	st.params, st.paramsOK = savedParams, savedOK
	st.dead = false
}

// env handles env(1): assignments, -i, -u, -C, -S, then the command.
func (a *analyzer) env(args []field, pre map[string]sv, st *shState, fr *frame, line int, s *syntax.Stmt, wr []string, o execOpts) {
	child := st.clone()
	for k, v := range pre {
		child.vars[k] = v
	}
	rest := args[1:]
	dynDir := false
	for len(rest) > 0 {
		f := rest[0]
		val := func(long string) (field, bool) {
			if v, ok := strings.CutPrefix(f.s, long+"="); ok && long != "" {
				rest = rest[1:]
				return field{s: v, dyn: f.dyn}, true
			}
			if len(f.s) > 2 && f.s[1] != '-' {
				rest = rest[1:]
				return field{s: f.s[2:], dyn: f.dyn}, true
			}
			if len(rest) < 2 {
				rest = nil
				return field{}, false
			}
			v := rest[1]
			rest = rest[2:]
			return v, true
		}
		switch {
		case f.dyn && strings.HasPrefix(f.s, "-"):
			dynDir = true
			rest = rest[1:]
		case f.s == "--":
			rest = rest[1:]
			goto assigns
		case f.s == "-" || f.s == "-i" || f.s == "--ignore-environment":
			for k := range child.vars {
				child.vars[k] = sv{known: true, script: true}
			}
			child.envKnown = true
			rest = rest[1:]
		case f.s == "-u" || strings.HasPrefix(f.s, "--unset") || (strings.HasPrefix(f.s, "-u") && !strings.HasPrefix(f.s, "--")):
			if v, ok := val("--unset"); ok && !v.dyn {
				child.unsetVar(v.s)
			}
		case f.s == "-C" || strings.HasPrefix(f.s, "--chdir") || (strings.HasPrefix(f.s, "-C") && !strings.HasPrefix(f.s, "--")):
			if v, ok := val("--chdir"); ok {
				a.cd([]field{v}, child)
			}
		case f.s == "-S" || strings.HasPrefix(f.s, "--split-string") || (strings.HasPrefix(f.s, "-S") && !strings.HasPrefix(f.s, "--")):
			v, ok := val("--split-string")
			if !ok {
				break
			}
			var split []field
			for _, p := range strings.Fields(v.s) {
				split = append(split, field{s: p, dyn: v.dyn})
			}
			rest = append(split, rest...)
		case strings.HasPrefix(f.s, "-"):
			rest = rest[1:] // -0, -v, --debug, ...
		default:
			goto assigns
		}
	}
assigns:
	for len(rest) > 0 {
		k, v, ok := strings.Cut(rest[0].s, "=")
		if !ok || !syntax.ValidName(k) {
			break
		}
		child.vars[k] = sv{val: v, known: !rest[0].dyn, set: true, exported: true, script: true}
		rest = rest[1:]
	}
	if dynDir {
		child.dir = dirEnt{}
	}
	wr = append(wr, "env")
	if len(rest) == 0 {
		a.record(args, pre, st, fr, line, wr[:len(wr)-1], o, false)
		return
	}
	a.execChild(rest, nil, child, fr, line, s, wr, o)
}

// xargs: the command gets more arguments (or replaced strings) at run time.
func (a *analyzer) xargs(args []field, pre map[string]sv, st *shState, fr *frame, line int, s *syntax.Stmt, wr []string, o execOpts) {
	rest := args[1:]
	replace := ""
	for len(rest) > 0 {
		f := rest[0].s
		if f == "--" {
			rest = rest[1:]
			break
		}
		if !strings.HasPrefix(f, "-") || f == "-" {
			break
		}
		rest = rest[1:]
		switch {
		case f == "-I" || f == "--replace":
			if len(rest) > 0 {
				replace = rest[0].s
				rest = rest[1:]
			}
		case strings.HasPrefix(f, "-I"):
			replace = f[2:]
		case strings.HasPrefix(f, "--replace="):
			replace = strings.TrimPrefix(f, "--replace=")
		case f == "-i":
			replace = "{}"
		case strings.HasPrefix(f, "--"):
			if !strings.Contains(f, "=") && longTakesArg(f) && len(rest) > 0 {
				rest = rest[1:]
			}
		default:
			for j := 1; j < len(f); j++ {
				if strings.IndexByte("nLPdasE", f[j]) >= 0 {
					if j == len(f)-1 && len(rest) > 0 {
						rest = rest[1:]
					}
					break
				}
			}
		}
	}
	if len(rest) == 0 {
		rest = []field{{s: "echo"}}
	}
	if replace != "" {
		rest = slices.Clone(rest)
		for i := range rest {
			if strings.Contains(rest[i].s, replace) {
				rest[i].dyn = true
			}
		}
	}
	o.dynArgs = true
	a.execChild(rest, pre, st, fr, line, s, append(wr, "xargs"), o)
}

// find records itself and the commands of its -exec/-execdir/-ok
// actions, which get file names ({}) at run time; -execdir runs them in
// the directories of the files.
func (a *analyzer) find(args []field, pre map[string]sv, st *shState, fr *frame, line int, s *syntax.Stmt, wr []string, o execOpts) {
	a.record(args, pre, st, fr, line, wr, o, false)
	for i := 1; i < len(args); i++ {
		act := args[i].s
		if act != "-exec" && act != "-execdir" && act != "-ok" && act != "-okdir" {
			continue
		}
		j := i + 1
		for j < len(args) && args[j].s != ";" && args[j].s != "+" {
			j++
		}
		cmd := slices.Clone(args[i+1 : j])
		i = j
		if len(cmd) == 0 {
			continue
		}
		child := st
		if strings.HasSuffix(act, "dir") {
			child = st.clone()
			child.dir = dirEnt{}
		}
		for k := range cmd {
			cmd[k].dyn = cmd[k].dyn || strings.Contains(cmd[k].s, "{}")
		}
		oo := o
		oo.dynArgs = true
		a.execChild(cmd, pre, child, fr, line, s, append(slices.Clone(wr), "find "+act), oo)
	}
}

// shell follows `sh -c script`, `bash <<EOF`, a known script file, or
// records the shell as opaque.
func (a *analyzer) shell(args []field, lang syntax.LangVariant, pre map[string]sv, st *shState, fr *frame, line int, s *syntax.Stmt, wr []string, o execOpts) {
	name := args[0].s
	cmode := false
	i := 1
	allExport := false
opts:
	for ; i < len(args); i++ {
		f := args[i]
		if f.dyn {
			c := a.record(args, pre, st, fr, line, wr, o, false)
			c.Opaque = true
			return
		}
		switch {
		case f.s == "--" || f.s == "-":
			i++
			break opts
		case strings.HasPrefix(f.s, "--"):
			if f.s == "--rcfile" || f.s == "--init-file" {
				i++
			}
		case (strings.HasPrefix(f.s, "-") || strings.HasPrefix(f.s, "+")) && len(f.s) > 1:
			for _, r := range f.s[1:] {
				switch r {
				case 'c':
					cmode = true
				case 'a':
					allExport = f.s[0] == '-'
				case 'o', 'O':
					i++
					if r == 'o' && i < len(args) && args[i].s == "allexport" {
						allExport = f.s[0] == '-'
					}
				}
			}
		default:
			break opts
		}
	}
	child := st.child()
	for k, v := range pre {
		child.vars[k] = v
	}
	child.allExport = allExport
	via := path.Base(name)
	var script field
	fromDoc := false // unknown parts of a heredoc script are unknownDoc
	cfr := &frame{lang: lang, lineBase: max(line-1, 0), heredoc: fr.heredoc}
	switch {
	case cmode:
		if i >= len(args) {
			a.record(args, pre, st, fr, line, wr, o, false)
			return
		}
		script = args[i]
		child.arg0 = name
		if i+1 < len(args) {
			child.arg0 = args[i+1].s
			a.setParams(args[i+2:], child)
		}
		via += " -c"
	case i < len(args):
		body, ok := a.files[args[i].s]
		if !ok || args[i].dyn {
			c := a.record(args, pre, st, fr, line, wr, o, false)
			c.Opaque = true
			return
		}
		script = field{s: body}
		child.arg0 = args[i].s
		a.setParams(args[i+1:], child)
		cfr.lineBase = 0
	default:
		// The script comes on stdin: follow a here-document or here-string.
		found := false
		if s != nil {
			for _, r := range s.Redirs {
				if (r.Op == syntax.Hdoc || r.Op == syntax.DashHdoc || r.Op == syntax.WordHdoc) && (r.N == nil || r.N.Value == "0") {
					script, found = a.hdocs[r], true
					fromDoc = r.Op != syntax.WordHdoc
					if r.Op == syntax.WordHdoc {
						cfr.lineBase = max(line-1, 0)
					} else {
						// Lines count within the heredoc body.
						cfr.lineBase = 0
						cfr.heredoc, _ = a.literal(r.Word, st, fr)
					}
				}
			}
		}
		if !found {
			c := a.record(args, pre, st, fr, line, wr, o, false)
			c.Opaque = true
			return
		}
	}
	if script.dyn && !fromDoc {
		c := a.record(args, pre, st, fr, line, wr, o, true)
		c.Opaque = true
		return
	}
	if !o.top {
		cfr.wrappers = append(append(slices.Clone(fr.wrappers), wr...), via)
	}
	a.nested(script.s, lang, child, cfr)
}

// record appends the call args describes, as run in st.
func (a *analyzer) record(args []field, pre map[string]sv, st *shState, fr *frame, line int, wr []string, o execOpts, dyn bool) *Call {
	c := Call{
		Name:     args[0].s,
		Dynamic:  dyn || o.dynArgs,
		Dir:      st.dir.dir,
		DirKnown: st.dir.known,
		Line:     line,
		Heredoc:  fr.heredoc,
	}
	if !c.DirKnown {
		c.Dir = ""
	}
	for _, f := range args {
		c.Dynamic = c.Dynamic || f.dyn
	}
	for _, f := range args[1:] {
		c.Args = append(c.Args, f.s)
	}
	c.Writes = slices.Clone(a.writes)
	if n := len(fr.wrappers) + len(wr); n > 0 {
		c.Wrappers = append(append(make([]string, 0, n), fr.wrappers...), wr...)
	}
	vars := st.vars
	if len(pre) > 0 {
		vars = maps.Clone(st.vars)
		maps.Copy(vars, pre)
	}
	for k, v := range vars {
		if !v.script {
			continue
		}
		switch {
		case !v.set || (!v.known && v.exported):
			c.Unset = append(c.Unset, k)
		case !v.known:
			// An unexported unknown variable only made words Dynamic.
		case v.exported:
			if c.Env == nil {
				c.Env = map[string]string{}
			}
			c.Env[k] = v.val
		default:
			if c.Locals == nil {
				c.Locals = map[string]string{}
			}
			c.Locals[k] = v.val
		}
	}
	sort.Strings(c.Unset)
	a.calls = append(a.calls, c)
	return &a.calls[len(a.calls)-1]
}

// envView exposes a shell state to mvdan.cc/sh's expander and notes every
// lookup whose value the analysis does not know.
type envView struct {
	st  *shState
	dyn *bool
	doc bool // expanding a heredoc that may become a script: see unknownDoc
}

// unknownDoc stands for an unknown value in a heredoc body. A script built
// from the body sees it as an unknown variable that it cannot have set
// itself, so the words that use it stay Dynamic.
const unknownDoc = "${_hoist_unknown}"

func (e envView) unknown(name string) expand.Variable {
	*e.dyn = true
	ph := "${" + name + "}"
	if e.doc {
		ph = unknownDoc
	}
	if name == "@" || name == "*" {
		return expand.Variable{Set: true, Kind: expand.Indexed, List: []string{ph}}
	}
	return expand.Variable{Set: true, Kind: expand.String, Str: ph}
}

func (e envView) Get(name string) expand.Variable {
	st := e.st
	switch name {
	case "PWD", "OLDPWD":
		// The shell keeps these in step with cd. expand also asks for PWD
		// on every word (for globbing, which stays off here), so an
		// unknown directory is flagged by dirVars, not here.
		d := st.dir
		if name == "OLDPWD" {
			d = st.old
		}
		if d.known && path.IsAbs(d.dir) {
			return expand.Variable{Set: true, Exported: true, Kind: expand.String, Str: d.dir}
		}
		if e.doc {
			return expand.Variable{Set: true, Kind: expand.String, Str: unknownDoc}
		}
		return expand.Variable{Set: true, Kind: expand.String, Str: "${" + name + "}"}
	case "@", "*":
		if !st.paramsOK {
			return e.unknown(name)
		}
		return expand.Variable{Set: true, Kind: expand.Indexed, List: slices.Clone(st.params)}
	case "#":
		if !st.paramsOK {
			return e.unknown(name)
		}
		return expand.Variable{Set: true, Kind: expand.String, Str: fmt.Sprint(len(st.params))}
	case "0":
		return expand.Variable{Set: true, Kind: expand.String, Str: st.arg0}
	case "?", "$", "!", "-", "PPID", "RANDOM", "SECONDS", "LINENO", "BASHPID", "EPOCHSECONDS", "EPOCHREALTIME", "SRANDOM":
		return e.unknown(name)
	}
	if len(name) == 1 && name[0] >= '1' && name[0] <= '9' {
		if !st.paramsOK {
			return e.unknown(name)
		}
		if i := int(name[0] - '1'); i < len(st.params) {
			return expand.Variable{Set: true, Kind: expand.String, Str: st.params[i]}
		}
		return expand.Variable{}
	}
	v, ok := st.vars[name]
	switch {
	case !ok && (st.envKnown || name == "IFS"):
		// IFS is never set in an image's config; the default applies.
		return expand.Variable{}
	case !ok || !v.known:
		return e.unknown(name)
	case !v.set:
		return expand.Variable{}
	}
	return expand.Variable{Set: true, Exported: v.exported, Kind: expand.String, Str: v.val}
}

func (e envView) Each(fn func(string, expand.Variable) bool) {
	*e.dyn = true // ${!prefix*} and friends depend on the whole environment
	for k, v := range e.st.vars {
		if v.known && v.set && !fn(k, expand.Variable{Set: true, Exported: v.exported, Kind: expand.String, Str: v.val}) {
			return
		}
	}
}

// dirVars reports whether w uses $PWD or $OLDPWD while the analysis does
// not know that directory as an absolute path.
func dirVars(w *syntax.Word, st *shState) bool {
	found := false
	syntax.Walk(w, func(n syntax.Node) bool {
		if pe, ok := n.(*syntax.ParamExp); ok && pe.Param != nil {
			d := dirEnt{known: true, dir: "/"}
			switch pe.Param.Value {
			case "PWD":
				d = st.dir
			case "OLDPWD":
				d = st.old
			}
			if !d.known || !path.IsAbs(d.dir) {
				found = true
			}
		}
		return !found
	})
	return found
}

func (a *analyzer) config(st *shState, fr *frame, dyn *bool, doc bool) *expand.Config {
	return &expand.Config{
		Env: envView{st: st, dyn: dyn, doc: doc},
		CmdSubst: func(w io.Writer, cs *syntax.CmdSubst) error {
			*dyn = true
			a.stmts(cs.Stmts, st.clone(), fr)
			ph := "$(...)"
			if doc {
				ph = unknownDoc
			}
			_, err := io.WriteString(w, ph)
			return err
		},
		ProcSubst: func(ps *syntax.ProcSubst) (string, error) {
			*dyn = true
			a.stmts(ps.Stmts, st.clone(), fr)
			return "/dev/fd/63", nil
		},
	}
}

// fields expands a command word into fields, as the shell would.
func (a *analyzer) fields(w *syntax.Word, st *shState, fr *frame) []field {
	dyn := dirVars(w, st)
	fs, err := expand.Fields(a.config(st, fr, &dyn, false), w)
	if err != nil {
		return []field{{s: printWord(w), dyn: true}}
	}
	out := make([]field, len(fs))
	for i, s := range fs {
		out[i] = field{s: s, dyn: dyn}
	}
	return out
}

// literal expands a word without field splitting (assignments, cd targets
// of redirections, case words).
func (a *analyzer) literal(w *syntax.Word, st *shState, fr *frame) (string, bool) {
	if w == nil {
		return "", false
	}
	dyn := dirVars(w, st)
	s, err := expand.Literal(a.config(st, fr, &dyn, false), w)
	if err != nil {
		return printWord(w), true
	}
	return s, dyn
}

// document expands a heredoc body.
func (a *analyzer) document(w *syntax.Word, st *shState, fr *frame) (string, bool) {
	dyn := dirVars(w, st)
	s, err := expand.Document(a.config(st, fr, &dyn, true), w)
	if err != nil {
		return printWord(w), true
	}
	return s, dyn
}

func printWord(w *syntax.Word) string {
	var b strings.Builder
	if err := syntax.NewPrinter().Print(&b, w); err != nil {
		return "?"
	}
	return b.String()
}
