// Package golang is hoist's Go ecosystem: the module and build caches
// mounted on the steps that run go, and go mod download hoisted before the
// COPY of the sources. Package llbgen/ecosystems registers it.
package golang

import (
	"context"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/hoistbuild/hoist/llbgen"
	"github.com/hoistbuild/hoist/llbgen/shellscan"
)

// BuildCacheKeep is how long since last use a build cache entry stays
// in hoist-cache. Go sets an entry's mtime when it uses it (at most once an
// hour), so entries the build just used are always kept; what is left out
// is what no build used for a day, which go itself would trim after 5 days.
const BuildCacheKeep = 24 * time.Hour

// Ecosystem is Go modules: the module cache and the build cache on
// every step that runs go (or may: an opaque step in a stage with Go),
// and go mod download hoisted before the source COPY.
type Ecosystem struct{}

func (Ecosystem) Name() string                 { return "go" }
func (Ecosystem) Enabled(c llbgen.Config) bool { return c.Go }
func (Ecosystem) Caches() []llbgen.CacheKind {
	return []llbgen.CacheKind{{ID: idGoMod, Verify: true}, {ID: idGoBuild, Keep: BuildCacheKeep}}
}

func (Ecosystem) ContextFiles() (files, dirs []string) {
	return []string{"**/go.mod", "**/go.sum", "**/go.work", "**/go.work.sum", "**/vendor/modules.txt"}, nil
}

func (Ecosystem) Tools() []string { return []string{"go", "gotip"} }

// Knows: hoist follows every go command (ClassifyGo); none counts as
// opaque.
func (Ecosystem) Knows(c shellscan.Call) (known, opaque bool) { return IsGoTool(c.Name), false }

func (Ecosystem) QueriesPaths(c shellscan.Call) bool {
	return IsGoTool(c.Name) && len(c.Args) > 0 && c.Args[0] == "env"
}

func (Ecosystem) Offline(env map[string]string, calls []shellscan.Call) string {
	if env["GOPROXY"] == "off" {
		return "runs with GOPROXY=off"
	}
	for _, c := range calls {
		if c.Env["GOPROXY"] == "off" {
			return "runs " + path.Base(c.Name) + " with GOPROXY=off"
		}
	}
	return ""
}

func (Ecosystem) Start(a *llbgen.Analysis) llbgen.Pass {
	return &goPass{Analysis: a, goSteps: map[*llbgen.RunStep]*goStep{}, firstMod: map[*llbgen.Stage][]*llbgen.RunStep{},
		inLayerMod: map[*llbgen.Stage][]*llbgen.RunStep{}, inLayerNo: map[*llbgen.Stage]bool{}}
}

type goPass struct {
	*llbgen.Analysis
	goSteps  map[*llbgen.RunStep]*goStep
	firstMod map[*llbgen.Stage][]*llbgen.RunStep // steps with the module cache mounted
	// steps whose module cache stays in the layer only because their
	// stage is exported: their download is hoisted with no mount, unless
	// another Go step of the stage keeps the cache for another reason
	inLayerMod map[*llbgen.Stage][]*llbgen.RunStep
	inLayerNo  map[*llbgen.Stage]bool
}

func (a *goPass) Analyse(context.Context) error {
	for _, rs := range a.Steps {
		g := analyseGo(rs)
		// go calls that use no cache (GOARCH=$(go env GOARCH) make build)
		// leave the step to what it runs besides them.
		if (g == nil || !g.modules && !g.buildCache) && len(a.Facts(rs).Opaque) > 0 && a.hasGo(rs) {
			o := opaqueGo(rs, a.Facts(rs).Opaque[0])
			if g != nil {
				o.cleans, o.cleanWrites = g.cleans, g.cleanWrites
			}
			g = o
		}
		if g == nil {
			continue
		}
		a.goSteps[rs] = g
		f := a.Facts(rs)
		add := func(cleans, writes []string, via string) {
			for _, p := range cleans {
				if p != "" {
					f.Removes = append(f.Removes, llbgen.PathRef{Abs: p, Line: rs.Line, Via: via})
				}
			}
			for _, p := range writes {
				if p != "" {
					f.Writes = append(f.Writes, llbgen.PathRef{Abs: p, Line: rs.Line, Via: via})
				}
			}
		}
		add(g.cleans, g.cleanWrites, "")
		for _, c := range f.ScriptCalls {
			// go clean in a script the RUN runs (./build.sh) or a recipe
			// of its make.
			cl, w := goClean(rs, c.Call)
			add(cl, w, c.Via)
		}
	}
	return nil
}

