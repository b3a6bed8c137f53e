package llbgen

import (
	"path"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"github.com/hoistbuild/hoist/llbgen/shellscan"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// The cache-safety engine. Every ecosystem asks it before mounting a cache
// on a step: it looks at what each step of the build does to the cache's
// path (removes it, writes into it, reads it, or runs something hoist
// cannot see into) and decides from that alone, never from which words a
// step's text contains.

// CacheSpec is one cache an ecosystem would mount on a step.
type CacheSpec struct {
	What   string // "Go module cache"
	Target string // absolute path
	// Content is set for a cache whose files stock leaves in the layer for
	// later steps and the image to read (the Go module cache, a yarn
	// Plug'n'Play cache), as opposed to a pure speed-up.
	Content bool
	// InLayer asks about content that stays in the layer, with no mount (a
	// download hoisted into the layer): a step that could not fill an
	// emptied mount then reads it from the layer, as in stock.
	InLayer bool
}

// Verdict is the engine's answer: ok, or the rule that refused the mount,
// why, and the line of the step that decided it. why is "" when there is
// nothing to report (the user mounts that very path).
type Verdict struct {
	Ok   bool
	Rule Rule
	Why  string
	line int
}

func refuse(rule Rule, line int, format string, args ...any) Verdict {
	return Verdict{Rule: rule, Why: sprintf(format, args...), line: line}
}

// StepFacts is what a RUN does to the filesystem, as far as its calls show.
type StepFacts struct {
	Removes []PathRef // rm -r, rmdir, mv sources: the path and what is below it goes
	Writes  []PathRef // files and directories written (sed -i, cp/mv dest, redirections, ...)
	// WritesTree are trees changed whole (chown -R, chmod -R): a cache
	// below one is written too.
	WritesTree []PathRef
	// ScriptCalls are the calls of the build-context scripts the RUN runs
	// and of the recipes its make runs.
	ScriptCalls []ScriptCall
	reads       []PathRef // paths non-tool commands read (cp -r /go/pkg/mod/x /out)
	cwds        []PathRef // directories changing commands run in (cd $GOMODCACHE/x && patch -p1)
	// readsUnknown: a reading command has an argument hoist cannot
	// resolve, taken from `go env` (cp -r $(go env GOMODCACHE)/x /out).
	readsUnknown bool
	Opaque       []shellscan.Call // calls that may run anything
}

// ScriptCall is a call of a script or make recipe, and the RUN's call
// that runs it (./build.sh, make build).
type ScriptCall struct {
	shellscan.Call
	Via string
}

// PathRef is a path a call names: absolute (abs) or, when the call's
// directory is unknown, relative (rel). glob is set when the path had a
// wildcard: abs is then the directory the pattern matches inside.
type PathRef struct {
	Abs, rel string
	glob     bool
	// unknown: part of the path could not be expanded ($(go env GOCACHE),
	// an unset variable); abs is the directory before that part, or /.
	unknown bool
	word    string // the path as the call has it, when unknown
	Line    int
	Via     string // the RUN's call of the script or make naming it, if any
}

// where says which step names r: "line 4", "scripts/x.sh (line 4)".
func (r PathRef) where() string {
	if r.Via != "" {
		return r.Via + " (line " + itoa(r.Line) + ")"
	}
	return "line " + itoa(r.Line)
}

// covers reports whether removing r removes p (r is p or a parent, or a
// pattern matching inside a parent of p).
func (r PathRef) covers(p string) bool {
	if r.Abs != "" {
		return Within(p, r.Abs)
	}
	return r.rel != "" && (p == r.rel || strings.HasSuffix(p, "/"+r.rel))
}

// inside reports whether r is p or below it; a path hoist could not
// expand may be, wherever it lies above or below p.
func (r PathRef) inside(p string) bool {
	if r.Abs != "" {
		return Within(r.Abs, p) || r.unknown && Within(p, r.Abs)
	}
	return false
}

// Facts classifies the calls of rs, once.
func (a *Analysis) Facts(rs *RunStep) *StepFacts {
	if f, ok := a.stepFacts[rs]; ok {
		return f
	}
	f := &StepFacts{}
	if a.stepFacts == nil {
		a.stepFacts = map[*RunStep]*StepFacts{}
	}
	a.stepFacts[rs] = f
	queries := slices.ContainsFunc(rs.Calls, func(c shellscan.Call) bool {
		return slices.ContainsFunc(ecosystems, func(e Ecosystem) bool { return e.QueriesPaths(c) })
	})
	calls := rs.Calls
	via := map[int]string{} // index in calls -> script it comes from
	for _, sc := range a.scripts[rs] {
		// The script's own calls stand in for it; the script itself counts
		// as opaque only when it runs a tool or something opaque.
		// make stays opaque: its recipes' calls follow it.
		for i, c := range calls {
			if SameCall(c, sc.call) {
				at, drop := i, 1 // where sc.calls go, and how many calls they replace
				if sc.make {
					at, drop = i+1, 0
				}
				calls = append(append(slices.Clone(calls[:at]), sc.calls...), calls[at+drop:]...)
				for _, c := range sc.calls {
					f.ScriptCalls = append(f.ScriptCalls, ScriptCall{Call: c, Via: sc.via})
				}
				shifted := map[int]string{}
				for j, v := range via {
					if j >= at+drop {
						j += len(sc.calls) - drop
					}
					shifted[j] = v
				}
				for j := range sc.calls {
					shifted[at+j] = sc.via
				}
				via = shifted
				if !sc.make && slices.ContainsFunc(sc.calls, func(c shellscan.Call) bool { return isOpaque(c) || isToolCall(c) }) {
					f.Opaque = append(f.Opaque, sc.call)
				}
				break
			}
		}
	}
	for i, c := range calls {
		ref := func(p string) PathRef {
			r := resolveRef(rs, c, p)
			r.Via = via[i]
			return r
		}
		for _, w := range c.Writes {
			f.Writes = append(f.Writes, ref(w))
		}
		if isOpaque(c) {
			f.Opaque = append(f.Opaque, c)
			continue
		}
		if isToolCall(c) {
			continue
		}
		base := path.Base(c.Name)
		ops := Operands(c.Args)
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
					f.Removes = append(f.Removes, ref(o))
				} else {
					f.Writes = append(f.Writes, ref(o))
				}
			}
		case "mv":
			if len(ops) > 1 {
				for _, o := range ops[:len(ops)-1] {
					f.Removes = append(f.Removes, ref(o))
				}
				f.Writes = append(f.Writes, ref(ops[len(ops)-1]))
			}
		case "cp", "install", "ln", "rsync", "scp":
			if dir, ok := flagValue(c.Args, "-t", "--target-directory"); ok {
				f.Writes = append(f.Writes, ref(dir))
				ops = append(ops, dir)
			} else if len(ops) > 1 {
				f.Writes = append(f.Writes, ref(ops[len(ops)-1]))
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
					f.Writes = append(f.Writes, ref(o))
				}
			}
		case "tee", "touch", "mkdir", "chmod", "chown", "chgrp", "truncate", "patch", "setfacl", "setcap", "ed", "dd":
			tree := (base == "chmod" || base == "chown" || base == "chgrp" || base == "setfacl") && slices.ContainsFunc(c.Args, func(a string) bool {
				return a == "--recursive" || strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.ContainsAny(a, "R")
			})
			for _, o := range ops {
				if base == "dd" {
					o = strings.TrimPrefix(o, "of=")
				}
				f.Writes = append(f.Writes, ref(o))
				if tree {
					f.WritesTree = append(f.WritesTree, ref(o))
				}
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
					f.Removes = append(f.Removes, ref(o))
				}
			}
		case "tar", "unzip", "bsdtar":
			if dir, ok := flagValue(c.Args, "-C", "--directory", "-d"); ok {
				f.Writes = append(f.Writes, ref(dir))
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
func resolveRef(rs *RunStep, c shellscan.Call, p string) PathRef {
	r := PathRef{Line: rs.Line}
	// HOME is not in the step's env unless the Dockerfile sets it; the
	// shell analysis leaves it as ${HOME} (also for ~), runc sets the
	// user's.
	if rest, ok := strings.CutPrefix(p, "${HOME}"); ok && (rest == "" || rest[0] == '/') {
		if h, ok := Home(rs.Env, rs.Acc); ok {
			p = h + rest
		}
	}
	if i := strings.IndexByte(p, '$'); i >= 0 {
		// A word the shell analysis could not expand may name any path
		// below the directory written before it.
		r.unknown, r.word = true, p
		if p = p[:i]; p == "" {
			p = "/"
		} else {
			p = path.Dir(p + "x")
		}
	}
	glob := strings.IndexAny(p, "*?[")
	if glob >= 0 {
		r.glob = true
		p = path.Dir(p[:glob+1])
	}
	switch {
	case path.IsAbs(p):
		r.Abs = path.Clean(p)
	case c.DirKnown:
		d := c.Dir
		if !path.IsAbs(d) {
			d = path.Join(rs.Workdir, d)
		}
		r.Abs = path.Join(d, p)
	default:
		r.rel = path.Clean(p)
		if r.rel == "." || strings.HasPrefix(r.rel, "../") || r.rel == ".." {
			r.rel = ""
		}
	}
	return r
}

// Operands are a command's arguments that are not options (after --, all).
func Operands(args []string) []string {
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
		if known, _ := e.Knows(c); known {
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
		if known, opaque := e.Knows(c); known {
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

// StepVerdict says whether c may be mounted on rs as far as rs itself goes:
// not under a mount the user declared, not removed or written by rs.
func (a *Analysis) StepVerdict(rs *RunStep, c CacheSpec) Verdict {
	for t := range rs.existing {
		if Within(c.Target, t) {
			if t == c.Target {
				// The user's own mount: nothing to add, nothing to report.
				return Verdict{Rule: RuleUserMount, line: rs.Line}
			}
			return refuse(RuleUserMount, rs.Line, "the RUN mounts %s, which holds %s", t, c.Target)
		}
	}
	if line, dest := a.copiedOver(rs, c.Target); line != 0 {
		return refuse(RuleKeptInLayer, line, "the COPY at line %d puts files at %s, which a mount of %s would hide", line, dest, c.Target)
	}
	f := a.Facts(rs)
	for _, r := range f.Removes {
		if r.covers(c.Target) {
			return refuse(RuleCacheDestroyer, rs.Line, "%s removes %s, which a mount would make fail (Device or resource busy) or empty for every build", r.where(), refName(r, c.Target))
		}
	}
	for _, r := range append(slices.Clone(f.Writes), f.cwds...) {
		if r.inside(c.Target) {
			return refuse(RuleCacheWriter, rs.Line, "%s changes files in %s, which a shared mount would pass on to every build", r.where(), c.Target)
		}
	}
	for _, r := range f.WritesTree {
		if r.covers(c.Target) {
			return refuse(RuleCacheWriter, rs.Line, "%s changes the owner or modes of everything under %s, which a shared mount would pass on to every build", r.where(), refName(r, c.Target))
		}
	}
	return Verdict{Ok: true}
}

// copiedOver finds a COPY or ADD before rs, in its stage or one it is
// built on, that lays files inside target, or another stage's files over a
// directory holding it (COPY --from=modules /go/pkg /go/pkg): the layer
// then has content there that a mount would hide. It returns its line and
// destination.
func (a *Analysis) copiedOver(rs *RunStep, target string) (int, string) {
	if rs.Stage == nil {
		return 0, ""
	}
	end := rs.Stage.CmdIndex(rs.Cmd)
	for s := rs.Stage; s != nil; s = s.Parent {
		if s != rs.Stage {
			end = len(s.Cmds)
		}
		for i := end - 1; i >= 0; i-- {
			ci := CopyInfoOf(s.Cmds[i])
			if ci.SourcePaths == nil && ci.SourceContents == nil {
				continue
			}
			// From the context, only a copy into the cache counts: one
			// into a directory holding it (COPY . . with HOME at the
			// workdir) rarely brings a cache along.
			d, ok := a.copyDest(s, ci.DestPath, i)
			if ok && (Within(d, target) || d != "/" && ci.From != "" && Within(target, d)) {
				return StartLine(s.Cmds[i].Location()), d
			}
		}
	}
	return 0, ""
}

func refName(r PathRef, target string) string {
	if r.unknown {
		return r.word + " (a path hoist cannot expand, which may hold " + target + ")"
	}
	n := r.Abs
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

// ContentVerdict says whether a content cache can leave the layer of rs's
// stage: nothing exported, copied or mounted from the stage (or one built
// on it) covers it, and no step of the stage's FROM family reads it from
// the layer, writes into it, or removes it while using it. users are the
// steps that will get the same mount (the ecosystem's own, opaque ones it
// took); opaque steps it did not take may read the layer.
func (a *Analysis) ContentVerdict(rs *RunStep, c CacheSpec, users func(*RunStep) bool) Verdict {
	if why := a.ExportedAt(rs.Stage, c.Target); why != "" {
		return refuse(RuleKeptInLayer, rs.Line, "%s", why)
	}
	if why := a.LayerCacheWhy(); why != "" {
		return refuse(RuleKeptInLayer, rs.Line, "%s", why)
	}
	if why := ImageCacheWhy(rs.Stage, c); why != "" {
		return refuse(RuleKeptInLayer, rs.Line, "%s", why)
	}
	return a.FamilyVerdict(rs, c, users)
}

// ImageCacheWhy says why the image s is built from may ship c filled, ""
// when it is an official image (library/ on Docker Hub, or on Google's or
// AWS's mirror of it), which ship no module or package caches. A builder image of the
// project's own may carry a download done when it was built: a mount
// would hide it, and every build on a fresh builder fetch it again.
func ImageCacheWhy(s *Stage, c CacheSpec) string {
	img := s.Root().Image
	if img == "" || img == "scratch" {
		return ""
	}
	if n, err := reference.ParseNormalizedNamed(img); err == nil {
		p := reference.Path(n)
		switch reference.Domain(n) {
		case "docker.io", "mirror.gcr.io":
			if strings.HasPrefix(p, "library/") {
				return ""
			}
		case "public.ecr.aws":
			if strings.HasPrefix(p, "docker/library/") {
				return ""
			}
		}
	}
	return "the base image " + img + " is not an official image and may ship a filled " + c.What + " at " + c.Target + ", which a mount would hide (a fresh builder would fetch it all again)"
}

// LayerCacheWhy says why content caches stay in the layers of a build that
// imports a layer cache, "" when it does not or hoist's cache image seeds
// the mounts: on a fresh runner the cache gives the step that filled a
// mount its layer, without running it, and a later step that reads the
// mount finds it empty (it fetches again, or fails where it cannot).
func (a *Analysis) LayerCacheWhy() string {
	if !a.Opt.LayerCache || a.Opt.CacheFrom != nil {
		return ""
	}
	return "the build imports a layer cache (--cache-from), which carries layers but not what cache mounts hold"
}

// FamilyVerdict is contentVerdict's check of the steps of rs's FROM
// family: none reads the content from the layer, writes into it, or
// removes it while using it.
func (a *Analysis) FamilyVerdict(rs *RunStep, c CacheSpec, users func(*RunStep) bool) Verdict {
	_, _, _, own := Ownership(rs.Acc)
	for _, o := range a.family(rs.Stage) {
		f := a.Facts(o)
		for _, r := range append(slices.Clone(f.Writes), f.cwds...) {
			if r.inside(c.Target) {
				return refuse(RuleCacheWriter, o.Line, "%s changes files in it, which a shared mount would pass on to every build", r.where())
			}
		}
		if _, _, _, sfx := Ownership(o.Acc); users(o) && sfx != own {
			// Each user's mount is a cache of its own: what one step
			// fetched, the other's mount lacks.
			return refuse(RuleKeptInLayer, o.Line, "line %d uses it as another user than line %d, and each user's mount of it is a cache of its own", o.Line, rs.Line)
		}
		if users(o) {
			for _, r := range f.Removes {
				if r.covers(c.Target) {
					return refuse(RuleCacheDestroyer, o.Line, "%s uses it and then removes %s", r.where(), refName(r, c.Target))
				}
			}
			if c.InLayer {
				continue
			}
			if why := OfflineStep(o); why != "" && a.FedBefore(o) {
				return refuse(RuleKeptInLayer, o.Line, "line %d %s", o.Line, OfflineWhy(why))
			}
			if cred, line := a.missingCredential(o, users); cred != "" {
				return refuse(RuleKeptInLayer, o.Line, "line %d runs without the %s line %d fetches with, so cannot fetch what it lacks: BuildKit may empty a cache mount (its garbage collection drops unused ones first) while line %d's layer stays cached, and a build importing a layer cache (--cache-from) does not run line %d at all", o.Line, cred, line, line, line)
			}
			continue
		}
		if o == rs {
			continue
		}
		for _, r := range f.reads {
			if r.inside(c.Target) || r.Abs != "" && Within(c.Target, r.Abs) && r.Abs != "/" {
				return refuse(RuleKeptInLayer, o.Line, "%s reads it", r.where())
			}
		}
		if f.readsUnknown {
			return refuse(RuleKeptInLayer, o.Line, "line %d reads a path from go env", o.Line)
		}
		if len(f.Opaque) > 0 && a.comesAfter(o, rs) {
			return refuse(RuleOpaqueStep, o.Line, "line %d runs %s, which may read it, in a stage hoist does not know to have the tool", o.Line, CallWords(f.Opaque[0]))
		}
	}
	return Verdict{Ok: true}
}

// missingCredential names a secret or ssh mount that an earlier user of the
// cache in o's stage or one it is built on has and o lacks (the step that
// fetches private modules with it), and that step's line; "" if none.
func (a *Analysis) missingCredential(o *RunStep, users func(*RunStep) bool) (string, int) {
	have := credentials(o)
	for _, p := range a.Steps {
		if p == o {
			break
		}
		if !users(p) || !IsAncestorOrSelf(p.Stage, o.Stage) {
			continue
		}
		for _, c := range credentials(p) {
			if !slices.Contains(have, c) {
				return c, p.Line
			}
		}
	}
	return "", 0
}

// credentials are the secrets and ssh agents a RUN mounts, by id as
// dockerfile2llb defaults it.
func credentials(rs *RunStep) []string {
	var out []string
	for _, m := range instructions.GetMounts(rs.Cmd) {
		switch m.Type {
		case instructions.MountTypeSecret:
			id := m.CacheID
			if id == "" {
				id = path.Base(m.Target)
			}
			out = append(out, "secret "+id)
		case instructions.MountTypeSSH:
			id := m.CacheID
			if id == "" {
				id = "default"
			}
			out = append(out, "ssh "+id)
		}
	}
	return out
}

// ExportedAt says why the content at p in stage s must stay in its layer:
// the stage or one built from it is the exported target, or is copied or
// mounted from over p. "" means p can be a cache mount.
func (a *Analysis) ExportedAt(s *Stage, p string) string {
	if isTarget(a, s) {
		return "stage " + stageName(s) + " is the exported target"
	}
	for _, c := range s.consumers {
		if overlaps(c, p) {
			return "stage " + stageName(s) + " is copied from at " + c
		}
	}
	for _, c := range s.children {
		if why := a.ExportedAt(c, p); why != "" {
			return why
		}
	}
	return ""
}

// OfflineStep says how rs cannot fetch what a cache lacks, "" when it can:
// RUN --network=none, a package manager told to stay offline (--offline,
// npm_config_offline) or GOPROXY=off.
func OfflineStep(rs *RunStep) string {
	if instructions.GetNetwork(rs.Cmd) == instructions.NetworkNone {
		return "runs with --network=none"
	}
	for _, e := range ecosystems {
		if how := e.Offline(rs.Env, rs.Calls); how != "" {
			return how
		}
	}
	return ""
}

// OfflineWhy is the note's reason for keeping a cache an offline step
// reads in the layer.
func OfflineWhy(how string) string {
	return how + " and reads what an earlier step fetched: BuildKit may empty a cache mount (its garbage collection drops unused ones first) while that step's layer stays cached"
}

// FedBefore reports whether a RUN runs before o in o's stage or a stage
// it is built on: a step that may have filled a cache o reads.
func (a *Analysis) FedBefore(o *RunStep) bool {
	for _, rs := range a.Steps {
		if rs == o {
			return false
		}
		if IsAncestorOrSelf(rs.Stage, o.Stage) {
			return true
		}
	}
	return false
}

// family are the steps of every stage in s's FROM tree, in order.
func (a *Analysis) family(s *Stage) []*RunStep {
	root := s.Root()
	var out []*RunStep
	for _, rs := range a.Steps {
		if rs.Stage.Root() == root {
			out = append(out, rs)
		}
	}
	return out
}

// comesAfter reports whether o can see what rs left in its layer: o is a
// later step of rs's stage or of a stage built on it.
func (a *Analysis) comesAfter(o, rs *RunStep) bool {
	if !IsAncestorOrSelf(rs.Stage, o.Stage) {
		return false
	}
	return slices.Index(a.Steps, o) > slices.Index(a.Steps, rs)
}

// CallWords names a call's program as a note does: a script by the path
// it is run with, anything else by its name.
func CallWords(c shellscan.Call) string {
	if p := scriptPath(c); p != "" {
		return p
	}
	if strings.Contains(c.Name, "/") && !path.IsAbs(c.Name) {
		return c.Name
	}
	return path.Base(c.Name)
}
