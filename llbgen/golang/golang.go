package golang

import (
	"path"
	"strings"

	"github.com/hoistbuild/hoist/llbgen"
	"github.com/hoistbuild/hoist/llbgen/shellscan"
)

// Cache ids are namespaced so hoist's mounts never collide with a user's.
const (
	idGoMod   = "hoist-go-mod"
	idGoBuild = "hoist-go-build"
)

// downloadEnv are the variables that change what go mod download fetches
// or from where; a hoisted download repeats them when the script sets them.
var downloadEnv = map[string]bool{
	"GOPROXY": true, "GOPRIVATE": true, "GONOPROXY": true, "GONOSUMDB": true, "GONOSUMCHECK": true,
	"GOSUMDB": true, "GOINSECURE": true, "GOFLAGS": true, "GOTOOLCHAIN": true, "GOVCS": true, "GOAUTH": true,
	"GOWORK": true, "GOEXPERIMENT": true,
}

// goStep is what the Go rule decided for one RUN.
type goStep struct {
	modules    bool // some call needs the module cache
	buildCache bool // some call needs the build cache
	vendor     bool
	download   bool // the step itself downloads modules (go mod download)
	modcache   string
	gocache    string
	dir        string // absolute dir of the first module-needing call, "" if unknown
	why        []string
	goEnv      map[string]string // GO* variables the script sets for the first module-needing call
	// uses are the module-needing calls' dirs and GO* variables, the first
	// one (dir, goEnv) included, one per dir.
	uses []moduleUse
	// project is set when a call needs the modules of the project's own
	// go.mod (not only `go install pkg@version`), which a hoisted download
	// can fetch early.
	project bool
	// cleans and cleanWrites are the caches a go clean call removes
	// (-modcache, -cache) or changes (-testcache, -fuzzcache).
	cleans, cleanWrites []string
	// opaque names the call of a step that runs no go hoist can see but
	// may run it (make build, ./build.sh), in a stage that has Go.
	opaque string
	// mounts are the cache mounts the step gets.
	mounts []llbgen.CacheMount
}

// moduleUse is where a module-needing go call runs.
type moduleUse struct {
	dir      string
	goEnv    map[string]string
	download bool // go mod download
	// inLayer: the module cache stays in the layer (the stage is
	// exported, or the build imports a layer cache), so a hoisted download
	// gets no mount of it.
	inLayer bool
}

// opaqueGo is the Go step for a RUN whose call c hoist cannot see into, in
// a stage with Go: it may run go with any subcommand, so it gets both
// caches at the paths the step's env gives, and a download hoisted for it
// goes where its directory says.
func opaqueGo(rs *llbgen.RunStep, c shellscan.Call) *goStep {
	env := llbgen.CloneMap(rs.Env)
	for k, v := range c.Env {
		env[k] = v
	}
	g := &goStep{modules: true, buildCache: true, project: true, opaque: llbgen.CallWords(c), goEnv: map[string]string{}}
	if rs.EnvErr != "" {
		g.why = append(g.why, rs.EnvErr)
	}
	for _, u := range c.Unset {
		switch u {
		case "GOMODCACHE", "GOPATH", "GOCACHE", "HOME", "XDG_CACHE_HOME", "GOFLAGS":
			g.why = append(g.why, "the script changes "+u+" in a way hoist cannot follow")
		}
	}
	mod, build, whyMod, whyBuild := goPaths(env, rs.Acc)
	g.modcache, g.gocache = mod, build
	if whyMod != "" {
		g.why = append(g.why, whyMod)
	}
	if whyBuild != "" {
		g.buildCache = false
	}
	g.dir = goDir(rs, c, GoUse{})
	for k, v := range c.Env {
		if downloadEnv[k] {
			g.goEnv[k] = v
		}
	}
	return g
}

// goPaths returns the module and build cache paths Go would use with env,
// or why a path cannot be known.
func goPaths(env map[string]string, acc llbgen.Account) (modcache, gocache, whyMod, whyBuild string) {
	h, hok := llbgen.Home(env, acc)
	if v := env["GOMODCACHE"]; v != "" {
		modcache = v
	} else if gp := env["GOPATH"]; gp != "" {
		first, _, _ := strings.Cut(gp, ":")
		modcache = path.Join(first, "pkg", "mod")
	} else if hok {
		modcache = path.Join(h, "go", "pkg", "mod")
	} else {
		whyMod = "HOME of user " + acc.Name + " is unknown and GOPATH/GOMODCACHE are unset"
	}
	switch v := env["GOCACHE"]; {
	case v == "off":
		whyBuild = "GOCACHE=off"
	case v != "":
		gocache = v
	case env["XDG_CACHE_HOME"] != "":
		gocache = path.Join(env["XDG_CACHE_HOME"], "go-build")
	case hok:
		gocache = path.Join(h, ".cache", "go-build")
	default:
		whyBuild = "HOME of user " + acc.Name + " is unknown and GOCACHE/XDG_CACHE_HOME are unset"
	}
	if modcache != "" && !path.IsAbs(modcache) {
		modcache, whyMod = "", "module cache path "+modcache+" is not absolute"
	}
	if gocache != "" && !path.IsAbs(gocache) {
		gocache, whyBuild = "", "build cache path "+gocache+" is not absolute"
	}
	return modcache, gocache, whyMod, whyBuild
}

