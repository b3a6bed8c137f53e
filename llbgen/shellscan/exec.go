package shellscan

// Running one expanded command line: builtins, user switches, cd, set,
// eval, shell functions.

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

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
