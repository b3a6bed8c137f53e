package golang

import (
	"context"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hoistbuild/hoist/llbgen"
	"github.com/hoistbuild/hoist/llbgen/shellscan"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"golang.org/x/mod/modfile"
)

// hoistGo inserts, before the COPY that brings a Go module's sources into
// the stage, a COPY of its module files and a RUN go mod download, so a
// source edit no longer invalidates the download.
//
// u is the go call's directory: the stage's first module-needing call's
// or, when other is set, another directory's, whose module gets its own
// download unless its root is one of roots (the roots done so far). It
// reports whether the modules are downloaded before rs; quiet leaves a
// failure unnoted (an opaque step that may not run go at all).
func (a *goPass) hoistGo(ctx context.Context, rs *llbgen.RunStep, goSteps map[*llbgen.RunStep]*goStep, u moduleUse, roots map[string]bool, other, quiet bool) (bool, error) {
	notHoisted := func(line int, format string, args ...any) (bool, error) {
		if !quiet {
			a.Note(llbgen.RuleNotHoisted, line, false, format, args...)
		}
		return false, nil
	}
	s := rs.Stage
	for _, prev := range a.Steps {
		if prev == rs {
			break
		}
		pg := goSteps[prev]
		if pg == nil || !pg.download || !llbgen.IsAncestorOrSelf(prev.Stage, s) {
			continue
		}
		if !other {
			return true, nil // the Dockerfile already downloads modules before
		}
		for _, pu := range pg.uses {
			if pu.download && pu.dir == u.dir {
				return true, nil
			}
		}
	}
	if u.download && llbgen.ManifestCopyBefore(rs, isGoModuleFile, goSourcesOnly) {
		return true, nil // the user's download already precedes the sources
	}
	if a.Opt.Context == nil {
		return notHoisted(rs.Line, "go mod download not hoisted: the build context is not available")
	}
	if why := setupBefore(rs, a.Facts(rs).Opaque); why != "" {
		return notHoisted(rs.Line, "go mod download not hoisted: %s runs before the go command in the same RUN, and the hoisted download would run without it", why)
	}
	if u.dir == "" {
		return notHoisted(rs.Line, "go mod download not hoisted: cannot tell which directory go runs in")
	}
	sc, why, err := a.FindSourceCopy(ctx, s, rs, u.dir, llbgen.CopyRule{Env: goEnvMatters, Harmless: goRunHarmless, What: "go command",
		Manifest: isGoModuleFile, Download: "go mod download", AfterManifests: true, PassOver: isGoSource, Related: goRelated})
	if err != nil {
		return false, err
	}
	if sc == nil {
		if why != "" {
			return notHoisted(rs.Line, "go mod download not hoisted: %s", why)
		}
		return false, nil
	}
	if u.download && sc.Manifests != nil {
		return true, nil // only COPYs the download does not read come between
	}
	if a.HoistOff(sc.Line) {
		where := "before"
		if sc.Manifests != nil {
			where = "after"
		}
		a.Note(llbgen.RuleOff, sc.Line, false, "go mod download not hoisted %s this COPY: # hoist:off", where)
		return false, nil
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(u.dir, sc.Dest), "/")
	ctxDir := path.Clean(path.Join(sc.Src, rel))

	files, root, why, err := a.goModuleFiles(ctx, sc.Src, ctxDir, rs.Env)
	if err != nil {
		return false, err
	}
	if why != "" {
		return notHoisted(rs.Line, "go mod download not hoisted: %s", why)
	}
	if roots[root] {
		return true, nil
	}
	// A download the Dockerfile runs before rs at that module's root
	// (RUN go mod download, then RUN cd cmd && go build): nothing to add.
	rootDir := path.Join(sc.Dest, strings.TrimPrefix(strings.TrimPrefix(root, sc.Src), "/"))
	if sc.Src == "." {
		rootDir = path.Join(sc.Dest, root)
	}
	for _, prev := range a.Steps {
		if prev == rs {
			break
		}
		if pg := goSteps[prev]; pg != nil && llbgen.IsAncestorOrSelf(prev.Stage, s) && slices.ContainsFunc(pg.uses, func(pu moduleUse) bool {
			return pu.download && pu.dir == rootDir
		}) {
			roots[root] = true
			return true, nil
		}
	}
	if sc.Manifests == nil {
		// COPY go.mod go.sum ./ right before the source COPY, with no
		// download after it: the download goes there, with no COPY of its
		// own.
		if mc := a.ManifestCopyJustBefore(s, sc, isGoModuleFile); mc != nil && mc.Src == sc.Src && mc.Dest == sc.Dest && llbgen.Uncovered(files, mc.Manifests) == "" {
			mc.Replay = sc.Replay
			sc = mc
		}
	}
	if f := llbgen.Uncovered(files, sc.Manifests); f != "" {
		return notHoisted(rs.Line, "go mod download not hoisted: the COPY at line %d brings the module files but not %s", sc.Line, f)
	}

	mod := modMount(goSteps[rs].mounts)
	if mod == nil && !u.inLayer {
		return false, nil
	}

	// One COPY per destination directory keeps the layout without --parents.
	byDir := map[string][]string{}
	if sc.Manifests != nil {
		files = nil // the user's COPY brings them
	}
	for _, f := range files {
		byDir[path.Dir(f)] = append(byDir[path.Dir(f)], f)
	}
	dirs := make([]string, 0, len(byDir))
	for d := range byDir {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	var lines []string
	var names []string
	for _, d := range dirs {
		destDir := path.Join(sc.Dest, strings.TrimPrefix(strings.TrimPrefix(d, sc.Src), "/"))
		if sc.Src == "." {
			destDir = path.Join(sc.Dest, d)
		}
		srcs := byDir[d]
		sort.Strings(srcs)
		args := append(append([]string{"COPY"}, sc.Flags...), srcs...)
		args = append(args, strings.TrimSuffix(destDir, "/")+"/")
		lines = append(lines, strings.Join(args, " "))
		for _, f := range srcs {
			names = append(names, path.Base(f))
		}
	}

	cmd, unseeded := "", ""
	if !rs.Cmd.PrependShell {
		// An exec-form RUN may run in an image without a shell.
		if why := llbgen.ExecFormBlocked(rootDir, sc.Workdir, u.goEnv); why != "" {
			return notHoisted(rs.Line, "go mod download not hoisted: %s", why)
		}
		cmd = llbgen.ExecForm("go", "mod", "download")
		if mod != nil {
			// Kept for the cache image only; exec form gets no verify.
			unseeded = "; " + llbgen.ArgCacheFrom + " is set: the download puts every module go.mod requires into the cache image made from this build's caches"
		}
	} else {
		if rootDir != sc.Workdir {
			cmd = "cd " + llbgen.ShellQuote(rootDir) + " && "
		}
		env := ""
		for _, k := range llbgen.SortedEnvKeys(u.goEnv) {
			env += k + "=" + llbgen.ShellQuote(u.goEnv[k]) + " "
		}
		cmd += env + "go mod download"
		if mod == nil {
			// nothing seeded: the modules come into the layer
		} else if v := a.VerifyDownload(*mod, env); v == "" {
			unseeded = "; " + llbgen.ArgCacheFrom + " is set: a cache image made from this build's caches must hold every module go.mod requires, which the download of a seeded build verifies"
		} else {
			cmd += v
			a.Verified = append(a.Verified, llbgen.VerifiedDownload{Stage: s, Line: sc.Line, ID: mod.ID})
			a.Note(llbgen.RuleCacheFrom, sc.Line, true, "go mod verify added to the download: it checks the module cache seeded from %s before any step reads it (%s=off skips it)", a.Opt.CacheFrom.Ref, llbgen.ArgCacheVerify)
		}
	}
	run := llbgen.HoistedRun{Flags: a.PassFlags(rs), Cmd: cmd, Serves: rs.Line}
	if mod != nil {
		run.Mounts = []llbgen.CacheMount{*mod}
	}
	roots[root] = true
	rule, inLayer := llbgen.RuleDownloadHoisted, unseeded
	if mod == nil {
		rule = llbgen.RuleDownloadInLayer
		img := ""
		if g := a.goSteps[rs]; g != nil && g.modcache != "" {
			img = llbgen.ImageCacheWhy(rs.Stage, llbgen.CacheSpec{What: "Go module cache", Target: g.modcache})
		}
		if why := a.LayerCacheWhy(); why != "" && !llbgen.IsExported(a.Analysis, rs.Stage) {
			inLayer = "; no module cache mount: " + why + ", so the modules stay in its layer"
		} else if img != "" && !llbgen.IsExported(a.Analysis, rs.Stage) {
			inLayer = "; no module cache mount: " + img + ", so the modules stay in its layer"
		} else {
			inLayer = "; no module cache mount: the stage is exported, so the modules stay in its layer, whose module cache may also hold modules go.mod requires that the build does not fetch (test-only dependencies)"
		}
	}
	if sc.Manifests != nil {
		a.Plan.Insert(&llbgen.Insertion{At: llbgen.EndLine(sc.Cmd.Location()), After: true, Copies: lines, Run: run})
		a.Note(rule, sc.Line, true, "go mod download added after this COPY of the module files (for RUN at line %d)%s", rs.Line, inLayer)
		return true, nil
	}
	a.Plan.Insert(&llbgen.Insertion{At: sc.Line, Copies: lines, Run: run})
	what := "go mod download"
	if other {
		what += " in " + rootDir
	}
	a.Note(rule, sc.Line, true, "%s hoisted before this COPY: copies %s first (for RUN at line %d)%s", what, strings.Join(llbgen.Dedupe(names), ", "), rs.Line, inLayer)
	return true, nil
}

// modMount is the module cache mount among ms, or nil.
func modMount(ms []llbgen.CacheMount) *llbgen.CacheMount {
	for i := range ms {
		if ms[i].ID == idGoMod || strings.HasPrefix(ms[i].ID, idGoMod+"-") {
			return &ms[i]
		}
	}
	return nil
}

// downloadInLayer reports whether a Go download can be hoisted into the
// layer, with no module cache mount, for rs in an exported stage, or why
// not ("" when the user mounts the cache: nothing to say); stepV is rs's
// own verdict on mounting c. The image's module cache then
// holds every module go.mod requires, where stock's holds those the build
// fetched: a superset in a cache directory, and nothing else changes. A
// stage copying or mounting from it, or a step reading, changing or
// removing it could see more than the cache, so gets no download there.
func (a *goPass) downloadInLayer(rs *llbgen.RunStep, c llbgen.CacheSpec, stepV llbgen.Verdict, users func(*llbgen.RunStep) bool) (bool, string) {
	if !stepV.Ok {
		if stepV.Rule == llbgen.RuleUserMount {
			return false, ""
		}
		verb := "removes"
		if stepV.Rule == llbgen.RuleCacheWriter {
			verb = "changes files in"
		}
		return false, fmt.Sprintf("line %d %s %s, whose modules a download in an earlier layer would keep in the image's layers", rs.Line, verb, c.Target)
	}
	if a.CopiedFrom(rs.Stage, c.Target) {
		return false, "a stage copies or mounts " + c.Target + " from it, which would take the modules only the download fetched"
	}
	c.InLayer = true
	if v := a.FamilyVerdict(rs, c, users); !v.Ok {
		if v.Rule == llbgen.RuleCacheDestroyer || v.Rule == llbgen.RuleCacheWriter {
			return false, v.Why + "; a download in an earlier layer would keep its modules in the image's layers"
		}
		return false, v.Why + ", and would see modules only the download fetched"
	}
	return true, ""
}

// goSourcesOnly passes over COPYs of Go files (COPY *.go ./): they cannot
// bring what a download reads.
func goSourcesOnly(_ instructions.Command, ci llbgen.CopyInfo) bool {
	return ci.Only(isGoSource)
}

func isGoSource(src string) bool {
	return strings.HasSuffix(src, ".go")
}

// goModuleFileNames are the files a module or workspace download reads.
var goModuleFileNames = []string{"go.mod", "go.sum", "go.work", "go.work.sum"}

func isGoModuleFile(src string) bool {
	b := path.Base(src)
	// A pattern counts when it matches module files only: go.* does, * and
	// *.* (which bring the sources too) do not.
	return llbgen.MatchesAny(b, goModuleFileNames) && !llbgen.MatchesAny(b, []string{"main.go", "Makefile", "x"})
}

func goEnvMatters(k string) bool {
	return strings.HasPrefix(k, "GO") || k == "HOME" || strings.HasPrefix(k, "XDG_")
}

// goRelated reports the paths go mod download depends on: module and
// workspace files, and vendor/ with its modules.txt, which switches it off.
func goRelated(p string) bool {
	switch base := path.Base(p); base {
	case "vendor":
		return true
	case "modules.txt":
		return path.Base(path.Dir(p)) == "vendor"
	default:
		return slices.Contains(goModuleFileNames, base)
	}
}

func goRunHarmless(rs *llbgen.RunStep) bool {
	g := analyseGo(rs)
	return g != nil && g.modules
}

// goModuleFiles finds the module or workspace that go uses in ctxDir and
// lists the files go mod download needs, all within src.
func (a *goPass) goModuleFiles(ctx context.Context, src, ctxDir string, env map[string]string) (files []string, root, why string, err error) {
	in := func(p string) bool {
		return src == "." && !strings.HasPrefix(p, "../") && p != ".." || llbgen.Within("/"+p, "/"+src)
	}
	if !in(ctxDir) {
		return nil, "", "the go command runs outside the copied directory", nil
	}
	var modRoot, workRoot string
	for d := ctxDir; ; d = path.Dir(d) {
		if workRoot == "" && env["GOWORK"] != "off" {
			if _, ok, err := a.ReadContext(ctx, path.Join(d, "go.work")); err != nil {
				return nil, "", "", err
			} else if ok {
				workRoot = d
			}
		}
		if modRoot == "" {
			if _, ok, err := a.ReadContext(ctx, path.Join(d, "go.mod")); err != nil {
				return nil, "", "", err
			} else if ok {
				modRoot = d
			}
		}
		if d == src || d == "." || d == "/" {
			break
		}
	}
	if gw := env["GOWORK"]; gw != "" && gw != "off" {
		return nil, "", "GOWORK is set to " + gw, nil
	}
	add := func(p string, required bool) (bool, error) {
		_, ok, err := a.ReadContext(ctx, p)
		if err != nil {
			return false, err
		}
		if ok {
			files = append(files, p)
		}
		return ok || !required, nil
	}
	vendored := func(dir string) (bool, error) {
		_, ok, err := a.ReadContext(ctx, path.Join(dir, "vendor", "modules.txt"))
		return ok, err
	}
	var modules []string
	switch {
	case workRoot != "":
		root = workRoot
		dt, _, err := a.ReadContext(ctx, path.Join(workRoot, "go.work"))
		if err != nil {
			return nil, "", "", err
		}
		wf, perr := modfile.ParseWork("go.work", dt, nil)
		if perr != nil {
			return nil, "", "go.work does not parse: " + perr.Error(), nil
		}
		if v, err := vendored(workRoot); err != nil || v {
			return nil, "", "vendor/ is in use", err
		}
		files = append(files, path.Join(workRoot, "go.work"))
		if _, err := add(path.Join(workRoot, "go.work.sum"), false); err != nil {
			return nil, "", "", err
		}
		for _, u := range wf.Use {
			modules = append(modules, path.Join(workRoot, u.Path))
		}
		for _, r := range wf.Replace {
			if modfile.IsDirectoryPath(r.New.Path) {
				modules = append(modules, path.Join(workRoot, r.New.Path))
			}
		}
	case modRoot != "":
		root = modRoot
		modules = []string{modRoot}
	default:
		// A COPY of vendor/ alone (COPY third_party/ ./) brings no go.mod.
		if v, err := vendored(ctxDir); err != nil || v {
			return nil, "", "vendor/ is in use", err
		}
		return nil, "", "no go.mod found for the go command's directory", nil
	}
	seen := map[string]bool{}
	for len(modules) > 0 {
		m := path.Clean(modules[0])
		modules = modules[1:]
		if seen[m] {
			continue
		}
		seen[m] = true
		if path.IsAbs(m) || !in(m) {
			return nil, "", "module directory " + m + " is outside the copied directory", nil
		}
		dt, ok, err := a.ReadContext(ctx, path.Join(m, "go.mod"))
		if err != nil {
			return nil, "", "", err
		}
		if !ok {
			return nil, "", m + "/go.mod is not in the build context", nil
		}
		mf, perr := modfile.Parse(path.Join(m, "go.mod"), dt, nil)
		if perr != nil {
			return nil, "", m + "/go.mod does not parse: " + perr.Error(), nil
		}
		if workRoot == "" {
			if v, err := vendored(m); err != nil {
				return nil, "", "", err
			} else if v && vendorDefault(mf) && !strings.Contains(env["GOFLAGS"], "-mod=mod") {
				return nil, "", "vendor/ is in use", nil
			}
		}
		files = append(files, path.Join(m, "go.mod"))
		if _, err := add(path.Join(m, "go.sum"), false); err != nil {
			return nil, "", "", err
		}
		for _, r := range mf.Replace {
			if modfile.IsDirectoryPath(r.New.Path) {
				modules = append(modules, path.Join(m, r.New.Path))
			}
		}
	}
	return files, root, "", nil
}

// vendorDefault reports whether go defaults to -mod=vendor for a module
// with a vendor directory: from go 1.14 on.
func vendorDefault(mf *modfile.File) bool {
	if mf.Go == nil {
		return false
	}
	parts := strings.SplitN(mf.Go.Version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, _ := strconv.Atoi(parts[0])
	minor, _ := strconv.Atoi(parts[1])
	return major > 1 || (major == 1 && minor >= 14)
}

// setupBefore names a call that runs before the RUN's go command (or the
// opaque call that may run go), in the same RUN, and may change how a
// download fetches: go env -w, git config, a netrc written, a system
// install of Go, certificates or (when go fetches modules from a VCS
// directly) git, anything hoist does not know. The hoisted download would
// run without it. "" when the calls before it only print, read, change
// directory or install other system packages.
func setupBefore(rs *llbgen.RunStep, opaque []shellscan.Call) string {
	served := slices.IndexFunc(rs.Calls, func(c shellscan.Call) bool {
		return IsGoTool(c.Name) && !goInfo(c) || slices.ContainsFunc(opaque, func(o shellscan.Call) bool { return llbgen.SameCall(o, c) })
	})
	if served < 0 {
		return ""
	}
	env := llbgen.CloneMap(rs.Env)
	maps.Copy(env, rs.Calls[served].Env)
	direct := !proxyOnly(env)
	for _, c := range rs.Calls[:served] {
		if goEnvWrite(c) {
			return callName(c)
		}
		if IsGoTool(c.Name) || quietCall(c) {
			continue
		}
		if pkgs, known, ok := llbgen.SystemPackages(c); ok && known && !slices.ContainsFunc(pkgs, func(p string) bool { return fetchPackage(p, direct) }) {
			continue
		}
		return callName(c)
	}
	return ""
}

// callName names a call by its program, first operand and the file it
// writes, without its values (a token in a netrc line, a proxy's
// credentials), for a note.
func callName(c shellscan.Call) string {
	n := llbgen.CallWords(c)
	if goEnvWrite(c) {
		n += " env -w"
	} else if ops := llbgen.Operands(c.Args); len(ops) > 0 && strings.Trim(ops[0], "abcdefghijklmnopqrstuvwxyz0123456789-_.") == "" {
		n += " " + ops[0]
	}
	if len(c.Writes) > 0 {
		n += " > " + c.Writes[0]
	}
	return n
}

func goEnvWrite(c shellscan.Call) bool {
	return IsGoTool(c.Name) && len(c.Args) > 0 && c.Args[0] == "env" && slices.ContainsFunc(c.Args[1:], func(a string) bool { return a == "-w" || a == "-u" })
}

// goInfo reports go version and go env, which fetch nothing (go env -w
// sets what a later fetch uses).
func goInfo(c shellscan.Call) bool {
	return IsGoTool(c.Name) && len(c.Args) > 0 && (c.Args[0] == "version" || c.Args[0] == "env")
}

// proxyOnly reports whether go fetches every module of the build from a
// module proxy with env (GOPROXY unset or naming a proxy first, nothing
// private): it then runs no git.
func proxyOnly(env map[string]string) bool {
	if env["GOPRIVATE"] != "" || env["GONOPROXY"] != "" {
		return false
	}
	first := strings.FieldsFunc(env["GOPROXY"], func(r rune) bool { return r == ',' || r == '|' })
	return len(first) == 0 || first[0] != "direct" && first[0] != "off"
}

// quietCall reports a call that cannot change how go fetches modules: it
// prints, tests or changes directory, and writes no file.
func quietCall(c shellscan.Call) bool {
	if c.Dynamic || c.Opaque {
		return false
	}
	for _, w := range c.Writes {
		if w != "/dev/null" && w != "/dev/stdout" && w != "/dev/stderr" {
			return false
		}
	}
	switch path.Base(c.Name) {
	case "cd", "echo", "printf", "true", ":", "set", "export", "ls", "pwd", "printenv", "which", "id", "whoami", "date", "uname", "test", "[", "sleep", "mkdir",
		"cat", "head", "tail", "grep", "cut", "tr", "wc", "sort", "uniq", "basename", "dirname", "realpath", "readlink", "jq":
		return true
	case "sed":
		return !slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "-i") || a == "--in-place" })
	case "git":
		// what a version stamp reads: -ldflags "-X main.version=$(git describe)"
		sub := ""
		if len(c.Args) > 0 {
			sub = c.Args[0]
		}
		switch sub {
		case "describe", "rev-parse", "log", "show", "status", "rev-list":
			return true
		}
	}
	return false
}

// fetchPackage reports a system package go may fetch modules with: Go
// itself and the certificates its TLS checks a proxy against, and for
// direct fetches git, the other version control systems, ssh and the TLS
// libraries they use (Go's own TLS needs none).
func fetchPackage(name string, direct bool) bool {
	if name == "go" || strings.HasPrefix(name, "golang") || strings.Contains(name, "ca-cert") {
		return true
	}
	if !direct {
		return false
	}
	switch name {
	case "mercurial", "bzr", "breezy", "subversion", "fossil":
		return true
	}
	return strings.HasPrefix(name, "git") || strings.HasPrefix(name, "openssh") || strings.HasPrefix(name, "ssh") || strings.Contains(name, "ssl")
}
