package llbgen

import (
	"context"
	"path"
	"strings"

	"github.com/hoistbuild/hoist/llbgen/shellscan"
)

// goEcosystem is Go modules: the module cache and the build cache on
// every step that runs go (or may: an opaque step in a stage with Go),
// and go mod download hoisted before the source COPY.
type goEcosystem struct{}

func (goEcosystem) name() string          { return "go" }
func (goEcosystem) enabled(c Config) bool { return c.Go }
func (goEcosystem) caches() []cacheKind {
	return []cacheKind{{id: idGoMod, verify: true}, {id: idGoBuild, keep: GoBuildCacheKeep}}
}

func (goEcosystem) contextFiles() (files, dirs []string) {
	return []string{"**/go.mod", "**/go.sum", "**/go.work", "**/go.work.sum", "**/vendor/modules.txt"}, nil
}

func (goEcosystem) tools() []string { return []string{"go", "gotip"} }

// knows: hoist follows every go command (ClassifyGo); none counts as
// opaque.
func (goEcosystem) knows(c shellscan.Call) (known, opaque bool) { return IsGoTool(c.Name), false }

func (goEcosystem) queriesPaths(c shellscan.Call) bool {
	return IsGoTool(c.Name) && len(c.Args) > 0 && c.Args[0] == "env"
}

func (goEcosystem) offline(env map[string]string, calls []shellscan.Call) string {
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

func (goEcosystem) start(a *analysis) ecosystemPass {
	return &goPass{analysis: a, goSteps: map[*runStep]*goStep{}, firstMod: map[*stage][]*runStep{},
		inLayerMod: map[*stage][]*runStep{}, inLayerNo: map[*stage]bool{}}
}

type goPass struct {
	*analysis
	goSteps  map[*runStep]*goStep
	firstMod map[*stage][]*runStep // steps with the module cache mounted
	// steps whose module cache stays in the layer only because their
	// stage is exported: their download is hoisted with no mount, unless
	// another Go step of the stage keeps the cache for another reason
	inLayerMod map[*stage][]*runStep
	inLayerNo  map[*stage]bool
}

func (a *goPass) analyse(context.Context) error {
	for _, rs := range a.steps {
		g := analyseGo(rs)
		if g == nil && len(a.facts(rs).opaque) > 0 && a.hasGo(rs) {
			g = opaqueGo(rs, a.facts(rs).opaque[0])
		}
		if g == nil {
			continue
		}
		a.goSteps[rs] = g
		f := a.facts(rs)
		for _, p := range g.cleans {
			if p != "" {
				f.removes = append(f.removes, pathRef{abs: p, line: rs.line})
			}
		}
		for _, p := range g.cleanWrites {
			if p != "" {
				f.writes = append(f.writes, pathRef{abs: p, line: rs.line})
			}
		}
	}
	return nil
}

func (a *goPass) mount() {
	users := func(o *runStep) bool { return a.goSteps[o] != nil }
	for _, rs := range a.steps {
		g := a.goSteps[rs]
		if g == nil {
			continue
		}
		if rs.off {
			a.note(RuleOff, rs.line, false, "left alone: # hoist:off")
			continue
		}
		if len(g.why) > 0 {
			a.note(RuleNoCacheMount, rs.line, false, "no Go cache mounts: %s", strings.Join(g.why, "; "))
			continue
		}
		modOK, buildOK := g.modules && g.modcache != "", g.buildCache
		if modOK {
			spec := cacheSpec{what: "Go module cache", target: g.modcache, content: true}
			v := a.stepVerdict(rs, spec)
			stepV := v
			if v.ok {
				v = a.contentVerdict(rs, spec, users)
			}
			if !v.ok {
				modOK = false
				if g.project && !g.vendor && isExported(a.analysis, rs.stage) {
					if ok, why := a.downloadInLayer(rs, spec, stepV, users); ok {
						a.inLayerMod[rs.stage] = append(a.inLayerMod[rs.stage], rs)
					} else if why != "" {
						a.inLayerNo[rs.stage] = true
						if a.opt.Config.Steps {
							a.note(RuleNotHoisted, rs.line, false, "go mod download not hoisted into the layer: %s", why)
						}
					}
				}
				if v.why == "" {
					// the user's own mount of it
				} else if v.rule == RuleUserMount {
					a.note(v.rule, rs.line, false, "no mount of the Go module cache %s: %s", g.modcache, v.why)
				} else {
					a.note(v.rule, rs.line, false, "Go module cache %s kept in the image: %s", g.modcache, v.why)
				}
			}
		}
		if buildOK && g.gocache != "" {
			v := a.stepVerdict(rs, cacheSpec{what: "Go build cache", target: g.gocache})
			buildOK = v.ok
			if !v.ok && v.why != "" {
				a.note(v.rule, rs.line, false, "no mount of the Go build cache %s: %s", g.gocache, v.why)
			}
		}
		ms := a.goMounts(rs, g, modOK, buildOK)
		if len(ms) == 0 {
			continue
		}
		g.mounts = ms
		a.noteMounts(rs, ms, g.opaque, "go")
		if g.modules && g.project && !g.vendor && modOK {
			a.firstMod[rs.stage] = append(a.firstMod[rs.stage], rs)
		}
	}
}

func (a *goPass) hoist(ctx context.Context) error {
	hoisted := map[*stage]bool{}
	for _, s := range a.stages {
		cands, inLayer := a.firstMod[s], false
		if len(cands) == 0 && !a.inLayerNo[s] {
			cands, inLayer = a.inLayerMod[s], true
		}
		if len(cands) == 0 {
			continue
		}
		if hoisted[s.parent] {
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
		for _, o := range a.steps {
			og := a.goSteps[o]
			if o.stage != s || o.line < rs.line || og == nil || !og.modules || og.vendor || len(og.why) > 0 || o.off {
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

func (a *goPass) done() []stepMounts {
	var out []stepMounts
	for _, rs := range a.steps {
		if g := a.goSteps[rs]; g != nil && len(g.mounts) > 0 {
			out = append(out, stepMounts{step: rs, mounts: g.mounts})
		}
	}
	return out
}

// hasGo reports whether the go command is known to be installed where rs
// runs: a golang-family base image, go on the image's PATH, GOROOT or
// GOLANG_VERSION set, or an earlier step of the stage's chain installed or
// ran it.
func (a *analysis) hasGo(rs *runStep) bool {
	root := rs.stage.root()
	img := root.image
	if i := strings.LastIndex(img, "/"); i >= 0 {
		img = img[i+1:]
	}
	name, _, _ := strings.Cut(img, ":")
	name, _, _ = strings.Cut(name, "@")
	if name == "golang" || name == "go" || strings.HasPrefix(name, "golang-") {
		return true
	}
	if rs.env["GOROOT"] != "" || rs.env["GOLANG_VERSION"] != "" || rs.env["GO_VERSION"] != "" {
		return true
	}
	for _, d := range strings.Split(rs.env["PATH"], ":") {
		if strings.HasSuffix(d, "/go/bin") && d != "/go/bin" {
			return true
		}
	}
	for _, o := range a.steps {
		if o == rs {
			break
		}
		if !isAncestorOrSelf(o.stage, rs.stage) {
			continue
		}
		for _, c := range o.calls {
			if IsGoTool(c.Name) || installsGo(c) {
				return true
			}
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
	for _, a := range operands(c.Args) {
		a, _, _ = strings.Cut(a, "=")
		if a == "go" || a == "golang" || strings.HasPrefix(a, "golang-") || strings.HasPrefix(a, "golang1") {
			return true
		}
	}
	return false
}
