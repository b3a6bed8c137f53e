package llbgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// Context reads files of the build context. Hoisting reads manifests
// (go.mod, go.sum, go.work, package.json, lockfiles) and the shell scripts
// RUN steps run, never the sources.
type Context interface {
	// ReadFile returns a file's content, or an error wrapping
	// fs.ErrNotExist when the context has no such file.
	ReadFile(ctx context.Context, path string) ([]byte, error)
	// ReadDir returns the names of a directory's entries, directories
	// with a trailing "/", or an error wrapping fs.ErrNotExist. Only
	// entries holding files that match ContextPatterns need be listed
	// (workspace globs such as packages/* are expanded with it).
	ReadDir(ctx context.Context, dir string) ([]string, error)
	// Ignored reports whether .dockerignore leaves path out of the
	// context, so that no COPY can bring it.
	Ignored(ctx context.Context, path string) (bool, error)
}

// ContextPatterns are the only context files hoisting reads (the
// ecosystems' manifests, and shell scripts a RUN may run); a frontend
// transfers just these, leaving out ContextExcludes.
//
// ContextExcludes keep installed dependencies (thousands of package.json
// files) out of the manifest transfer: of the ecosystems' dirs, only the
// directories themselves come, empty (whether a COPY may bring one).
// Register sets both.
var ContextPatterns, ContextExcludes []string

func contextPatterns() (include, exclude []string) {
	var dirs []string
	for _, e := range ecosystems {
		files, ds := e.ContextFiles()
		include = append(include, files...)
		dirs = append(dirs, ds...)
	}
	// Scripts a RUN may run, which the cache-safety engine reads.
	include = append(include, "**/*.sh", "**/*.bash")
	include = append(include, dirs...)
	for _, d := range dirs {
		exclude = append(exclude, d+"/*")
	}
	return include, exclude
}

