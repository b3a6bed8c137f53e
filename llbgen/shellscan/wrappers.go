package shellscan

// Commands that run other commands: env, xargs, find -exec, shells.

import (
	"path"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

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