func (a *goPass) Mount() {
	users := func(o *llbgen.RunStep) bool { g := a.goSteps[o]; return g != nil && (g.modules || g.buildCache) }
	for _, rs := range a.Steps {
		g := a.goSteps[rs]
		if g == nil {
			continue
		}
		if rs.Off {
			a.Note(llbgen.RuleOff, rs.Line, false, "left alone: # hoist:off")
			continue
		}
		if len(g.why) > 0 {
			a.Note(llbgen.RuleNoCacheMount, rs.Line, false, "no Go cache mounts: %s", strings.Join(g.why, "; "))
			continue
		}
		modOK, buildOK := g.modules && g.modcache != "", g.buildCache
		if modOK {
			spec := llbgen.CacheSpec{What: "Go module cache", Target: g.modcache, Content: true}
			v := a.StepVerdict(rs, spec)
			stepV := v
			if v.Ok {
				v = a.ContentVerdict(rs, spec, users)
			}
			if !v.Ok {
				modOK = false
				if g.project && !g.vendor && (llbgen.IsExported(a.Analysis, rs.Stage) || a.LayerCacheWhy() != "" || llbgen.ImageCacheWhy(rs.Stage, spec) != "") {
					if ok, why := a.downloadInLayer(rs, spec, stepV, users); ok {
						a.inLayerMod[rs.Stage] = append(a.inLayerMod[rs.Stage], rs)
					} else if why != "" {
						a.inLayerNo[rs.Stage] = true
						if a.Opt.Config.Steps {
							a.Note(llbgen.RuleNotHoisted, rs.Line, false, "go mod download not hoisted into the layer: %s", why)
						}
					}
				}
				if v.Why == "" {
					// the user's own mount of it
				} else if v.Rule == llbgen.RuleUserMount {
					a.Note(v.Rule, rs.Line, false, "no mount of the Go module cache %s: %s", g.modcache, v.Why)
				} else {
					a.Note(v.Rule, rs.Line, false, "Go module cache %s kept in %s: %s", g.modcache, llbgen.KeptIn(a.Analysis, rs.Stage), v.Why)
				}
			}
		}
		if buildOK && g.gocache != "" {
			v := a.StepVerdict(rs, llbgen.CacheSpec{What: "Go build cache", Target: g.gocache})
			buildOK = v.Ok
			if !v.Ok && v.Why != "" {
				a.Note(v.Rule, rs.Line, false, "no mount of the Go build cache %s: %s", g.gocache, v.Why)
			}
			if v.Ok {
				if why := a.startRunsGo(rs.Stage); why != "" {
					buildOK = false
					a.Note(llbgen.RuleKeptInLayer, rs.Line, false, "Go build cache %s kept in the image: %s", g.gocache, why)
				}
			}
		}
		if buildOK && g.gocache != "" {
			if why := a.freshTests(rs); why != "" {
				buildOK = false
				a.Note(llbgen.RuleNoCacheMount, rs.Line, false, "no mount of the Go build cache %s: %s", g.gocache, why)
			}
		}
		ms := a.goMounts(rs, g, modOK, buildOK)
		if len(ms) == 0 {
			continue
		}
		g.mounts = ms
		a.NoteMounts(rs, ms, g.opaque, "go")
		if g.modules && g.project && !g.vendor && modOK {
			a.firstMod[rs.Stage] = append(a.firstMod[rs.Stage], rs)
		}
	}
}