func (a *Analysis) ReadContext(ctx context.Context, p string) ([]byte, bool, error) {
	dt, err := a.Opt.Context.ReadFile(ctx, p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return dt, true, nil
}

// SourceCopy is a COPY that brings a directory of the context into a stage.
type SourceCopy struct {
	Cmd     instructions.Command
	Line    int
	Src     string // context dir, cleaned, "." for the root
	Dest    string // absolute destination dir
	Flags   []string
	Workdir string
	// Manifests, for a COPY of Manifests only, are its sources as
	// context paths (patterns allowed): the download goes right after it.
	Manifests []string
	// Replay are the variables set between the COPY and the RUN that the
	// hoisted step must set (copyRule.Replay).
	Replay []string
	// Pieces, for a project copied in Pieces, are the context paths
	// (patterns allowed) those COPYs bring.
	Pieces []string
}

// IsExported reports whether s or a stage built on it is the target.
func IsExported(a *Analysis, s *Stage) bool {
	if isTarget(a, s) {
		return true
	}
	return slices.ContainsFunc(s.children, func(c *Stage) bool { return IsExported(a, c) })
}

// KeptIn names where a cache left out of a mount stays: the image when
// the stage ends up in it, else the stage's layers.
func KeptIn(a *Analysis, s *Stage) string {
	if IsExported(a, s) {
		return "the image"
	}
	return "the stage's layers"
}

// CopiedFrom reports whether a COPY --from or RUN --mount=from takes a path
// covering p from s or a stage built on it.
func (a *Analysis) CopiedFrom(s *Stage, p string) bool {
	for _, c := range s.consumers {
		if overlaps(c, p) {
			return true
		}
	}
	return slices.ContainsFunc(s.children, func(c *Stage) bool { return a.CopiedFrom(c, p) })
}

// ExecForm renders argv as an exec-form RUN command.
func ExecForm(argv ...string) string {
	dt, _ := json.Marshal(argv)
	return string(dt)
}

// ExecFormBlocked says why a download for an exec-form RUN cannot be
// inserted. Such a RUN may be in an image without a shell, so the inserted
// one is in exec form too, which can neither change directory nor set
// variables.
func ExecFormBlocked(dir, workdir string, env map[string]string) string {
	if dir != workdir {
		return fmt.Sprintf("the RUN is in exec form (its image may have no shell) and the download would run in %s, not the WORKDIR %s", dir, workdir)
	}
	if len(env) > 0 {
		return "the RUN is in exec form (its image may have no shell) and the download would need " + strings.Join(SortedEnvKeys(env), ", ") + " set"
	}
	return ""
}

// ManifestCopyBefore reports whether the last COPY or ADD before rs that
// skip does not pass over brings only files manifest accepts: the
// Dockerfile downloads or installs from its manifests already.
func ManifestCopyBefore(rs *RunStep, manifest func(src string) bool, skip func(cmd instructions.Command, ci CopyInfo) bool) bool {
	s := rs.Stage
	for i := s.CmdIndex(rs.Cmd) - 1; i >= 0; i-- {
		switch c := s.Cmds[i].(type) {
		case *instructions.CopyCommand, *instructions.AddCommand:
			if ci := CopyInfoOf(c); !skip(c, ci) {
				return ci.Only(manifest)
			}
		}
	}
	return false
}

// Uncovered returns a file that none of a manifests-only COPY's patterns
// brings ("" if all are, or if there are no patterns: a COPY of the whole
// directory brings everything).
func Uncovered(files, patterns []string) string {
	if patterns == nil {
		return ""
	}
	for _, f := range files {
		if !slices.ContainsFunc(patterns, func(p string) bool {
			ok, _ := path.Match(p, f)
			return ok
		}) {
			return f
		}
	}
	return ""
}

func Dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func IsAncestorOrSelf(anc, s *Stage) bool {
	for ; s != nil; s = s.Parent {
		if s == anc {
			return true
		}
	}
	return false
}

// PassFlags are the RUN flags of the original step that the download
// needs too: secret and ssh mounts (private modules) and the network mode.
func (a *Analysis) PassFlags(rs *RunStep) []string {
	n := a.Nodes[rs.Line]
	if n == nil {
		return nil
	}
	var out []string
	for _, f := range n.Flags {
		switch {
		case strings.HasPrefix(f, "--network="):
			out = append(out, f)
		case strings.HasPrefix(f, "--mount="):
			for kv := range strings.SplitSeq(strings.TrimPrefix(f, "--mount="), ",") {
				if kv == "type=secret" || kv == "type=ssh" {
					out = append(out, f)
					break
				}
			}
		}
	}
	return out
}

// CopyRule is what a rule allows between a source COPY and the step whose
// download it hoists.
type CopyRule struct {
	Env      func(key string) bool  // ENV/ARG names that change the download
	Harmless func(rs *RunStep) bool // RUNs that cannot change the manifests
	What     string                 // "go command", "install"
	// Manifest, when set, recognises a COPY of manifests only, which the
	// note then names as the place for the download.
	Manifest func(src string) bool
	Download string
	// AfterManifests returns a manifests-only COPY as the source copy, for
	// a download inserted after it.
	AfterManifests bool
	// PassOver, when set, recognises sources a download cannot depend on
	// (Go sources beside go.mod): a COPY of those only is passed over.
	PassOver func(src string) bool
	// Related, when set, reports the paths a download depends on; a COPY
	// whose source holds no such file is passed over.
	Related func(p string) bool
	// Replay, when set, lets ENV and ARG between the COPY and the RUN
	// through when the RUN's value of the variable is known: the hoisted
	// step sets it (sourceCopy.Replay).
	Replay map[string]string
}

// EmptyRun reports a RUN that runs no command: its script only assigns
// variables, or its tests known from the build args take no branch that
// runs one (RUN if [ "$BUILD_JS" = 1 ]; then ...; fi with BUILD_JS=0). A
// script with a redirection may write a file without a command: not empty.
func EmptyRun(rs *RunStep) bool {
	if rs.CallErr != nil || len(rs.Calls) > 0 || !rs.Cmd.PrependShell || len(rs.Cmd.Files) > 0 {
		return false
	}
	return !strings.ContainsAny(strings.Join(rs.Cmd.CmdLine, " "), "<>")
}

// FindSourceCopy finds the COPY that brings the directory dir into the
// stage before rs, and checks nothing between them changes what a
// download would see.
func (a *Analysis) FindSourceCopy(ctx context.Context, s *Stage, rs *RunStep, dir string, rule CopyRule) (*SourceCopy, string, error) {
	// The hoisted step carries secret and ssh mounts only.
	for _, m := range instructions.GetMounts(rs.Cmd) {
		t := m.Target
		if !path.IsAbs(t) {
			t = path.Join(rs.Workdir, t)
		}
		switch m.Type {
		case instructions.MountTypeBind:
			if !Within(t, dir) && !Within(dir, t) {
				return nil, "the RUN's bind mount at " + t + " would be missing from the hoisted " + rule.Download, nil
			}
		case instructions.MountTypeCache, instructions.MountTypeTmpfs:
			if Within(t, dir) {
				return nil, "the RUN mounts " + t + " in the project, so what the " + rule.Download + " writes there would not be in the hoisted step's layer", nil
			}
		}
	}
	sc, why, err := a.findSourceCopy(ctx, s, rs, dir, rule)
	if sc == nil || err != nil {
		return sc, why, err
	}
	// A file the tool's env names inside the copied tree (an .npmrc for
	// NPM_CONFIG_USERCONFIG, GOENV, a relative NODE_EXTRA_CA_CERTS) is not
	// there before the COPY.
	envs := []map[string]string{rs.Env}
	for _, c := range rs.Calls {
		envs = append(envs, c.Env)
	}
	for _, env := range envs {
		for _, k := range SortedEnvKeys(env) {
			if k == "PATH" || k == "HOME" || cacheEnv(k) || !rule.Env(k) && !FetchEnv(k) {
				continue
			}
			for p := range strings.SplitSeq(env[k], ":") {
				if p == "" {
					continue
				}
				abs := path.Clean(p)
				if !path.IsAbs(abs) {
					abs = path.Join(rs.Workdir, p)
				}
				if abs == sc.Dest || !Within(abs, sc.Dest) {
					continue
				}
				if !path.IsAbs(p) {
					// A relative value is a path only where the context has it.
					if ok, err := a.InContext(ctx, path.Join(sc.Src, strings.TrimPrefix(abs, sc.Dest))); err != nil || !ok {
						if err != nil {
							return nil, "", err
						}
						continue
					}
				}
				return nil, k + "=" + p + " names a file the COPY at line " + itoa(sc.Line) + " brings; hoisted above it, the " + rule.Download + " would run without it", nil
			}
		}
	}
	return sc, why, err
}

// InContext reports whether the build context holds p, a file or a
// directory.
func (a *Analysis) InContext(ctx context.Context, p string) (bool, error) {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" {
		return true, nil
	}
	if _, err := a.Opt.Context.ReadDir(ctx, p); err == nil {
		return true, nil
	}
	_, ok, err := a.ReadContext(ctx, p)
	return ok, err
}

