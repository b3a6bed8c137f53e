// Package node is hoist's Node ecosystem: npm, yarn classic and berry,
// pnpm (one packageManager value each), their download caches mounted on
// the install steps, and the install hoisted before the COPY of the
// sources, as far as dependencies' install scripts allow (scripts.go).
// Package llbgen/ecosystems registers it.
package node

import (
	"context"
	"maps"
	"path"
	"strconv"
	"strings"

	"github.com/hoistbuild/hoist/llbgen"
	"github.com/hoistbuild/hoist/llbgen/shellscan"
)

// Ecosystem is Node's package managers (npm, yarn classic, yarn
// berry, pnpm): each install's download cache on its step, and the
// install hoisted before the source COPY.
type Ecosystem struct{}

func (Ecosystem) Name() string                 { return "node" }
func (Ecosystem) Enabled(c llbgen.Config) bool { return c.Node }
func (Ecosystem) Caches() []llbgen.CacheKind {
	ks := make([]llbgen.CacheKind, len(packageManagers))
	for i, m := range packageManagers {
		ks[i] = llbgen.CacheKind{ID: m.cacheID}
	}
	return ks
}

func (Ecosystem) ContextFiles() (files, dirs []string) {
	return []string{
			"**/package.json", "**/package-lock.json", "**/npm-shrinkwrap.json", "**/yarn.lock", "**/pnpm-lock.yaml",
			"**/pnpm-workspace.yaml", "**/.npmrc", "**/.yarnrc", "**/.yarnrc.yml", "**/.pnpmfile.cjs",
			"**/.yarn/releases", "**/.yarn/plugins", "**/.pnp.cjs", "**/.pnp.loader.mjs",
			"**/.yarn/install-state.gz", "**/.yarn/build-state.yml", "**/*.patch",
		},
		[]string{"**/node_modules", "**/.yarn/unplugged"}
}

func (Ecosystem) Tools() []string { return []string{"npm", "npx", "yarn", "pnpm", "corepack"} }

// Knows: a package-manager call other than an install, a fetch, a global
// install or a subcommand of nodeKnownSubs may run a package.json script.
func (Ecosystem) Knows(c shellscan.Call) (known, opaque bool) {
	u, ok := ClassifyNode(c)
	if !ok {
		return false, false
	}
	return true, !u.Install && !u.Fetch && !u.Global && !nodeKnownSubs[u.Sub]
}

// nodeKnownSubs are package-manager subcommands that run no project code.
var nodeKnownSubs = map[string]bool{
	"ci": true, "install": true, "config": true, "cache": true, "set": true, "version": true,
	"store": true, "prune": true, "audit": true, "ls": true, "list": true, "pack": true, "view": true,
	"info": true, "why": true, "bin": true, "root": true, "prefix": true, "ping": true, "doctor": true,
	"login": true, "logout": true, "whoami": true, "fetch": true, "-v": true, "--version": true,
	"plugin": true, "enable": true, "prepare": true, "help": true,
}

func (Ecosystem) QueriesPaths(shellscan.Call) bool { return false }

func (Ecosystem) Offline(env map[string]string, calls []shellscan.Call) string {
	for _, c := range calls {
		if _, ok := ClassifyNode(c); !ok {
			continue
		}
		if llbgen.HasArg(c.Args, "--offline") {
			return "runs " + llbgen.RunWords(c)
		}
		env := llbgen.CloneMap(env)
		maps.Copy(env, c.Env)
		if v, ok := envConfig(env, []string{"npm_config_"}, "offline"); ok && v != "false" && v != "" {
			return "runs " + path.Base(c.Name) + " with npm_config_offline set"
		}
	}
	return ""
}

func (Ecosystem) Start(a *llbgen.Analysis) llbgen.Pass {
	return &nodeRun{Analysis: a, projects: map[string]*nodeProject{}, nodeSteps: map[*llbgen.RunStep]*nodeStep{}}
}