func (a *goPass) Hoist(ctx context.Context) error {
	hoisted := map[*llbgen.Stage]bool{}
	for _, s := range a.Stages {
		cands, inLayer := a.firstMod[s], false
		if len(cands) > 0 && !a.cacheImageDownload() {
			// The build steps mount the module cache: go fetches what it
			// builds into it, and a rebuild finds it warm. A download step
			// of its own makes no rebuild faster and fetches every module
			// go.mod requires, test-only ones too.
			continue
		}
		if len(cands) == 0 && !a.inLayerNo[s] {
			cands, inLayer = a.inLayerMod[s], true
		}
		if len(cands) == 0 {
			continue
		}
		if hoisted[s.Parent] {
			// modules were downloaded in the stage this one builds on
			hoisted[s] = true
			continue
		}
		hoisted[s] = true
		// One download per module the stage's go commands use: the
		// first step's, then each other directory's. The first step
		// hoist knows runs go decides; opaque steps before it are
		// tried quietly, as they may run go or not.
		roots := map[string]bool{}
		rs := cands[0]
		for _, c := range cands {
			cg := a.goSteps[c]
			quiet := cg.opaque != ""
			done, err := a.hoistGo(ctx, c, a.goSteps, moduleUse{dir: cg.dir, goEnv: cg.goEnv, download: cg.download, inLayer: inLayer}, roots, false, quiet)
			if err != nil {
				return err
			}
			rs = c
			if done || !quiet {
				break
			}
		}
		g := a.goSteps[rs]
		for _, o := range a.Steps {
			og := a.goSteps[o]
			if o.Stage != s || o.Line < rs.Line || og == nil || !og.modules || og.vendor || len(og.why) > 0 || o.Off {
				continue
			}
			for _, u := range og.uses {
				if u.dir == "" || u.dir == g.dir {
					continue
				}
				u.inLayer = inLayer
				if _, err := a.hoistGo(ctx, o, a.goSteps, u, roots, true, false); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// cacheImageDownload reports whether the build names a cache image
// (HOIST_CACHE_FROM, usable or not) with verification on. A seeded build
// verifies its module cache with a hoisted go mod download, which fetches
// every module go.mod requires that the cache image lacks; so every build
// of such a pipeline downloads them, also the unseeded one whose caches the
// image is made from.
func (a *goPass) cacheImageDownload() bool {
	return a.Opt.Config.CacheVerify && (a.Opt.Config.CacheFrom != "" || a.Opt.CacheFrom != nil)
}

func (a *goPass) Done() []llbgen.StepMounts {
	var out []llbgen.StepMounts
	for _, rs := range a.Steps {
		if g := a.goSteps[rs]; g != nil && len(g.mounts) > 0 {
			out = append(out, llbgen.StepMounts{Step: rs, Mounts: g.mounts})
		}
	}
	return out
}

// hasGo reports whether the go command is known to be installed where rs
// runs: a golang-family base image, go on the image's PATH, GOROOT or
// GOLANG_VERSION set, or an earlier step of the stage's chain installed or
// ran it.
func (a *goPass) hasGo(rs *llbgen.RunStep) bool {
	root := rs.Stage.Root()
	img := root.Image
	if i := strings.LastIndex(img, "/"); i >= 0 {
		img = img[i+1:]
	}
	name, _, _ := strings.Cut(img, ":")
	name, _, _ = strings.Cut(name, "@")
	if name == "golang" || name == "go" || strings.HasPrefix(name, "golang-") {
		return true
	}
	if rs.Env["GOROOT"] != "" || rs.Env["GOLANG_VERSION"] != "" || rs.Env["GO_VERSION"] != "" {
		return true
	}
	for _, d := range strings.Split(rs.Env["PATH"], ":") {
		if strings.HasSuffix(d, "/go/bin") && d != "/go/bin" {
			return true
		}
	}
	for _, o := range a.Steps {
		if o == rs {
			break
		}
		if !llbgen.IsAncestorOrSelf(o.Stage, rs.Stage) {
			continue
		}
		for _, c := range o.Calls {
			if IsGoTool(c.Name) || installsGo(c) {
				return true
			}
		}
	}
	// The step itself installs Go before the call that may run it
	// (apk add go && make).
	opaque := a.Facts(rs).Opaque
	for _, c := range rs.Calls {
		if slices.ContainsFunc(opaque, func(o shellscan.Call) bool { return llbgen.SameCall(o, c) }) {
			break
		}
		if installsGo(c) {
			return true
		}
	}
	return false
}

// installsGo reports a package-manager install of the Go toolchain.
func installsGo(c shellscan.Call) bool {
	switch path.Base(c.Name) {
	case "apk", "apt-get", "apt", "yum", "dnf", "microdnf", "zypper", "pacman":
	default:
		return false
	}
	for _, a := range llbgen.Operands(c.Args) {
		a, _, _ = strings.Cut(a, "=")
		if a == "go" || a == "golang" || strings.HasPrefix(a, "golang-") || strings.HasPrefix(a, "golang1") {
			return true
		}
	}
	return false
}

// startRunsGo says why the image s ends in runs go when a container starts
// (its ENTRYPOINT or CMD runs go run, go test or a watcher that runs go
// build): it then reads the build cache the build's steps leave in the
// image, which a mount would leave empty, and every start would compile
// from scratch. "" when s is not exported or the image runs no go.
func (a *goPass) startRunsGo(s *llbgen.Stage) string {
	for _, w := range a.StartWords(s) {
		switch b := path.Base(w); {
		case IsGoTool(b), b == "air", b == "reflex", b == "gow", b == "CompileDaemon":
			return "the image's ENTRYPOINT or CMD runs " + b + " when a container starts, which reads the build cache the build leaves in the image"
		case b == "make", b == "gmake", b == "task", b == "mage", b == "just", strings.HasSuffix(b, ".sh"):
			// A build runner or script hoist does not read at start may run go.
			return "the image's ENTRYPOINT or CMD runs " + b + " when a container starts, which may run go and read the build cache the build leaves in the image"
		}
	}
	return ""
}

// freshTests makes each go test of rs run its tests, as with stock's build
// cache, which holds no earlier build's results: with a shared one, a
// test whose inputs go does not hash (a library loaded through cgo, a file
// it execs, a service) would report "ok (cached)" where stock runs it.
// -count=1 goes right after `go test` (GOFLAGS would replace what go env
// -w set); why is the reason it cannot, "" when done or not needed.
func (a *goPass) freshTests(rs *llbgen.RunStep) string {
	for _, c := range rs.Calls {
		env := llbgen.CloneMap(rs.Env)
		for k, v := range c.Env {
			env[k] = v
		}
		use, ok := ClassifyGo(c, env)
		if !ok || use.Sub != "test" || len(c.Args) == 0 || c.Args[0] != "test" || slices.ContainsFunc(c.Args, func(a string) bool {
			return a == "-count" || strings.HasPrefix(a, "-count=") || a == "--count" || strings.HasPrefix(a, "--count=")
		}) {
			continue
		}
		head := c.Name + " test"
		if a.EditCall(rs, c, func(line string, at int) string {
			return line[:at+len(head)] + " -count=1" + line[at+len(head):]
		}, func(before, after shellscan.Call) bool {
			return maps.Equal(before.Env, after.Env) && slices.Equal(after.Args, append([]string{"test", "-count=1"}, before.Args[1:]...))
		}) {
			a.Note(llbgen.RuleCacheMount, rs.Line, true, "-count=1 added to %s: %s", llbgen.RunWords(c), freshWhy)
			continue
		}
		return freshWhy + ", and hoist cannot add -count=1 to " + llbgen.RunWords(c) + " where it stands"
	}
	return ""
}

// freshWhy says why go test runs with -count=1.
const freshWhy = "with the build cache shared, go test would report results cached by other builds, which stock's empty cache does not hold; -count=1 runs the tests"