// cacheEnv reports variables that place a cache, which a download writes
// rather than reads its settings from.
func cacheEnv(k string) bool {
	l := strings.ToLower(k)
	return k == "GOPATH" || strings.HasSuffix(l, "cache") || strings.HasSuffix(l, "cache_folder") || strings.HasSuffix(l, "cache_dir") || strings.HasSuffix(l, "cache_home") || strings.HasSuffix(l, "store_dir")
}

func (a *Analysis) findSourceCopy(ctx context.Context, s *Stage, rs *RunStep, dir string, rule CopyRule) (*SourceCopy, string, error) {
	idx := s.CmdIndex(rs.Cmd)
	if idx < 0 {
		return nil, "", nil
	}
	var replay []string
	replayable := func(k string) bool {
		if _, ok := rule.Replay[k]; ok {
			replay = append(replay, k)
			return true
		}
		return false
	}
	for i := idx - 1; i >= 0; i-- {
		switch c := s.Cmds[i].(type) {
		case *instructions.UserCommand:
			return nil, "USER changes between the source COPY and the RUN", nil
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				if (rule.Env(kv.Key) || FetchEnv(kv.Key)) && !replayable(kv.Key) {
					return nil, "ENV " + kv.Key + " at line " + itoa(StartLine(c.Location())) + " is set between the source COPY and the RUN", nil
				}
			}
		case *instructions.ArgCommand:
			for _, kv := range c.Args {
				if (rule.Env(kv.Key) || FetchEnv(kv.Key)) && !replayable(kv.Key) {
					return nil, "ARG " + kv.Key + " at line " + itoa(StartLine(c.Location())) + " is declared between the source COPY and the RUN", nil
				}
			}
		case *instructions.RunCommand:
			// An earlier RUN may generate or edit module files.
			if rs := a.stepFor(c); rs != nil && rs.Line != 0 && !EmptyRun(rs) && !rule.Harmless(rs) {
				if !slices.ContainsFunc(s.Cmds[:i], func(cmd instructions.Command) bool {
					ci := CopyInfoOf(cmd)
					return ci.SourcePaths != nil && ci.From == "" && len(ci.SourceContents) == 0
				}) {
					return nil, "no COPY of its directory precedes it in this stage (line " + itoa(StartLine(c.Location())) + " runs before it)", nil
				}
				return nil, "line " + itoa(StartLine(c.Location())) + " runs between the source COPY and the " + rule.What, nil
			}
		case *instructions.CopyCommand, *instructions.AddCommand:
			ci := CopyInfoOf(c)
			if ci.Remote {
				return nil, "ADD at line " + itoa(StartLine(c.Location())) + " fetches a remote source", nil
			}
			if rule.PassOver != nil && !ci.Parents && ci.Only(rule.PassOver) {
				continue
			}
			manifestsOnly := rule.Manifest != nil && ci.Only(rule.Manifest)
			if manifestsOnly && rule.AfterManifests {
				if mc := a.manifestCopyOf(s, c, ci, i); mc != nil {
					if !Within(dir, mc.Dest) {
						continue
					}
					mc.Replay = Dedupe(replay)
					return mc, "", nil
				}
			}
			sc, why := a.sourceCopyOf(s, c, ci.SourcePaths, ci.DestPath, ci.From, ci.Parents, ci.Exclude, len(ci.SourceContents) > 0, i)
			d, dok := a.copyDest(s, ci.DestPath, i)
			if !dok && sc == nil {
				return nil, "COPY at line " + itoa(StartLine(c.Location())) + " has an unresolvable destination", nil
			} else if !Within(d, dir) {
				// Outside the project it may bring what the tool reads
				// besides the manifests: a netrc, a CA bundle, the tool.
				if t := ToolDir(rs, d, dir); t != "" {
					return nil, "COPY at line " + itoa(StartLine(c.Location())) + " writes to " + t + ", which the " + rule.Download + " may read; hoisted above it, it would run without it", nil
				}
				if !Within(dir, d) {
					continue
				}
			}
			if sc == nil && why == "" {
				continue
			}
			if manifestsOnly {
				// The user copies the manifests first already: say what
				// would complete the split.
				sc, why = nil, "COPY at line "+itoa(StartLine(c.Location()))+" brings only manifests; a RUN "+rule.Download+" right after it would not rerun on source edits"
			}
			dest := ""
			if sc != nil {
				dest = sc.Dest
			} else if !manifestsOnly && dok {
				// Whatever a wildcard or several sources match lands
				// under the destination all the same.
				dest = d
			}
			if dest != "" && !Within(dir, dest) {
				// Into a subdirectory: only what lands at the top of dir
				// (COPY third_party/vendor/ vendor/) changes the download.
				if rule.Related != nil && Within(dest, dir) {
					rel := strings.TrimPrefix(strings.TrimPrefix(dest, dir), "/")
					if top, _, _ := strings.Cut(rel, "/"); rule.Related(top) {
						return nil, "COPY at line " + itoa(StartLine(c.Location())) + " brings " + top + " into the module directory", nil
					}
				}
				continue
			}
			if sc != nil && sc.Src != "." && rule.Related != nil && !rule.Related(path.Base(sc.Src)) && !rule.Related(path.Base(sc.Dest)) {
				// COPY VERSION ./ or COPY assets/ ./: nothing the download
				// reads comes with it.
				none, err := a.HoldsNone(ctx, sc.Src, rule.Related)
				if err != nil {
					return nil, "", err
				}
				if none {
					continue
				}
			}
			if sc != nil {
				sc.Flags = CopyFlags(ci.Chown, ci.Chmod, ci.Link)
				sc.Replay = Dedupe(replay)
			}
			return sc, why, nil
		}
	}
	return nil, "no COPY of its directory precedes it in this stage", nil
}