// nodeRun is the Node ecosystem's pass over an analysis; it caches what
// the context says about each project dir.
type nodeRun struct {
	*llbgen.Analysis
	projects  map[string]*nodeProject
	nodeSteps map[*llbgen.RunStep]*nodeStep
	order     []*llbgen.RunStep // the steps of nodeSteps, in order
}

func (a *nodeRun) Analyse(ctx context.Context) error {
	for _, rs := range a.Steps {
		n, err := a.analyseNode(ctx, rs)
		if err != nil {
			return err
		}
		if n == nil {
			continue
		}
		if rs.Off {
			a.Note(llbgen.RuleOff, rs.Line, false, "left alone: # hoist:off")
			continue
		}
		a.nodeSteps[rs] = n
		a.order = append(a.order, rs)
	}
	return nil
}

func (a *nodeRun) Mount() {
	// A step that installs offline reads the cache an earlier step filled:
	// that cache stays in the layers of the whole FROM family.
	type famCache struct {
		root   *llbgen.Stage
		target string
	}
	offline := map[famCache]string{}
	for _, rs := range a.order {
		how := llbgen.OfflineStep(rs)
		if how == "" || !a.FedBefore(rs) {
			continue
		}
		for _, c := range a.nodeSteps[rs].calls {
			if c.mount != nil {
				k := famCache{rs.Stage.Root(), c.mount.Target}
				if _, ok := offline[k]; !ok {
					offline[k] = "line " + strconv.Itoa(rs.Line) + " " + llbgen.OfflineWhy(how)
				}
			}
		}
	}
	for _, rs := range a.order {
		n := a.nodeSteps[rs]
		for _, c := range n.calls {
			if c.mount == nil {
				continue
			}
			if why, ok := offline[famCache{rs.Stage.Root(), c.mount.Target}]; ok {
				c.mount, c.why, c.rule = nil, why, llbgen.RuleKeptInLayer
			}
		}
	}
	for _, rs := range a.order {
		n := a.nodeSteps[rs]
		clean, who := false, "it"
		for _, c := range n.calls {
			clean = clean || cleansCache(c)
		}
		for _, sc := range a.Facts(rs).ScriptCalls {
			// npm cache clean in a script the RUN runs (./slim.sh) or a
			// recipe of its make.
			if use, ok := ClassifyNode(sc.Call); ok && cleansCache(&nodeCall{use: use}) && !clean {
				clean, who = true, sc.Via
			}
		}
		for _, c := range n.calls {
			if clean && c.mount != nil {
				c.mount, c.why, c.rule = nil, who+" cleans, prunes or verifies a package-manager cache, which would change the cache every build on the builder shares", llbgen.RuleCacheDestroyer
			}
			if c.mount != nil {
				if v := a.StepVerdict(rs, llbgen.CacheSpec{What: c.mgr.name + " cache", Target: c.mount.Target}); !v.Ok {
					c.mount, c.why, c.rule = nil, v.Why, v.Rule
				}
			}
			if c.mount != nil && c.mgr == mgrNpm && startRunsNpx(a.StartWords(rs.Stage)) {
				// npx installs what it runs under the npm cache (_npx).
				c.mount, c.why, c.rule = nil, "the image's ENTRYPOINT or CMD runs npx, which runs the packages it installed there; it stays in the image", llbgen.RuleKeptInLayer
			}
			if buildsInStore(c) && !rs.Cmd.PrependShell {
				c.mount, c.why = nil, "hoist can turn pnpm's side-effects cache off only in a shell-form RUN, and "+sideEffectsWhy
			}
			if c.mount != nil && c.pnp {
				if keep := a.pnpKeep(rs, c.mount.Target); keep != "" {
					a.Note(llbgen.RuleKeptInLayer, rs.Line, false, "yarn global cache %s kept in %s: Plug'n'Play loads packages from it at run time and %s", c.mount.Target, llbgen.KeptIn(a.Analysis, rs.Stage), keep)
					c.mount = nil
				}
			}
		}
		seen := map[string]bool{}
		for _, c := range n.calls {
			// A call that needs no cache (yarn run build) has nothing to miss.
			if c.mount == nil && c.why != "" && needsCache(c) && !seen[c.why] {
				seen[c.why] = true
				rule := c.rule
				if rule.Name == "" {
					rule = llbgen.RuleNoCacheMount
				}
				a.Note(rule, rs.Line, false, "no %s cache mount: %s", mgrName(c.mgr, c.use.Manager), c.why)
			}
		}
	}
}

