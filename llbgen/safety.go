package llbgen

import (
	"path"
	"slices"
	"strings"

	"github.com/hoistbuild/hoist/llbgen/shellscan"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// The cache-safety engine. Every ecosystem asks it before mounting a cache
// on a step: it looks at what each step of the build does to the cache's
// path (removes it, writes into it, reads it, or runs something hoist
// cannot see into) and decides from that alone, never from which words a
// step's text contains.

// cacheSpec is one cache an ecosystem would mount on a step.
type cacheSpec struct {
	what   string // "Go module cache"
	target string // absolute path
	// content is set for a cache whose files stock leaves in the layer for
	// later steps and the image to read (the Go module cache, a yarn
	// Plug'n'Play cache), as opposed to a pure speed-up.
	content bool
}

// verdict is the engine's answer: ok, or the rule that refused the mount,
// why, and the line of the step that decided it. why is "" when there is
// nothing to report (the user mounts that very path).
type verdict struct {
	ok   bool
	rule Rule
	why  string
	line int
}

func refuse(rule Rule, line int, format string, args ...any) verdict {
	return verdict{rule: rule, why: sprintf(format, args...), line: line}
}

// stepFacts is what a RUN does to the filesystem, as far as its calls show.
type stepFacts struct {
	removes []pathRef // rm -r, rmdir, mv sources: the path and what is below it goes
	writes  []pathRef // files and directories written (sed -i, cp/mv dest, redirections, ...)
	reads   []pathRef // paths non-tool commands read (cp -r /go/pkg/mod/x /out)
	cwds    []pathRef // directories changing commands run in (cd $GOMODCACHE/x && patch -p1)
	// readsUnknown: a reading command has an argument hoist cannot
	// resolve, taken from `go env` (cp -r $(go env GOMODCACHE)/x /out).
	readsUnknown bool
	opaque       []shellscan.Call // calls that may run anything
}

// pathRef is a path a call names: absolute (abs) or, when the call's
// directory is unknown, relative (rel). glob is set when the path had a
// wildcard: abs is then the directory the pattern matches inside.
type pathRef struct {
	abs, rel string
	glob     bool
	line     int
	via      string // the context script that names it, if any
}

// where says which step names r: "line 4", "scripts/x.sh (line 4)".
func (r pathRef) where() string {
	if r.via != "" {
		return r.via + " (line " + itoa(r.line) + ")"
	}
	return "line " + itoa(r.line)
}

// covers reports whether removing r removes p (r is p or a parent, or a
// pattern matching inside a parent of p).
func (r pathRef) covers(p string) bool {
	if r.abs != "" {
		return within(p, r.abs)
	}
	return r.rel != "" && (p == r.rel || strings.HasSuffix(p, "/"+r.rel))
}

// inside reports whether r is p or below it.
func (r pathRef) inside(p string) bool {
	if r.abs != "" {
		return within(r.abs, p)
	}
	return false
}

// facts classifies the calls of rs, once.
func (a *analysis) facts(rs *runStep) *stepFacts {
	if f, ok := a.stepFacts[rs]; ok {
		return f
	}
	f := &stepFacts{}
	if a.stepFacts == nil {
		a.stepFacts = map[*runStep]*stepFacts{}
	}
	a.stepFacts[rs] = f
	queries := slices.ContainsFunc(rs.calls, func(c shellscan.Call) bool {
		return slices.ContainsFunc(ecosystems, func(e ecosystem) bool { return e.queriesPaths(c) })
	})
	calls := rs.calls
	via := map[int]string{} // index in calls -> script it comes from
	for _, sc := range a.scripts[rs] {
		// The script's own calls stand in for it; the script itself counts
		// as opaque only when it runs a tool or something opaque.
		for i, c := range calls {
			if sameCall(c, sc.call) {
				calls = append(append(slices.Clone(calls[:i]), sc.calls...), calls[i+1:]...)
				shifted := map[int]string{}
				for j, v := range via {
					if j > i {
						j += len(sc.calls) - 1
					}
					shifted[j] = v
				}
				for j := range sc.calls {
					shifted[i+j] = callWords(sc.call)
				}
				via = shifted
				if slices.ContainsFunc(sc.calls, func(c shellscan.Call) bool { return isOpaque(c) || isToolCall(c) }) {
					f.opaque = append(f.opaque, sc.call)
				}
				break
			}
		}
	}
	for i, c := range calls {
		ref := func(p string) pathRef {
			r := resolveRef(rs, c, p)
			r.via = via[i]
			return r
		}
		for _, w := range c.Writes {
			f.writes = append(f.writes, ref(w))
		}
		if isOpaque(c) {
			f.opaque = append(f.opaque, c)
			continue
		}
		if isToolCall(c) {
			continue
		}
		base := path.Base(c.Name)
		ops := operands(c.Args)
		if !readOnly[base] && c.DirKnown {
			f.cwds = append(f.cwds, ref("."))
		}
		switch base {
		case "rm", "rmdir", "unlink", "shred":
			recursive := base == "rmdir" || slices.ContainsFunc(c.Args, func(a string) bool {
				return a == "--recursive" || strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.ContainsAny(a, "rR")
			})
			for _, o := range ops {
				if recursive || strings.ContainsAny(o, "*?[") {
					f.removes = append(f.removes, ref(o))
				} else {
					f.writes = append(f.writes, ref(o))
				}
			}
		case "mv":
			if len(ops) > 1 {
				for _, o := range ops[:len(ops)-1] {
					f.removes = append(f.removes, ref(o))
				}
				f.writes = append(f.writes, ref(ops[len(ops)-1]))
			}
		case "cp", "install", "ln", "rsync", "scp":
			if dir, ok := flagValue(c.Args, "-t", "--target-directory"); ok {
				f.writes = append(f.writes, ref(dir))
				ops = append(ops, dir)
			} else if len(ops) > 1 {
				f.writes = append(f.writes, ref(ops[len(ops)-1]))
			}
			for _, o := range ops {
				f.reads = append(f.reads, ref(o))
			}
		case "sed", "perl":
			if slices.ContainsFunc(c.Args, func(a string) bool {
				return a == "--in-place" || strings.HasPrefix(a, "--in-place=") ||
					strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.Contains(a, "i")
			}) {
				for _, o := range ops {
					f.writes = append(f.writes, ref(o))
				}
			}
		case "tee", "touch", "mkdir", "chmod", "chown", "chgrp", "truncate", "patch", "setfacl", "setcap", "ed", "dd":
			for _, o := range ops {
				if base == "dd" {
					o = strings.TrimPrefix(o, "of=")
				}
				f.writes = append(f.writes, ref(o))
			}
			if dir, ok := flagValue(c.Args, "-d", "--directory"); ok && base == "patch" {
				f.cwds = append(f.cwds, ref(dir))
			}
		case "find":
			if slices.Contains(c.Args, "-delete") {
				for _, o := range c.Args {
					if strings.HasPrefix(o, "-") || o == "!" || o == "(" {
						break
					}
					f.removes = append(f.removes, ref(o))
				}
			}
		case "tar", "unzip", "bsdtar":
			if dir, ok := flagValue(c.Args, "-C", "--directory", "-d"); ok {
				f.writes = append(f.writes, ref(dir))
			}
			for _, o := range ops {
				f.reads = append(f.reads, ref(o))
			}
		default:
			for _, o := range ops {
				if strings.HasPrefix(o, "/") {
					f.reads = append(f.reads, ref(o))
				}
			}
		}
		if c.Dynamic && queries {
			f.readsUnknown = true
		}
	}
	return f
}

// resolveRef makes p, as call c names it, absolute where its directory is known.
func resolveRef(rs *runStep, c shellscan.Call, p string) pathRef {
	r := pathRef{line: rs.line}
	// HOME is not in the step's env unless the Dockerfile sets it; the
	// shell analysis leaves it as ${HOME} (also for ~), runc sets the
	// user's.
	if rest, ok := strings.CutPrefix(p, "${HOME}"); ok && (rest == "" || rest[0] == '/') {
		if h, ok := home(rs.env, rs.acc); ok {
			p = h + rest
		}
	}
	glob := strings.IndexAny(p, "*?[")
	if glob >= 0 {
		r.glob = true
		p = path.Dir(p[:glob+1])
	}
	switch {
	case path.IsAbs(p):
		r.abs = path.Clean(p)
	case c.DirKnown:
		d := c.Dir
		if !path.IsAbs(d) {
			d = path.Join(rs.workdir, d)
		}
		r.abs = path.Join(d, p)
	default:
		r.rel = path.Clean(p)
		if r.rel == "." || strings.HasPrefix(r.rel, "../") || r.rel == ".." {
			r.rel = ""
		}
	}
	return r
}

// operands are a command's arguments that are not options (after --, all).
func operands(args []string) []string {
	var ops []string
	for i, a := range args {
		if a == "--" {
			return append(ops, args[i+1:]...)
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			continue
		}
		ops = append(ops, a)
	}
	return ops
}

// flagValue returns the value of the first of names in args.
func flagValue(args []string, names ...string) (string, bool) {
	for i, a := range args {
		for _, n := range names {
			if a == n && i+1 < len(args) {
				return args[i+1], true
			}
			if v, ok := strings.CutPrefix(a, n+"="); ok && strings.HasPrefix(n, "--") {
				return v, true
			}
			if v, ok := strings.CutPrefix(a, n); ok && v != "" && !strings.HasPrefix(n, "--") {
				return v, true
			}
		}
	}
	return "", false
}

// isToolCall reports calls an ecosystem understands.
func isToolCall(c shellscan.Call) bool {
	for _, e := range ecosystems {
		if known, _ := e.knows(c); known {
			return true
		}
	}
	return false
}

// isOpaque reports a call that may run anything, the tools hoist has rules
// for included: a script, make and its kind, a package-manager script, a
// program hoist does not know.
func isOpaque(c shellscan.Call) bool {
	if c.Opaque {
		return true
	}
	for _, e := range ecosystems {
		if known, opaque := e.knows(c); known {
			return opaque
		}
	}
	return !knownCommands[path.Base(c.Name)]
}

// knownCommands are programs that run no tool hoist has rules for and
// cannot be told to (unlike make, a script or an interpreter).
var knownCommands = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`
		true false test [ echo printf cat ls cp mv rm rmdir mkdir ln chmod chown chgrp touch stat file
		readlink realpath basename dirname install rsync dd truncate du df tee sed awk gawk mawk grep egrep
		fgrep cut tr sort uniq head tail wc jq yq envsubst base64 sha256sum sha512sum sha1sum md5sum
		tar gzip gunzip zcat unzip zip xz unxz bzip2 zstd curl wget git patch diff cmp sleep date id whoami
		which type hash useradd adduser addgroup groupadd usermod groupmod passwd chpasswd
		apt-get apt apt-cache dpkg apk yum dnf microdnf zypper pacman rpm update-ca-certificates
		update-alternatives ldconfig locale-gen upx strip setcap ssh-keyscan ssh-keygen gpg openssl
		mknod mkfifo uname hostname nproc getent printenv pwd unlink shred ed setfacl bsdtar find xargs
		xx-apk xx-apt-get xx-info xx-verify
		`) {
		knownCommands[n] = true
	}
}