// maxWalk bounds the context entries holdsNone looks at; past it, a COPY
// counts as bringing the sources.
const maxWalk = 10000

// HoldsNone reports whether the context under src (a file or a
// directory) has no file that related reports. The frontend's context
// holds only ContextPatterns, which cover every such file, with
// node_modules empty: the walk is small there, and skips node_modules
// in hoist explain's full one so that both find the same.
func (a *Analysis) HoldsNone(ctx context.Context, src string, related func(string) bool) (bool, error) {
	budget := maxWalk
	var walk func(dir string) (bool, error)
	walk = func(dir string) (bool, error) {
		names, err := a.Opt.Context.ReadDir(ctx, dir)
		if errors.Is(err, fs.ErrNotExist) {
			return true, nil // a file, or nothing to copy
		}
		if err != nil {
			return false, err
		}
		for _, n := range names {
			if budget--; budget < 0 {
				return false, nil
			}
			name, isDir := strings.CutSuffix(n, "/")
			p := path.Join(dir, name)
			if !isDir && related(p) {
				return false, nil
			}
			if isDir && name != "node_modules" {
				if ok, err := walk(p); !ok || err != nil {
					return ok, err
				}
			}
		}
		return true, nil
	}
	return walk(src)
}

// CopyInfo is what COPY and ADD share for finding a source copy.
type CopyInfo struct {
	instructions.SourcesAndDest
	From, Chown, Chmod     string
	Link, Parents, Exclude bool
	Remote                 bool // ADD of a URL or git source
}

