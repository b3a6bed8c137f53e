package llbgen

import (
	"context"
	"path"
	"strings"

	"github.com/hoistbuild/hoist/llbgen/shellscan"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// maxScript bounds the size of a build-context script hoist reads.
const maxScript = 256 << 10

// scriptCall is a call of a RUN that runs a script file from the build
// context, with the calls the same shell analysis finds in it.
type scriptCall struct {
	call  shellscan.Call
	calls []shellscan.Call
	// make: the call stays opaque, its recipes' calls only add to it
	make bool
	via  string // how notes name what runs calls
}

// readScripts reads, for every RUN, the scripts it runs that a COPY of the
// stage brought from the build context (./build.sh, bash scripts/x.sh),
// so the safety engine sees what they do instead of treating them as
// opaque. A script hoist cannot find or parse stays opaque.
func (a *Analysis) readScripts(ctx context.Context) error {
	if a.Opt.Context == nil {
		return nil
	}
	for _, rs := range a.Steps {
		for _, c := range rs.Calls {
			if b := path.Base(c.Name); b == "make" || b == "gmake" {
				a.readMakefile(ctx, rs, c)
				continue
			}
			p := scriptPath(c)
			if p == "" {
				continue
			}
			ref := resolveRef(rs, c, p)
			if ref.Abs == "" || ref.glob {
				continue
			}
			var dt []byte
			for _, src := range a.contextSources(rs, ref.Abs) {
				// An error (a directory, say) leaves the script opaque.
				b, ok, err := a.ReadContext(ctx, src)
				if err == nil && ok {
					dt = b
					break
				}
			}
			if dt == nil || len(dt) > maxScript {
				continue
			}
			env := CloneMap(rs.Env)
			for k, v := range c.Env {
				env[k] = v
			}
			run := &instructions.RunCommand{ShellDependantCmdLine: instructions.ShellDependantCmdLine{CmdLine: []string{string(dt)}, PrependShell: true}}
			calls, err := shellscan.RunCalls(run, []string{"/bin/sh", "-c"}, env)
			if err != nil {
				continue
			}
			a.addScript(rs, scriptCall{call: c, calls: inDir(calls, c, c.Dir), via: CallWords(c)})
		}
	}
	return nil
}

func (a *Analysis) addScript(rs *RunStep, sc scriptCall) {
	if a.scripts == nil {
		a.scripts = map[*RunStep][]scriptCall{}
	}
	a.scripts[rs] = append(a.scripts[rs], sc)
}

// inDir makes the calls of a script that c runs in dir relative to c's.
func inDir(calls []shellscan.Call, c shellscan.Call, dir string) []shellscan.Call {
	for i := range calls {
		sc := &calls[i]
		switch {
		case !c.DirKnown:
			sc.Dir, sc.DirKnown = "", false
		case sc.DirKnown && !path.IsAbs(sc.Dir):
			sc.Dir = path.Join(dir, sc.Dir)
		}
	}
	return calls
}

// readMakefile reads the makefile a make call c runs, from the build
// context, and the recipes its goals reach.
func (a *Analysis) readMakefile(ctx context.Context, rs *RunStep, c shellscan.Call) {
	cdir, file, vars, goals := makeArgs(c.Args)
	dir := path.Join(c.Dir, cdir)
	if path.IsAbs(cdir) {
		dir = cdir
	}
	read := func(name string) ([]byte, bool) {
		ref := resolveRef(rs, shellscan.Call{Dir: dir, DirKnown: c.DirKnown}, name)
		if ref.Abs == "" || ref.glob {
			return nil, false
		}
		for _, src := range a.contextSources(rs, ref.Abs) {
			b, ok, err := a.ReadContext(ctx, src)
			if err == nil && ok && len(b) <= maxScript {
				return b, true
			}
		}
		return nil, false
	}
	names := []string{"GNUmakefile", "makefile", "Makefile"}
	if file != "" {
		names = []string{file}
	}
	var dt []byte
	var name string
	for _, n := range names {
		if b, ok := read(n); ok {
			dt, name = b, n
			break
		}
	}
	if dt == nil {
		return
	}
	env := CloneMap(rs.Env)
	for k, v := range c.Env {
		env[k] = v
	}
	curdir := resolveRef(rs, shellscan.Call{Dir: dir, DirKnown: c.DirKnown}, ".").Abs
	if _, ok := env["HOME"]; !ok {
		// make takes HOME from the environment runc gives the user.
		if h, ok := Home(env, rs.Acc); ok {
			env["HOME"] = h
		}
	}
	m := &makefile{vars: map[string]string{}, cmdline: vars, env: env, dir: curdir, read: read}
	m.parse(string(dt), 0)
	scripts := m.scripts(goals)
	if m.over() {
		return // too much to follow: make stays unseen, as without its Makefile
	}
	var calls []shellscan.Call
	for _, script := range scripts {
		run := &instructions.RunCommand{ShellDependantCmdLine: instructions.ShellDependantCmdLine{CmdLine: []string{script}, PrependShell: true}}
		cs, err := shellscan.RunCalls(run, []string{"/bin/sh", "-c"}, env)
		if err != nil {
			// A recipe line make passes to the shell as hoist cannot
			// parse it: what it does stays unseen, as make's own.
			continue
		}
		calls = append(calls, inDir(cs, c, dir)...)
	}
	if len(calls) > 0 {
		a.addScript(rs, scriptCall{call: c, calls: calls, make: true, via: path.Join(dir, name) + " run by " + RunWords(c)})
	}
}

// scriptPath is the script file a call runs: ./build.sh, scripts/x.sh,
// /src/build.sh, or the file operand of sh/bash. "" for anything else.
func scriptPath(c shellscan.Call) string {
	if shellscan.IsShell(path.Base(c.Name)) {
		if !c.Opaque {
			return ""
		}
		for _, a := range c.Args {
			if strings.HasPrefix(a, "-") {
				if a == "-c" || a == "-s" {
					return ""
				}
				continue
			}
			return a
		}
		return ""
	}
	if strings.Contains(c.Name, "/") && !strings.HasPrefix(c.Name, "/usr/") && !strings.HasPrefix(c.Name, "/bin/") && !strings.HasPrefix(c.Name, "/sbin/") {
		return c.Name
	}
	return ""
}

// contextSources are the build-context files the COPYs and ADDs before
// rs may have put at path p of its stage, latest COPY first: a directory
// source lands its content under dest, a file lands in dest/ or as dest.
func (a *Analysis) contextSources(rs *RunStep, p string) []string {
	var out []string
	for s, stop := rs.Stage, instructions.Command(rs.Cmd); s != nil; s, stop = s.Parent, nil {
		idx := s.CmdIndex(stop)
		if idx < 0 {
			idx = len(s.Cmds)
		}
		for i := idx - 1; i >= 0; i-- {
			ci := CopyInfoOf(s.Cmds[i])
			if len(ci.SourcePaths) == 0 || ci.From != "" || ci.Remote || ci.Parents || len(ci.SourceContents) > 0 {
				continue
			}
			wd, ok := a.WorkdirAt(s, i)
			if !ok {
				return out
			}
			dest, err := a.Expand(s, ci.DestPath)
			if err != nil {
				return out
			}
			if !path.IsAbs(dest) {
				dest = path.Join(wd, dest)
			}
			dest = path.Clean(dest)
			for _, sp := range ci.SourcePaths {
				src, err := a.Expand(s, sp)
				if err != nil || strings.ContainsAny(src, "*?[") {
					continue
				}
				src = strings.TrimPrefix(path.Clean("/"+src), "/")
				if src == "" {
					src = "."
				}
				if Within(p, dest) && p != dest {
					out = append(out, path.Join(src, strings.TrimPrefix(strings.TrimPrefix(p, dest), "/")))
				}
				if path.Join(dest, path.Base(src)) == p || dest == p {
					out = append(out, src)
				}
			}
		}
	}
	return out
}
