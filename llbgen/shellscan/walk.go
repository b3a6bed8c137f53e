package shellscan

// The walk over the syntax tree: statements, compound commands,
// assignments.

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

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
	if st.dead {
		return nil // after exit, or behind a test known to fail
	}
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
	if res, ok := staticTest(args, st); ok && pre == nil {
		// A test of known words runs nothing: only the path it takes is
		// followed, so `if [ "$CI" != true ]; then npm ci; fi` with CI
		// known runs npm ci or does not.
		if res {
			return neverFails()
		}
		fail := st.clone()
		st.dead = true
		return fail
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

// staticTest evaluates a `[`/`test` call whose words are all known and
// whose operators compare strings or integers; ok is false for anything
// else (file tests, unknown words, a function of that name).
func staticTest(args []field, st *shState) (res, ok bool) {
	if len(args) == 0 || slices.ContainsFunc(args, func(f field) bool { return f.dyn }) {
		return false, false
	}
	name := args[0].s
	if _, fn := st.funcs[name]; fn {
		return false, false
	}
	var ops []string
	for _, f := range args[1:] {
		ops = append(ops, f.s)
	}
	switch name {
	case "[":
		if len(ops) == 0 || ops[len(ops)-1] != "]" {
			return false, false
		}
		ops = ops[:len(ops)-1]
	case "test":
	default:
		return false, false
	}
	return testExpr(ops)
}

// testExpr is POSIX test's rule by argument count, for the string and
// integer operators.
func testExpr(ops []string) (res, ok bool) {
	switch len(ops) {
	case 0:
		return false, true
	case 1:
		return ops[0] != "", true
	case 2:
		switch ops[0] {
		case "!":
			return ops[1] == "", true
		case "-n":
			return ops[1] != "", true
		case "-z":
			return ops[1] == "", true
		}
	case 3:
		x, op, y := ops[0], ops[1], ops[2]
		switch op {
		case "=": // not ==: dash's test rejects it
			return x == y, true
		case "!=":
			return x != y, true
		case "-eq", "-ne", "-lt", "-le", "-gt", "-ge":
			i, err1 := strconv.Atoi(x)
			j, err2 := strconv.Atoi(y)
			if err1 != nil || err2 != nil {
				return false, false
			}
			switch op {
			case "-eq":
				return i == j, true
			case "-ne":
				return i != j, true
			case "-lt":
				return i < j, true
			case "-le":
				return i <= j, true
			case "-gt":
				return i > j, true
			}
			return i >= j, true
		}
		if x == "!" {
			r, ok := testExpr(ops[1:])
			return !r, ok
		}
	case 4:
		if ops[0] == "!" {
			r, ok := testExpr(ops[1:])
			return !r, ok
		}
	}
	return false, false
}