// Only reports whether every source comes from the build context and is
// one f accepts.
func (ci CopyInfo) Only(f func(src string) bool) bool {
	return ci.From == "" && len(ci.SourceContents) == 0 && !ci.Remote && len(ci.SourcePaths) > 0 &&
		!slices.ContainsFunc(ci.SourcePaths, func(p string) bool { return !f(p) })
}

func CopyInfoOf(cmd instructions.Command) CopyInfo {
	switch c := cmd.(type) {
	case *instructions.CopyCommand:
		return CopyInfo{SourcesAndDest: c.SourcesAndDest, From: c.From, Chown: c.Chown, Chmod: c.Chmod,
			Link: c.Link, Parents: c.Parents, Exclude: len(c.ExcludePatterns) > 0}
	case *instructions.AddCommand:
		ci := CopyInfo{SourcesAndDest: c.SourcesAndDest, Chown: c.Chown, Chmod: c.Chmod,
			Link: c.Link, Exclude: len(c.ExcludePatterns) > 0}
		for _, p := range c.SourcePaths {
			ci.Remote = ci.Remote || strings.Contains(p, "://") || strings.HasPrefix(p, "git@")
		}
		return ci
	}
	return CopyInfo{}
}

func CopyFlags(chown, chmod string, link bool) []string {
	var f []string
	if chown != "" {
		f = append(f, "--chown="+chown)
	}
	if chmod != "" {
		f = append(f, "--chmod="+chmod)
	}
	if link {
		f = append(f, "--link")
	}
	return f
}

func (a *Analysis) stepFor(c *instructions.RunCommand) *RunStep {
	for _, rs := range a.Steps {
		if rs.Cmd == c {
			return rs
		}
	}
	return nil
}

// sourceCopyOf returns the copy as a sourceCopy when it brings one context
// directory; (nil, "") when it is not a source copy at all (another stage,
// heredoc), and (nil, why) when it is one hoist cannot reason about.
func (a *Analysis) sourceCopyOf(s *Stage, cmd instructions.Command, srcs []string, dest, from string, parents, exclude, heredoc bool, idx int) (*SourceCopy, string) {
	line := StartLine(cmd.Location())
	if from != "" || heredoc {
		return nil, ""
	}
	if len(srcs) != 1 {
		return nil, "COPY at line " + itoa(line) + " has several sources"
	}
	if parents {
		return nil, "COPY at line " + itoa(line) + " uses --parents"
	}
	if exclude {
		return nil, "COPY at line " + itoa(line) + " uses --exclude"
	}
	wd, ok := a.WorkdirAt(s, idx)
	if !ok {
		return nil, "WORKDIR at line " + itoa(line) + " cannot be resolved"
	}
	src, err := a.Expand(s, srcs[0])
	if err != nil || strings.ContainsAny(src, "*?[") {
		return nil, "COPY at line " + itoa(line) + " has a wildcard or unresolvable source"
	}
	src = path.Clean(strings.TrimPrefix(path.Clean("/"+src), "/"))
	if src == "" {
		src = "."
	}
	d, ok := a.copyDest(s, dest, idx)
	if !ok {
		return nil, "COPY at line " + itoa(line) + " has an unresolvable destination"
	}
	return &SourceCopy{Cmd: cmd, Line: line, Src: src, Dest: d, Workdir: wd}, ""
}

// FetchEnv reports the variables any download reads besides its tool's
// own: where programs and settings are found, proxies, certificates and
// credentials.
func FetchEnv(k string) bool {
	switch k {
	case "PATH", "HOME", "NETRC", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE", "SSH_AUTH_SOCK", "LD_LIBRARY_PATH", "LD_PRELOAD":
		return true
	}
	l := strings.ToLower(k)
	return strings.HasSuffix(l, "_proxy") || strings.HasPrefix(k, "GIT_") || strings.HasPrefix(k, "XDG_")
}