// readOnly are commands that do not write in their directory.
var readOnly = map[string]bool{
	"true": true, "false": true, "test": true, "[": true, "echo": true, "printf": true, "cat": true, "ls": true,
	"stat": true, "file": true, "readlink": true, "realpath": true, "du": true, "df": true, "grep": true,
	"sort": true, "head": true, "tail": true, "wc": true, "sha256sum": true, "md5sum": true, "id": true,
	"whoami": true, "which": true, "pwd": true, "sleep": true, "date": true, "uname": true, "env": true,
	"printenv": true, "diff": true, "cmp": true,
}

// Decisions for one step.

// stepVerdict says whether c may be mounted on rs as far as rs itself goes:
// not under a mount the user declared, not removed or written by rs.
func (a *analysis) stepVerdict(rs *runStep, c cacheSpec) verdict {
	for t := range rs.existing {
		if within(c.target, t) {
			if t == c.target {
				// The user's own mount: nothing to add, nothing to report.
				return verdict{rule: RuleUserMount, line: rs.line}
			}
			return refuse(RuleUserMount, rs.line, "the RUN mounts %s, which holds %s", t, c.target)
		}
	}
	f := a.facts(rs)
	for _, r := range f.removes {
		if r.covers(c.target) {
			return refuse(RuleCacheDestroyer, rs.line, "%s removes %s, which a mount would make fail (Device or resource busy) or empty for every build", r.where(), refName(r, c.target))
		}
	}
	for _, r := range append(slices.Clone(f.writes), f.cwds...) {
		if r.inside(c.target) {
			return refuse(RuleCacheWriter, rs.line, "%s changes files in %s, which a shared mount would pass on to every build", r.where(), c.target)
		}
	}
	return verdict{ok: true}
}

