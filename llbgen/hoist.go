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
var ContextPatterns, ContextExcludes = contextPatterns()

func contextPatterns() (include, exclude []string) {
	var dirs []string
	for _, e := range ecosystems {
		files, ds := e.contextFiles()
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

func (a *analysis) readContext(ctx context.Context, p string) ([]byte, bool, error) {
	dt, err := a.opt.Context.ReadFile(ctx, p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return dt, true, nil
}

// sourceCopy is a COPY that brings a directory of the context into a stage.
type sourceCopy struct {
	cmd     instructions.Command
	line    int
	src     string // context dir, cleaned, "." for the root
	dest    string // absolute destination dir
	flags   []string
	workdir string
	// manifests, for a COPY of manifests only, are its sources as
	// context paths (patterns allowed): the download goes right after it.
	manifests []string
	// replay are the variables set between the COPY and the RUN that the
	// hoisted step must set (copyRule.replay).
	replay []string
	// pieces, for a project copied in pieces, are the context paths
	// (patterns allowed) those COPYs bring.
	pieces []string
}

// isExported reports whether s or a stage built on it is the target.
func isExported(a *analysis, s *stage) bool {
	if isTarget(a, s) {
		return true
	}
	return slices.ContainsFunc(s.children, func(c *stage) bool { return isExported(a, c) })
}

// copiedFrom reports whether a COPY --from or RUN --mount=from takes a path
// covering p from s or a stage built on it.
func (a *analysis) copiedFrom(s *stage, p string) bool {
	for _, c := range s.consumers {
		if overlaps(c, p) {
			return true
		}
	}
	return slices.ContainsFunc(s.children, func(c *stage) bool { return a.copiedFrom(c, p) })
}

// execForm renders argv as an exec-form RUN command.
func execForm(argv ...string) string {
	dt, _ := json.Marshal(argv)
	return string(dt)
}

// execFormBlocked says why a download for an exec-form RUN cannot be
// inserted. Such a RUN may be in an image without a shell, so the inserted
// one is in exec form too, which can neither change directory nor set
// variables.
func execFormBlocked(dir, workdir string, env map[string]string) string {
	if dir != workdir {
		return fmt.Sprintf("the RUN is in exec form (its image may have no shell) and the download would run in %s, not the WORKDIR %s", dir, workdir)
	}
	if len(env) > 0 {
		return "the RUN is in exec form (its image may have no shell) and the download would need " + strings.Join(sortedEnvKeys(env), ", ") + " set"
	}
	return ""
}

// manifestCopyBefore reports whether the last COPY or ADD before rs that
// skip does not pass over brings only files manifest accepts: the
// Dockerfile downloads or installs from its manifests already.
func manifestCopyBefore(rs *runStep, manifest func(src string) bool, skip func(cmd instructions.Command, ci copyInfo) bool) bool {
	s := rs.stage
	for i := s.cmdIndex(rs.cmd) - 1; i >= 0; i-- {
		switch c := s.cmds[i].(type) {
		case *instructions.CopyCommand, *instructions.AddCommand:
			if ci := copyInfoOf(c); !skip(c, ci) {
				return ci.only(manifest)
			}
		}
	}
	return false
}

// uncovered returns a file that none of a manifests-only COPY's patterns
// brings ("" if all are, or if there are no patterns: a COPY of the whole
// directory brings everything).
func uncovered(files, patterns []string) string {
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

func dedupe(s []string) []string {
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

func isAncestorOrSelf(anc, s *stage) bool {
	for ; s != nil; s = s.parent {
		if s == anc {
			return true
		}
	}
	return false
}

// passFlags are the RUN flags of the original step that the download
// needs too: secret and ssh mounts (private modules) and the network mode.
func (a *analysis) passFlags(rs *runStep) []string {
	n := a.nodes[rs.line]
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

// copyRule is what a rule allows between a source COPY and the step whose
// download it hoists.
type copyRule struct {
	env      func(key string) bool  // ENV/ARG names that change the download
	harmless func(rs *runStep) bool // RUNs that cannot change the manifests
	what     string                 // "go command", "install"
	// manifest, when set, recognises a COPY of manifests only, which the
	// note then names as the place for the download.
	manifest func(src string) bool
	download string
	// afterManifests returns a manifests-only COPY as the source copy, for
	// a download inserted after it.
	afterManifests bool
	// passOver, when set, recognises sources a download cannot depend on
	// (Go sources beside go.mod): a COPY of those only is passed over.
	passOver func(src string) bool
	// related, when set, reports the paths a download depends on; a COPY
	// whose source holds no such file is passed over.
	related func(p string) bool
	// replay, when set, lets ENV and ARG between the COPY and the RUN
	// through when the RUN's value of the variable is known: the hoisted
	// step sets it (sourceCopy.replay).
	replay map[string]string
}

// emptyRun reports a RUN that runs no command: its script only assigns
// variables, or its tests known from the build args take no branch that
// runs one (RUN if [ "$BUILD_JS" = 1 ]; then ...; fi with BUILD_JS=0). A
// script with a redirection may write a file without a command: not empty.
func emptyRun(rs *runStep) bool {
	if rs.callErr != nil || len(rs.calls) > 0 || !rs.cmd.PrependShell || len(rs.cmd.Files) > 0 {
		return false
	}
	return !strings.ContainsAny(strings.Join(rs.cmd.CmdLine, " "), "<>")
}

// findSourceCopy finds the COPY that brings the directory dir into the
// stage before rs, and checks nothing between them changes what a
// download would see.
func (a *analysis) findSourceCopy(ctx context.Context, s *stage, rs *runStep, dir string, rule copyRule) (*sourceCopy, string, error) {
	idx := s.cmdIndex(rs.cmd)
	if idx < 0 {
		return nil, "", nil
	}
	var replay []string
	replayable := func(k string) bool {
		if _, ok := rule.replay[k]; ok {
			replay = append(replay, k)
			return true
		}
		return false
	}
	for i := idx - 1; i >= 0; i-- {
		switch c := s.cmds[i].(type) {
		case *instructions.UserCommand:
			return nil, "USER changes between the source COPY and the RUN", nil
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				if rule.env(kv.Key) && !replayable(kv.Key) {
					return nil, "ENV " + kv.Key + " at line " + itoa(startLine(c.Location())) + " is set between the source COPY and the RUN", nil
				}
			}
		case *instructions.ArgCommand:
			for _, kv := range c.Args {
				if rule.env(kv.Key) && !replayable(kv.Key) {
					return nil, "ARG " + kv.Key + " at line " + itoa(startLine(c.Location())) + " is declared between the source COPY and the RUN", nil
				}
			}
		case *instructions.RunCommand:
			// An earlier RUN may generate or edit module files.
			if rs := a.stepFor(c); rs != nil && rs.line != 0 && !emptyRun(rs) && !rule.harmless(rs) {
				if !slices.ContainsFunc(s.cmds[:i], func(cmd instructions.Command) bool {
					ci := copyInfoOf(cmd)
					return ci.SourcePaths != nil && ci.from == "" && len(ci.SourceContents) == 0
				}) {
					return nil, "no COPY of its directory precedes it in this stage (line " + itoa(startLine(c.Location())) + " runs before it)", nil
				}
				return nil, "line " + itoa(startLine(c.Location())) + " runs between the source COPY and the " + rule.what, nil
			}
		case *instructions.CopyCommand, *instructions.AddCommand:
			ci := copyInfoOf(c)
			if ci.remote {
				return nil, "ADD at line " + itoa(startLine(c.Location())) + " fetches a remote source", nil
			}
			if rule.passOver != nil && !ci.parents && ci.only(rule.passOver) {
				continue
			}
			manifestsOnly := rule.manifest != nil && ci.only(rule.manifest)
			if manifestsOnly && rule.afterManifests {
				if mc := a.manifestCopyOf(s, c, ci, i); mc != nil {
					if !within(dir, mc.dest) {
						continue
					}
					mc.replay = dedupe(replay)
					return mc, "", nil
				}
			}
			sc, why := a.sourceCopyOf(s, c, ci.SourcePaths, ci.DestPath, ci.from, ci.parents, ci.exclude, len(ci.SourceContents) > 0, i)
			if sc == nil && why == "" {
				continue
			}
			if manifestsOnly {
				// The user copies the manifests first already: say what
				// would complete the split.
				sc, why = nil, "COPY at line "+itoa(startLine(c.Location()))+" brings only manifests; a RUN "+rule.download+" right after it would not rerun on source edits"
			}
			if sc != nil && !within(dir, sc.dest) {
				// Into a subdirectory: only what lands at the top of dir
				// (COPY third_party/vendor/ vendor/) changes the download.
				if rule.related != nil && within(sc.dest, dir) {
					rel := strings.TrimPrefix(strings.TrimPrefix(sc.dest, dir), "/")
					if top, _, _ := strings.Cut(rel, "/"); rule.related(top) {
						return nil, "COPY at line " + itoa(sc.line) + " brings " + top + " into the module directory", nil
					}
				}
				continue
			}
			if sc != nil && sc.src != "." && rule.related != nil && !rule.related(path.Base(sc.src)) && !rule.related(path.Base(sc.dest)) {
				// COPY VERSION ./ or COPY assets/ ./: nothing the download
				// reads comes with it.
				none, err := a.holdsNone(ctx, sc.src, rule.related)
				if err != nil {
					return nil, "", err
				}
				if none {
					continue
				}
			}
			if sc != nil {
				sc.flags = copyFlags(ci.chown, ci.chmod, ci.link)
				sc.replay = dedupe(replay)
			}
			return sc, why, nil
		}
	}
	return nil, "no COPY of its directory precedes it in this stage", nil
}

// maxWalk bounds the context entries holdsNone looks at; past it, a COPY
// counts as bringing the sources.
const maxWalk = 10000

// holdsNone reports whether the context under src (a file or a
// directory) has no file that related reports. The frontend's context
// holds only ContextPatterns, which cover every such file, with
// node_modules empty: the walk is small there, and skips node_modules
// in hoist explain's full one so that both find the same.
func (a *analysis) holdsNone(ctx context.Context, src string, related func(string) bool) (bool, error) {
	budget := maxWalk
	var walk func(dir string) (bool, error)
	walk = func(dir string) (bool, error) {
		names, err := a.opt.Context.ReadDir(ctx, dir)
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

// copyInfo is what COPY and ADD share for finding a source copy.
type copyInfo struct {
	instructions.SourcesAndDest
	from, chown, chmod     string
	link, parents, exclude bool
	remote                 bool // ADD of a URL or git source
}

// only reports whether every source comes from the build context and is
// one f accepts.
func (ci copyInfo) only(f func(src string) bool) bool {
	return ci.from == "" && len(ci.SourceContents) == 0 && !ci.remote && len(ci.SourcePaths) > 0 &&
		!slices.ContainsFunc(ci.SourcePaths, func(p string) bool { return !f(p) })
}

func copyInfoOf(cmd instructions.Command) copyInfo {
	switch c := cmd.(type) {
	case *instructions.CopyCommand:
		return copyInfo{SourcesAndDest: c.SourcesAndDest, from: c.From, chown: c.Chown, chmod: c.Chmod,
			link: c.Link, parents: c.Parents, exclude: len(c.ExcludePatterns) > 0}
	case *instructions.AddCommand:
		ci := copyInfo{SourcesAndDest: c.SourcesAndDest, chown: c.Chown, chmod: c.Chmod,
			link: c.Link, exclude: len(c.ExcludePatterns) > 0}
		for _, p := range c.SourcePaths {
			ci.remote = ci.remote || strings.Contains(p, "://") || strings.HasPrefix(p, "git@")
		}
		return ci
	}
	return copyInfo{}
}

func copyFlags(chown, chmod string, link bool) []string {
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

func (a *analysis) stepFor(c *instructions.RunCommand) *runStep {
	for _, rs := range a.steps {
		if rs.cmd == c {
			return rs
		}
	}
	return nil
}

// sourceCopyOf returns the copy as a sourceCopy when it brings one context
// directory; (nil, "") when it is not a source copy at all (another stage,
// heredoc), and (nil, why) when it is one hoist cannot reason about.
func (a *analysis) sourceCopyOf(s *stage, cmd instructions.Command, srcs []string, dest, from string, parents, exclude, heredoc bool, idx int) (*sourceCopy, string) {
	line := startLine(cmd.Location())
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
	wd, ok := a.workdirAt(s, idx)
	if !ok {
		return nil, "WORKDIR at line " + itoa(line) + " cannot be resolved"
	}
	src, err := a.expand(s, srcs[0])
	if err != nil || strings.ContainsAny(src, "*?[") {
		return nil, "COPY at line " + itoa(line) + " has a wildcard or unresolvable source"
	}
	src = path.Clean(strings.TrimPrefix(path.Clean("/"+src), "/"))
	if src == "" {
		src = "."
	}
	d, err := a.expand(s, dest)
	if err != nil {
		return nil, "COPY at line " + itoa(line) + " has an unresolvable destination"
	}
	if !path.IsAbs(d) {
		d = path.Join(wd, d)
	}
	return &sourceCopy{cmd: cmd, line: line, src: src, dest: path.Clean(d), workdir: wd}, ""
}

// manifestCopyOf returns a COPY of manifests from one context directory
// into a directory as a sourceCopy with its patterns, or nil when its
// layout is not that plain.
func (a *analysis) manifestCopyOf(s *stage, cmd instructions.Command, ci copyInfo, idx int) *sourceCopy {
	if ci.parents || ci.exclude || len(ci.SourcePaths) == 0 {
		return nil
	}
	wd, ok := a.workdirAt(s, idx)
	if !ok {
		return nil
	}
	srcDir := ""
	var patterns []string
	for i, p := range ci.SourcePaths {
		src, err := a.expand(s, p)
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
	dest, err := a.expand(s, ci.DestPath)
	if err != nil || !(strings.HasSuffix(dest, "/") || dest == "." || dest == "..") {
		return nil
	}
	if !path.IsAbs(dest) {
		dest = path.Join(wd, dest)
	}
	return &sourceCopy{cmd: cmd, line: startLine(cmd.Location()), src: srcDir, dest: path.Clean(dest), workdir: wd,
		flags: copyFlags(ci.chown, ci.chmod, ci.link), manifests: patterns}
}

// manifestCopyJustBefore returns the COPY of manifests only (as manifest
// tells them) that comes right before the source COPY sc, nothing but
// LABEL or EXPOSE between them; nil when there is none.
func (a *analysis) manifestCopyJustBefore(s *stage, sc *sourceCopy, manifest func(string) bool) *sourceCopy {
	i := s.cmdIndex(sc.cmd)
	for i--; i >= 0; i-- {
		switch c := s.cmds[i].(type) {
		case *instructions.LabelCommand, *instructions.ExposeCommand:
			continue
		case *instructions.CopyCommand:
			if ci := copyInfoOf(c); ci.only(manifest) {
				return a.manifestCopyOf(s, c, ci, i)
			}
		}
		return nil
	}
	return nil
}

// workdirAt replays the stage's WORKDIRs up to command idx.
func (a *analysis) workdirAt(s *stage, idx int) (string, bool) {
	wd := s.startWorkdir
	if wd == "" {
		wd = "/"
	}
	for i := 0; i < idx && i < len(s.cmds); i++ {
		if c, ok := s.cmds[i].(*instructions.WorkdirCommand); ok {
			p, err := a.expand(s, c.Path)
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

// shellQuote quotes s for a POSIX shell when needed.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-=+:,@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func itoa(i int) string { return strconv.Itoa(i) }