// systemDirs hold what a download may read besides the project: programs,
// libraries, settings, certificates and credentials.
var systemDirs = []string{"/bin", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/opt", "/root", "/sbin", "/usr"}

// ToolDir returns a directory outside the project a download may read
// that a COPY to dest may write to: a system directory, HOME, or a path
// the step's env names (GOPATH, NETRC, npm's userconfig); "" when none.
func ToolDir(rs *RunStep, dest, project string) string {
	dirs := slices.Clone(systemDirs)
	if h, ok := Home(rs.Env, rs.Acc); ok && path.IsAbs(h) {
		dirs = append(dirs, path.Clean(h))
	}
	for _, k := range SortedEnvKeys(rs.Env) {
		for p := range strings.SplitSeq(rs.Env[k], ":") {
			if path.IsAbs(p) {
				dirs = append(dirs, path.Clean(p))
			}
		}
	}
	for _, d := range dirs {
		if Within(d, dest) && !Within(project, d) {
			return d // COPY rootfs/ / or into /usr/local
		}
		if Within(dest, d) && !Within(dest, project) && !Within(project, dest) {
			return dest
		}
	}
	return ""
}

// copyDest resolves a COPY's destination at the stage's idx-th command to
// a clean absolute path.
func (a *Analysis) copyDest(s *Stage, dest string, idx int) (string, bool) {
	d, err := a.Expand(s, dest)
	if err != nil {
		return "", false
	}
	if !path.IsAbs(d) {
		wd, ok := a.WorkdirAt(s, idx)
		if !ok {
			return "", false
		}
		d = path.Join(wd, d)
	}
	return path.Clean(d), true
}

// manifestCopyOf returns a COPY of manifests from one context directory
// into a directory as a sourceCopy with its patterns, or nil when its
// layout is not that plain.
func (a *Analysis) manifestCopyOf(s *Stage, cmd instructions.Command, ci CopyInfo, idx int) *SourceCopy {
	if ci.Parents || ci.Exclude || len(ci.SourcePaths) == 0 {
		return nil
	}
	wd, ok := a.WorkdirAt(s, idx)
	if !ok {
		return nil
	}
	srcDir := ""
	var patterns []string
	for i, p := range ci.SourcePaths {
		src, err := a.Expand(s, p)
		if err != nil {
			return nil
		}
		src = strings.TrimPrefix(path.Clean("/"+src), "/")
		d := path.Dir(src)
		if strings.ContainsAny(d, "*?[") || i > 0 && d != srcDir {
			return nil
		}
		srcDir = d
		patterns = append(patterns, src)
	}
	dest, err := a.Expand(s, ci.DestPath)
	if err != nil || !(strings.HasSuffix(dest, "/") || dest == "." || dest == "..") {
		return nil
	}
	if !path.IsAbs(dest) {
		dest = path.Join(wd, dest)
	}
	return &SourceCopy{Cmd: cmd, Line: StartLine(cmd.Location()), Src: srcDir, Dest: path.Clean(dest), Workdir: wd,
		Flags: CopyFlags(ci.Chown, ci.Chmod, ci.Link), Manifests: patterns}
}

// ManifestCopyJustBefore returns the COPY of manifests only (as manifest
// tells them) that comes right before the source COPY sc, nothing but
// LABEL or EXPOSE between them; nil when there is none.
func (a *Analysis) ManifestCopyJustBefore(s *Stage, sc *SourceCopy, manifest func(string) bool) *SourceCopy {
	i := s.CmdIndex(sc.Cmd)
	for i--; i >= 0; i-- {
		switch c := s.Cmds[i].(type) {
		case *instructions.LabelCommand, *instructions.ExposeCommand:
			continue
		case *instructions.CopyCommand:
			if ci := CopyInfoOf(c); ci.Only(manifest) {
				return a.manifestCopyOf(s, c, ci, i)
			}
		}
		return nil
	}
	return nil
}

// WorkdirAt replays the stage's WORKDIRs up to command idx.
func (a *Analysis) WorkdirAt(s *Stage, idx int) (string, bool) {
	wd := s.startWorkdir
	if wd == "" {
		wd = "/"
	}
	for i := 0; i < idx && i < len(s.Cmds); i++ {
		if c, ok := s.Cmds[i].(*instructions.WorkdirCommand); ok {
			p, err := a.Expand(s, c.Path)
			if err != nil {
				return "", false
			}
			if !path.IsAbs(p) {
				p = path.Join(wd, p)
			}
			wd = path.Clean(p)
		}
	}
	if wd == "" {
		wd = "/"
	}
	return wd, true
}

// ShellQuote quotes s for a POSIX shell when needed.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-=+:,@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func itoa(i int) string { return strconv.Itoa(i) }
