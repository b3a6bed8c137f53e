package shellscan

// Recording calls and expanding words with mvdan.cc/sh's expander.

import (
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

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
