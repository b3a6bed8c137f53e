package shellscan

// State of the analysis: expanded words, variables, one shell process's
// view, and the analyzer itself.

import (
	"maps"
	"slices"

	"mvdan.cc/sh/v3/syntax"
)

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