func refName(r pathRef, target string) string {
	n := r.abs
	if n == "" {
		n = r.rel
	}
	if r.glob {
		n = strings.TrimSuffix(n, "/") + "/*"
	}
	if n == target {
		return n
	}
	return n + " (holding " + target + ")"
}

// contentVerdict says whether a content cache can leave the layer of rs's
// stage: nothing exported, copied or mounted from the stage (or one built
// on it) covers it, and no step of the stage's FROM family reads it from
// the layer, writes into it, or removes it while using it. users are the
// steps that will get the same mount (the ecosystem's own, opaque ones it
// took); opaque steps it did not take may read the layer.
func (a *analysis) contentVerdict(rs *runStep, c cacheSpec, users func(*runStep) bool) verdict {
	if why := a.exportedAt(rs.stage, c.target); why != "" {
		return refuse(RuleKeptInLayer, rs.line, "%s", why)
	}
	return a.familyVerdict(rs, c, users)
}

// familyVerdict is contentVerdict's check of the steps of rs's FROM
// family: none reads the content from the layer, writes into it, or
// removes it while using it.
func (a *analysis) familyVerdict(rs *runStep, c cacheSpec, users func(*runStep) bool) verdict {
	for _, o := range a.family(rs.stage) {
		f := a.facts(o)
		for _, r := range append(slices.Clone(f.writes), f.cwds...) {
			if r.inside(c.target) {
				return refuse(RuleCacheWriter, o.line, "%s changes files in it, which a shared mount would pass on to every build", r.where())
			}
		}
		if users(o) {
			for _, r := range f.removes {
				if r.covers(c.target) {
					return refuse(RuleCacheDestroyer, o.line, "%s uses it and then removes %s", r.where(), refName(r, c.target))
				}
			}
			if why := offlineStep(o); why != "" && a.fedBefore(o) {
				return refuse(RuleKeptInLayer, o.line, "line %d %s", o.line, offlineWhy(why))
			}
			continue
		}
		if o == rs {
			continue
		}
		for _, r := range f.reads {
			if r.inside(c.target) || r.abs != "" && within(c.target, r.abs) && r.abs != "/" {
				return refuse(RuleKeptInLayer, o.line, "%s reads it", r.where())
			}
		}
		if f.readsUnknown {
			return refuse(RuleKeptInLayer, o.line, "line %d reads a path from go env", o.line)
		}
		if len(f.opaque) > 0 && a.comesAfter(o, rs) {
			return refuse(RuleOpaqueStep, o.line, "line %d runs %s, which may read it, in a stage hoist does not know to have the tool", o.line, callWords(f.opaque[0]))
		}
	}
	return verdict{ok: true}
}

