// Package shellscan finds, without running anything, the simple commands
// a Dockerfile RUN step runs: it follows the shell script (parsed by
// mvdan.cc/sh) through variables, cd, wrappers (env, sudo, xargs,
// find -exec, sh -c, eval) and heredocs, and marks what it cannot see into.
package shellscan

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
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
	return RunCallsUnset(run, shell, env, nil)
}

// RunCallsUnset is RunCalls where the variables named in unset are known
// to be absent from the environment: they expand to nothing, as the
// shell expands them, instead of making words Dynamic.
func RunCallsUnset(run *instructions.RunCommand, shell []string, env map[string]string, unset []string) ([]Call, error) {
	if run == nil {
		return nil, errors.New("nil RUN command")
	}
	if len(shell) == 0 {
		shell = []string{"/bin/sh", "-c"}
	}
	a := &analyzer{files: map[string]string{}}
	st := newState(env)
	for _, n := range unset {
		if _, ok := env[n]; !ok {
			st.vars[n] = sv{known: true, exported: true} // unset, and so in every child
		}
	}
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