// analyseGo classifies the Go invocations of a RUN.
func analyseGo(rs *llbgen.RunStep) *goStep {
	var g *goStep
	for _, c := range rs.Calls {
		env := llbgen.CloneMap(rs.Env)
		for k, v := range c.Env {
			env[k] = v
		}
		use, ok := ClassifyGo(c, env)
		if !ok {
			continue
		}
		if g == nil {
			g = &goStep{}
			if rs.EnvErr != "" {
				g.why = append(g.why, rs.EnvErr)
			}
		}
		for _, u := range c.Unset {
			switch u {
			case "GOMODCACHE", "GOPATH", "GOCACHE", "HOME", "XDG_CACHE_HOME", "GOFLAGS":
				g.why = append(g.why, "the script changes "+u+" in a way hoist cannot follow")
			}
		}
		if use.Sub == "clean" {
			cl, w := cleanPaths(env, rs.Acc, c.Args)
			g.cleans, g.cleanWrites = append(g.cleans, cl...), append(g.cleanWrites, w...)
		}
		if !use.Modules && !use.BuildCache {
			continue
		}
		mod, build, whyMod, whyBuild := goPaths(env, rs.Acc)
		if use.Vendor {
			g.vendor = true
		}
		if use.Modules && !use.Versioned {
			g.project = true
		}
		if use.Modules && !use.Vendor {
			if g.modcache != "" && mod != g.modcache {
				g.why = append(g.why, "its go commands use different module caches")
			}
			if whyMod != "" {
				g.why = append(g.why, whyMod)
			}
			if !g.modules {
				g.modules = true
				g.modcache = mod
				g.dir = goDir(rs, c, use)
				g.goEnv = map[string]string{}
				for k, v := range c.Env {
					if downloadEnv[k] {
						g.goEnv[k] = v
					}
				}
			}
			if use.Sub == "mod download" {
				g.download = true
			}
			g.addUse(goDir(rs, c, use), c.Env, use.Sub == "mod download")
		}
		if use.BuildCache && whyBuild != "GOCACHE=off" {
			if g.gocache != "" && build != g.gocache {
				g.why = append(g.why, "its go commands use different build caches")
			}
			if whyBuild != "" {
				g.why = append(g.why, whyBuild)
			}
			if !g.buildCache && build != "" {
				g.buildCache = true
				g.gocache = build
			}
		}
	}
	return g
}

func (g *goStep) addUse(dir string, env map[string]string, download bool) {
	for i := range g.uses {
		if g.uses[i].dir == dir {
			g.uses[i].download = g.uses[i].download || download
			return
		}
	}
	u := moduleUse{dir: dir, goEnv: map[string]string{}, download: download}
	for k, v := range env {
		if downloadEnv[k] {
			u.goEnv[k] = v
		}
	}
	g.uses = append(g.uses, u)
}

// goDir is the absolute directory a go call runs in, or "".
func goDir(rs *llbgen.RunStep, c shellscan.Call, use GoUse) string {
	if !c.DirKnown {
		return ""
	}
	d := rs.Workdir
	if c.Dir != "" {
		if path.IsAbs(c.Dir) {
			d = c.Dir
		} else {
			d = path.Join(d, c.Dir)
		}
	}
	if use.Chdir != "" {
		if path.IsAbs(use.Chdir) {
			d = use.Chdir
		} else {
			d = path.Join(d, use.Chdir)
		}
	}
	return path.Clean(d)
}

// goMounts returns the cache mounts of a Go RUN: the module cache when
// mod (the safety engine allowed it), the build cache when build.
func (a *goPass) goMounts(rs *llbgen.RunStep, g *goStep, mod, build bool) []llbgen.CacheMount {
	uid, gid, mode, suffix := llbgen.Ownership(rs.Acc)
	var ms []llbgen.CacheMount
	if mod && g.modules && llbgen.MountablePath(g.modcache) {
		ms = append(ms, llbgen.CacheMount{ID: idGoMod + suffix, Target: g.modcache, Sharing: "shared", UID: uid, GID: gid, Mode: mode})
	}
	if build && g.buildCache && llbgen.MountablePath(g.gocache) {
		ms = append(ms, llbgen.CacheMount{ID: idGoBuild + suffix, Target: g.gocache, Sharing: "shared", UID: uid, GID: gid, Mode: mode})
	}
	return ms
}

// cleanPaths are the caches a go clean with args removes and writes into,
// for the safety engine to decide per cache (llbgen.StepFacts): -modcache
// and -cache remove a cache, -testcache and -fuzzcache write into the
// build cache.
func cleanPaths(env map[string]string, acc llbgen.Account, args []string) (cleans, writes []string) {
	mod, build, _, _ := goPaths(env, acc)
	for _, a := range args {
		switch strings.TrimLeft(a, "-") {
		case "modcache":
			cleans = append(cleans, mod)
		case "cache":
			cleans = append(cleans, build)
		case "testcache", "fuzzcache":
			writes = append(writes, build)
		}
	}
	return cleans, writes
}

// goClean is cleanPaths for a call of a script rs runs: nil unless it is
// a go clean.
func goClean(rs *llbgen.RunStep, c shellscan.Call) (cleans, writes []string) {
	env := llbgen.CloneMap(rs.Env)
	for k, v := range c.Env {
		env[k] = v
	}
	use, ok := ClassifyGo(c, env)
	if !ok || use.Sub != "clean" {
		return nil, nil
	}
	return cleanPaths(env, rs.Acc, c.Args)
}