// exportedAt says why the content at p in stage s must stay in its layer:
// the stage or one built from it is the exported target, or is copied or
// mounted from over p. "" means p can be a cache mount.
func (a *analysis) exportedAt(s *stage, p string) string {
	if isTarget(a, s) {
		return "stage " + stageName(s) + " is the exported target"
	}
	for _, c := range s.consumers {
		if overlaps(c, p) {
			return "stage " + stageName(s) + " is copied from at " + c
		}
	}
	for _, c := range s.children {
		if why := a.exportedAt(c, p); why != "" {
			return why
		}
	}
	return ""
}

// offlineStep says how rs cannot fetch what a cache lacks, "" when it can:
// RUN --network=none, a package manager told to stay offline (--offline,
// npm_config_offline) or GOPROXY=off.
func offlineStep(rs *runStep) string {
	if instructions.GetNetwork(rs.cmd) == instructions.NetworkNone {
		return "runs with --network=none"
	}
	for _, e := range ecosystems {
		if how := e.offline(rs.env, rs.calls); how != "" {
			return how
		}
	}
	return ""
}

// offlineWhy is the note's reason for keeping a cache an offline step
// reads in the layer.
func offlineWhy(how string) string {
	return how + " and reads what an earlier step fetched: BuildKit may empty a cache mount (its garbage collection drops unused ones first) while that step's layer stays cached"
}

// fedBefore reports whether a RUN runs before o in o's stage or a stage
// it is built on: a step that may have filled a cache o reads.
func (a *analysis) fedBefore(o *runStep) bool {
	for _, rs := range a.steps {
		if rs == o {
			return false
		}
		if isAncestorOrSelf(rs.stage, o.stage) {
			return true
		}
	}
	return false
}

// family are the steps of every stage in s's FROM tree, in order.
func (a *analysis) family(s *stage) []*runStep {
	root := s.root()
	var out []*runStep
	for _, rs := range a.steps {
		if rs.stage.root() == root {
			out = append(out, rs)
		}
	}
	return out
}

// comesAfter reports whether o can see what rs left in its layer: o is a
// later step of rs's stage or of a stage built on it.
func (a *analysis) comesAfter(o, rs *runStep) bool {
	if !isAncestorOrSelf(rs.stage, o.stage) {
		return false
	}
	return slices.Index(a.steps, o) > slices.Index(a.steps, rs)
}

// callWords names a call's program as a note does: a script by the path
// it is run with, anything else by its name.
func callWords(c shellscan.Call) string {
	if p := scriptPath(c); p != "" {
		return p
	}
	if strings.Contains(c.Name, "/") && !path.IsAbs(c.Name) {
		return c.Name
	}
	return path.Base(c.Name)
}