// Hoist hoists the first install of each project in each stage.
func (a *nodeRun) Hoist(ctx context.Context) error {
	type project struct {
		stage *llbgen.Stage
		dir   string
	}
	seen := map[project]int{} // the line of the project's first install
	for _, rs := range a.order {
		n := a.nodeSteps[rs]
		i := firstInstall(n)
		if i < 0 {
			continue
		}
		k := project{rs.Stage, n.calls[i].dir}
		if l := seen[k]; l != 0 {
			a.Note(llbgen.RuleNotHoisted, rs.Line, false, "%s not hoisted: hoist hoists a project's first install in a stage (line %d)", llbgen.RunWords(n.calls[i].call), l)
			continue
		}
		seen[k] = rs.Line
		if err := a.hoistNode(ctx, rs, n, i); err != nil {
			return err
		}
	}
	return nil
}

func (a *nodeRun) Done() []llbgen.StepMounts {
	var out []llbgen.StepMounts
	for _, rs := range a.order {
		n := a.nodeSteps[rs]
		exported := false
		for i, c := range n.calls {
			if i == n.removed || !buildsInStore(c) || c.noSideEffects {
				continue
			}
			switch {
			case exported || a.guardCall(rs, n, i, func(words string) string { return words }):
			case a.PrefixCall(rs, c.call, sideEffectsOff):
				c.noSideEffects = true
			case a.ExportFirst(rs, sideEffectsOff, runsNpm):
				exported = true
				a.Note(llbgen.RuleCacheMount, rs.Line, true, "export %s; added at the start of the RUN: %s", strings.TrimSpace(sideEffectsOff), sideEffectsWhy)
			default:
				c.mount = nil
				a.Note(llbgen.RuleNoCacheMount, rs.Line, false, "no pnpm store mount: hoist cannot add %sto %s where it stands, and %s", sideEffectsOff, llbgen.RunWords(c.call), sideEffectsWhy)
			}
		}
		for _, c := range n.calls {
			if c.noSideEffects && c.mount != nil {
				a.Note(llbgen.RuleCacheMount, rs.Line, true, "%sadded to %s: %s", sideEffectsOff, llbgen.RunWords(c.call), sideEffectsWhy)
				break
			}
		}
		ms := n.mounts()
		if len(ms) == 0 {
			continue
		}
		out = append(out, llbgen.StepMounts{Step: rs, Mounts: ms})
		a.NoteMounts(rs, ms, "", "")
	}
	return out
}

// startRunsNpx reports an ENTRYPOINT or CMD running npx or npm exec.
func startRunsNpx(words []string) bool {
	for i, w := range words {
		switch b := path.Base(w); {
		case b == "npx":
			return true
		case b == "npm" && i+1 < len(words) && (words[i+1] == "exec" || words[i+1] == "x"):
			return true
		}
	}
	return false
}

// sideEffectsWhy says why pnpm's store mounts come with sideEffectsOff.
const sideEffectsWhy = "with a store every build on the builder shares, pnpm would give this image dependencies' files their install scripts built in another image (its side-effects cache) instead of running the scripts"

// runsNpm reports npm and npx, which warn about settings they do not know.
func runsNpm(c shellscan.Call) bool {
	b := path.Base(c.Name)
	return b == "npm" || b == "npx"
}
