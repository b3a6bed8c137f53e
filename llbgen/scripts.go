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
			for i := range calls {
				sc := &calls[i]
				switch {
				case !c.DirKnown:
					sc.Dir, sc.DirKnown = "", false
				case sc.DirKnown && !path.IsAbs(sc.Dir):
					sc.Dir = path.Join(c.Dir, sc.Dir)
				}
			}
			if a.scripts == nil {
				a.scripts = map[*RunStep][]scriptCall{}
			}
			a.scripts[rs] = append(a.scripts[rs], scriptCall{call: c, calls: calls})
		}
	}
	return nil
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
