package node

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hoistbuild/hoist/llbgen"
	"github.com/hoistbuild/hoist/llbgen/shellscan"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"go.yaml.in/yaml/v3"
)

// nodeCall is one package-manager invocation of a RUN.
type nodeCall struct {
	call  shellscan.Call
	use   NodeUse
	mgr   *packageManager // nil when unknown
	dir   string          // absolute project dir, "" when unknown
	cwd   string          // absolute dir the call runs in (before --prefix and the like)
	env   map[string]string
	mount *llbgen.CacheMount
	why   string      // why it gets no mount
	rule  llbgen.Rule // the rule that decided so, when not RuleNoCacheMount
	pnp   bool        // yarn berry in Plug'n'Play mode
	proj  *nodeProject
	// noSideEffects: the call's words in the rewritten RUN carry
	// sideEffectsOff (pnpm with the shared store).
	noSideEffects bool
}

// sideEffectsOff turns off pnpm's side-effects cache: pnpm keeps a
// dependency's files as its install script left them in the store and,
// next time, imports them instead of running the script. Keyed by
// platform, arch and Node major only, a builder-wide store would give an
// image what a build on another base image (glibc or musl, other system
// libraries) built; stock's store starts empty, so the scripts always run.
// pnpm 10 and older read npm_config_*, pnpm 11 pnpm_config_*.
const sideEffectsOff = "npm_config_side_effects_cache=false pnpm_config_side_effects_cache=false "

// buildsInStore reports a pnpm call whose store mount needs sideEffectsOff:
// any but fetch and store commands may run dependencies' install scripts.
func buildsInStore(c *nodeCall) bool {
	return c.mgr == mgrPnpm && c.mount != nil && !c.use.Fetch && c.use.Sub != "store"
}

// nodeStep is what the Node rule decided for one RUN.
type nodeStep struct {
	calls []*nodeCall
	// removed is the index in calls of an install hoisting made redundant.
	removed int
}

func (n *nodeStep) mounts() []llbgen.CacheMount {
	var ms []llbgen.CacheMount
	seen := map[string]bool{}
	for i, c := range n.calls {
		if i == n.removed || c.mount == nil || seen[c.mount.Target] {
			continue
		}
		seen[c.mount.Target] = true
		ms = append(ms, *c.mount)
	}
	return ms
}

// pkgJSON is the part of package.json that decides installs.
type pkgJSON struct {
	PackageManager       string            `json:"packageManager"`
	Workspaces           json.RawMessage   `json:"workspaces"`
	Scripts              map[string]any    `json:"scripts"`
	Bin                  json.RawMessage   `json:"bin"`
	Directories          map[string]any    `json:"directories"`
	Dependencies         map[string]any    `json:"dependencies"`
	DevDependencies      map[string]any    `json:"devDependencies"`
	OptionalDependencies map[string]any    `json:"optionalDependencies"`
	Overrides            json.RawMessage   `json:"overrides"`
	Resolutions          map[string]any    `json:"resolutions"`
	DependenciesMeta     map[string]any    `json:"dependenciesMeta"`
	Pnpm                 *pnpmPackageField `json:"pnpm"`
}

type pnpmPackageField struct {
	PatchedDependencies       map[string]any `json:"patchedDependencies"`
	Overrides                 map[string]any `json:"overrides"`
	OnlyBuiltDependencies     []string       `json:"onlyBuiltDependencies"`
	DangerouslyAllowAllBuilds bool           `json:"dangerouslyAllowAllBuilds"`
	OnlyBuiltDependenciesFile string         `json:"onlyBuiltDependenciesFile"`
	NeverBuiltDependencies    []string       `json:"neverBuiltDependencies"`
}

// nodeProject is what the build context says about a Node project dir.
type nodeProject struct {
	dir    string // context dir
	pkg    *pkgJSON
	pkgErr string
	has    map[string]bool // which of nodeProjectFiles exist
	npmrc  map[string]string
	yarnrc map[string]string // classic .yarnrc
	berry  map[string]any    // .yarnrc.yml
	pnpmWS *pnpmWorkspace
	lock   string // yarn.lock
	err    string // a config file that does not parse
}

type pnpmWorkspace struct {
	Packages                  []string       `yaml:"packages"`
	StoreDir                  string         `yaml:"storeDir"`
	PatchedDependencies       map[string]any `yaml:"patchedDependencies"`
	OnlyBuiltDependencies     []string       `yaml:"onlyBuiltDependencies"`
	DangerouslyAllowAllBuilds bool           `yaml:"dangerouslyAllowAllBuilds"`
	OnlyBuiltDependenciesFile string         `yaml:"onlyBuiltDependenciesFile"`
	NeverBuiltDependencies    []string       `yaml:"neverBuiltDependencies"`
	AllowBuilds               map[string]any `yaml:"allowBuilds"`
	Overrides                 map[string]any `yaml:"overrides"`
	EnableGlobalVirtualStore  bool           `yaml:"enableGlobalVirtualStore"`
}

// nodeProjectFiles are the files of a project dir an install reads (the
// workspace members' package.json aside).
var nodeProjectFiles = []string{
	"package.json", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml",
	"pnpm-workspace.yaml", ".npmrc", ".yarnrc", ".yarnrc.yml", ".pnpmfile.cjs",
}

// lifecycleScripts run during an install, in the project and in every
// workspace member (npm's order; pnpm runs pnpm:devPreinstall first).
var lifecycleScripts = []string{"preinstall", "install", "postinstall", "prepublish", "preprepare", "prepare",
	"postprepare", "dependencies", "pnpm:devPreinstall"}

// berryLifecycle are the ones yarn berry runs on install: it runs no
// prepare or prepublish of a workspace.
var berryLifecycle = []string{"preinstall", "install", "postinstall"}

func (a *nodeRun) nodeProject(ctx context.Context, dir string) (*nodeProject, error) {
	if p, ok := a.projects[dir]; ok {
		return p, nil
	}
	p := &nodeProject{dir: dir, has: map[string]bool{}}
	for _, f := range nodeProjectFiles {
		dt, ok, err := a.ReadContext(ctx, path.Join(dir, f))
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		p.has[f] = true
		var perr error
		switch f {
		case "package.json":
			p.pkg = &pkgJSON{}
			if perr = json.Unmarshal(dt, p.pkg); perr != nil {
				p.pkg, p.pkgErr = nil, path.Join(dir, f)+" does not parse: "+perr.Error()
				perr = nil
			}
		case ".npmrc":
			p.npmrc = parseIni(dt)
		case ".yarnrc":
			p.yarnrc = parseYarnrc(dt)
		case ".yarnrc.yml":
			p.berry = map[string]any{}
			perr = yaml.Unmarshal(dt, &p.berry)
		case "pnpm-workspace.yaml":
			p.pnpmWS = &pnpmWorkspace{}
			perr = yaml.Unmarshal(dt, p.pnpmWS)
		case "yarn.lock":
			p.lock = string(dt)
		}
		if perr != nil && p.err == "" {
			p.err = path.Join(dir, f) + " does not parse: " + firstLine(perr.Error())
		}
	}
	a.projects[dir] = p
	return p, nil
}

// configPath finds a setting of the project's .npmrc, .yarnrc or
// .yarnrc.yml naming a file or directory of the build context that the
// manifests' COPY (files) does not bring: a CA file, a yarn-path, a
// plugin. yarn berry's .env.yarn counts too. It returns the config file
// and the path.
func (a *nodeRun) configPath(ctx context.Context, p *nodeProject, files []string, sc *llbgen.SourceCopy) (string, string, error) {
	brought := func(f string) bool { return broughtBy(files, f) }
	if p.has[".yarnrc.yml"] {
		f := path.Join(p.dir, ".env.yarn")
		if ok, err := a.InContext(ctx, f); err != nil || ok {
			return ".yarnrc.yml", ".env.yarn", err
		}
	}
	var values []string
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case string:
			values = append(values, t)
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(t)) {
				walk(t[k])
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	for _, cfg := range []struct {
		name string
		m    map[string]string
	}{{".npmrc", p.npmrc}, {".yarnrc", p.yarnrc}} {
		for _, k := range llbgen.SortedEnvKeys(cfg.m) {
			values = append(values[:0], strings.Trim(cfg.m[k], `"'`))
			if f, err := a.pathIn(ctx, values[0], p, sc); err != nil || f != "" && !brought(f) {
				return cfg.name, values[0], err
			}
		}
	}
	values = nil
	walk(map[string]any(p.berry))
	for _, v := range values {
		if f, err := a.pathIn(ctx, v, p, sc); err != nil || f != "" && !brought(f) {
			return ".yarnrc.yml", v, err
		}
	}
	return "", "", nil
}

// broughtBy reports whether the manifests' COPY of files (directories
// with a trailing /) brings the context path f.
func broughtBy(files []string, f string) bool {
	return slices.ContainsFunc(files, func(m string) bool {
		return m == f || strings.HasSuffix(m, "/") && llbgen.Within("/"+f, "/"+strings.TrimSuffix(m, "/"))
	})
}

// pathIn maps a setting's value to the context path it names, relative to
// the project or absolute inside the source COPY's destination, when that
// path exists; "" otherwise.
func (a *nodeRun) pathIn(ctx context.Context, v string, p *nodeProject, sc *llbgen.SourceCopy) (string, error) {
	if v == "" || strings.ContainsAny(v, " \t\n$:{}*") || strings.HasPrefix(v, "~") {
		return "", nil
	}
	var f string
	if path.IsAbs(v) {
		if !llbgen.Within(path.Clean(v), sc.Dest) {
			return "", nil
		}
		f = path.Join(sc.Src, strings.TrimPrefix(path.Clean(v), sc.Dest))
	} else {
		f = path.Join(p.dir, v)
	}
	f = strings.TrimPrefix(path.Clean("/"+f), "/")
	if f == "" || f == "." || f == p.dir {
		return "", nil
	}
	ok, err := a.InContext(ctx, f)
	if err != nil || !ok {
		return "", err
	}
	return f, nil
}

// parentConfig returns a file of the directories above the project dir,
// up to src (the directory the source COPY brings), that npm, yarn, pnpm
// or corepack read when run in dir: settings they look up the tree for,
// and a package.json that may hold the workspace or packageManager.
//
// A package.json above counts only where it may say something to the
// install: a workspace (npm, yarn classic), a packageManager or
// devEngines (corepack looks up the tree for one), pnpm settings; any
// for yarn berry, which takes the topmost project as its root.
func (a *nodeRun) parentConfig(ctx context.Context, mgr *packageManager, src, dir string) (string, error) {
	for d := dir; d != src && d != "." && d != "/"; {
		d = path.Dir(d)
		for _, f := range []string{"package.json", ".npmrc", ".yarnrc", ".yarnrc.yml", "pnpm-workspace.yaml", ".pnpmfile.cjs"} {
			dt, ok, err := a.ReadContext(ctx, path.Join(d, f))
			if err != nil || !ok {
				if err != nil {
					return path.Join(d, f), err
				}
				continue
			}
			if f == "package.json" && mgr != mgrBerry {
				var m map[string]json.RawMessage
				if json.Unmarshal(dt, &m) == nil && m != nil && !slices.ContainsFunc([]string{"workspaces", "packageManager", "devEngines", "pnpm"}, func(k string) bool {
					_, ok := m[k]
					return ok
				}) {
					continue
				}
			}
			return path.Join(d, f), nil
		}
	}
	return "", nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// parseIni reads key=value lines of an .npmrc.
func parseIni(dt []byte) map[string]string {
	m := map[string]string{}
	for l := range strings.SplitSeq(string(dt), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		if k, v, ok := strings.Cut(l, "="); ok {
			m[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return m
}

// parseYarnrc reads `key value` lines of a yarn classic .yarnrc.
func parseYarnrc(dt []byte) map[string]string {
	m := map[string]string{}
	for l := range strings.SplitSeq(string(dt), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		k, v, _ := strings.Cut(l, " ")
		m[strings.Trim(k, `"`)] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return m
}

// berryMajor is the yarn major the project pins, 0 when unknown.
func (p *nodeProject) yarnMajor() int {
	if p.pkg != nil {
		if v, ok := strings.CutPrefix(p.pkg.PackageManager, "yarn@"); ok {
			if n, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0]); err == nil {
				return n
			}
		}
	}
	if yp, ok := p.berry["yarnPath"].(string); ok {
		base := strings.TrimSuffix(path.Base(yp), ".cjs")
		if v, ok := strings.CutPrefix(base, "yarn-"); ok {
			if n, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0]); err == nil {
				return n
			}
		}
	}
	switch {
	case strings.Contains(p.lock[:min(len(p.lock), 512)], "__metadata:"):
		return 2
	case strings.Contains(p.lock[:min(len(p.lock), 512)], "yarn lockfile v1"):
		return 1
	case p.has[".yarnrc.yml"]:
		return 2
	}
	return 0
}

// envConfig looks up a package-manager setting in the environment the way
// npm and pnpm read it: npm_config_<key>, case-insensitively, - as _.
func envConfig(env map[string]string, prefixes []string, key string) (string, bool) {
	key = strings.ReplaceAll(key, "-", "_")
	for _, p := range prefixes {
		want := strings.ToLower(p + key)
		for k, v := range env {
			if strings.ToLower(k) == want {
				return v, true
			}
		}
	}
	return "", false
}

// cacheLocationEnv reports whether the variable k can move a package
// manager's cache or the config naming it. Other npm_config_ settings
// (target_arch, registry, ...) leave the cache where it is.
func cacheLocationEnv(k string) bool {
	if k == "HOME" || strings.HasPrefix(k, "XDG_") || strings.HasPrefix(k, "YARN_") || strings.HasPrefix(k, "PNPM_") {
		return true
	}
	l := strings.ReplaceAll(strings.ToLower(k), "-", "_")
	for _, p := range []string{"npm_config_", "pnpm_config_"} {
		if key, ok := strings.CutPrefix(l, p); ok {
			switch key {
			case "cache", "cache_folder", "store_dir", "userconfig", "globalconfig", "prefix":
				return true
			}
		}
	}
	return false
}

// callFlag returns the value of --name / --name=value in args.
func callFlag(args []string, name string) (string, bool) {
	for i, a := range args {
		if a == "--" {
			break
		}
		if a == name && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// absCache makes a configured cache path absolute, or says why not.
func absCache(p, what string, env map[string]string, acc llbgen.Account) (string, string) {
	if strings.HasPrefix(p, "~/") {
		h, why := homeOr(env, acc, p[2:])
		if why != "" {
			return "", why
		}
		p = h
	}
	if strings.Contains(p, "$") {
		return "", what + " " + p + " uses a variable hoist does not expand"
	}
	if p == "" {
		return "", what + " is empty"
	}
	if !path.IsAbs(p) {
		return "", what + " " + p + " is not absolute"
	}
	return path.Clean(p), ""
}

func homeOr(env map[string]string, acc llbgen.Account, rel ...string) (string, string) {
	h, ok := llbgen.Home(env, acc)
	if !ok {
		return "", "HOME of user " + acc.Name + " is unknown"
	}
	if !path.IsAbs(h) {
		return "", "HOME " + h + " is not absolute"
	}
	return path.Join(append([]string{h}, rel...)...), ""
}

// npmCache is the directory npm keeps its cache (and logs) in.
func npmCache(c *nodeCall, p *nodeProject, acc llbgen.Account) (string, string) {
	if v, ok := callFlag(c.call.Args, "--cache"); ok {
		return absCache(v, "--cache", c.env, acc)
	}
	if v, ok := envConfig(c.env, []string{"npm_config_"}, "cache"); ok {
		return absCache(v, "npm_config_cache", c.env, acc)
	}
	if p != nil && p.npmrc["cache"] != "" {
		return absCache(p.npmrc["cache"], ".npmrc cache", c.env, acc)
	}
	return homeOr(c.env, acc, ".npm")
}

// yarnClassicCache follows yarn 1's getCacheDir: root's home is
// /usr/local/share there, not /root.
func yarnClassicCache(c *nodeCall, p *nodeProject, acc llbgen.Account) (string, string) {
	if v, ok := callFlag(c.call.Args, "--cache-folder"); ok {
		return absCache(v, "--cache-folder", c.env, acc)
	}
	if v := c.env["YARN_CACHE_FOLDER"]; v != "" {
		return absCache(v, "YARN_CACHE_FOLDER", c.env, acc)
	}
	if p != nil && p.yarnrc["cache-folder"] != "" {
		return absCache(p.yarnrc["cache-folder"], ".yarnrc cache-folder", c.env, acc)
	}
	if v := c.env["XDG_CACHE_HOME"]; v != "" {
		return absCache(path.Join(v, "yarn"), "XDG_CACHE_HOME", c.env, acc)
	}
	if !acc.UIDKnown && !acc.NewUser {
		return "", "the uid of user " + acc.Name + " is unknown (yarn puts root's cache elsewhere)"
	}
	if acc.UIDKnown && acc.UID == 0 {
		return "/usr/local/share/.cache/yarn", ""
	}
	return homeOr(c.env, acc, ".cache", "yarn")
}

// projectCache is the context directory of the package cache project p
// keeps for the install c (yarn berry with its global cache off: cacheFolder
// or .yarn/cache; yarn 1's yarn-offline-mirror), "" when it keeps none, or
// why hoist cannot copy it.
func projectCache(c *nodeCall, p *nodeProject) (string, string) {
	var dir, what string
	switch c.mgr {
	case mgrBerry:
		if local, _ := berryLocalCache(c, p); local == "" {
			return "", ""
		}
		dir, what = ".yarn/cache", ".yarn/cache"
		if v := toString(p.berry["cacheFolder"]); v != "" {
			dir, what = v, ".yarnrc.yml cacheFolder "+v
		}
		if v := c.env["YARN_CACHE_FOLDER"]; v != "" {
			dir, what = v, "YARN_CACHE_FOLDER "+v
		}
	case mgrYarn:
		dir = strings.Trim(p.yarnrc["yarn-offline-mirror"], `"'`)
		if dir == "" {
			return "", ""
		}
		what = ".yarnrc yarn-offline-mirror " + dir
	default:
		return "", ""
	}
	clean := path.Clean(dir)
	if path.IsAbs(clean) || clean == "." || strings.HasPrefix(clean, "..") || strings.ContainsAny(clean, "$~*?[") {
		return "", "the project keeps its packages in " + what + ", which hoist does not copy from outside the project"
	}
	return path.Join(p.dir, clean), ""
}

// berryLocalCache says why yarn berry keeps the packages of c in the
// project (enableGlobalCache off, or its default before yarn 4), or why
// that is unknown; both "" when it uses its global cache.
func berryLocalCache(c *nodeCall, p *nodeProject) (local, unknown string) {
	global := ""
	if v := c.env["YARN_ENABLE_GLOBAL_CACHE"]; v != "" {
		global = v
	} else if p != nil {
		if v, ok := p.berry["enableGlobalCache"]; ok {
			global = strings.ToLower(strings.TrimSpace(toString(v)))
		}
	}
	switch global {
	case "true", "1":
	case "false", "0":
		folder := ".yarn/cache"
		if p != nil && toString(p.berry["cacheFolder"]) != "" {
			folder = toString(p.berry["cacheFolder"])
		}
		return "enableGlobalCache is off: the project's " + folder + " is part of the project", ""
	case "":
		major := 0
		if p != nil {
			major = p.yarnMajor()
		}
		if major == 0 {
			return "", "the yarn version is unknown (no packageManager in package.json), so is enableGlobalCache"
		}
		if major < 4 {
			return "yarn " + strconv.Itoa(major) + " keeps its cache in the project (.yarn/cache) unless enableGlobalCache is on", ""
		}
	default:
		return "", "enableGlobalCache is " + global
	}
	return "", ""
}

// berryCache is yarn 2+'s global cache, or why there is none to mount: a
// project-local cache (.yarn/cache) is part of the project, not a cache.
func berryCache(c *nodeCall, p *nodeProject, acc llbgen.Account) (string, string) {
	if local, unknown := berryLocalCache(c, p); local != "" || unknown != "" {
		return "", local + unknown
	}
	folder := ""
	switch {
	case c.env["YARN_GLOBAL_FOLDER"] != "":
		folder = c.env["YARN_GLOBAL_FOLDER"]
	case p != nil && toString(p.berry["globalFolder"]) != "":
		folder = toString(p.berry["globalFolder"])
	case c.env["XDG_DATA_HOME"] != "":
		folder = path.Join(c.env["XDG_DATA_HOME"], "yarn", "berry")
	default:
		h, why := homeOr(c.env, acc, ".yarn", "berry")
		if why != "" {
			return "", why
		}
		folder = h
	}
	f, why := absCache(folder, "the yarn global folder", c.env, acc)
	if why != "" {
		return "", why
	}
	return path.Join(f, "cache"), ""
}

// pnpmStore is the pnpm store dir. Left to itself pnpm puts it under its
// home dir (PNPM_HOME, XDG_DATA_HOME/pnpm, ~/.local/share/pnpm) if it can
// hard-link from the project to that dir; a mount on the store below it
// does not change that, so hoist need not name the store, and must not:
// pnpm 11 and later record a named store in node_modules.
func pnpmStore(c *nodeCall, p *nodeProject, acc llbgen.Account) (dir, why string) {
	if why := globalVirtualStore(c, p); why != "" {
		return "", why
	}
	if v, ok := callFlag(c.call.Args, "--store-dir"); ok {
		return absCache(v, "--store-dir", c.env, acc)
	}
	if v, ok := envConfig(c.env, []string{"npm_config_", "pnpm_config_"}, "store-dir"); ok {
		return absCache(v, "store-dir", c.env, acc)
	}
	if p != nil && p.pnpmWS != nil && p.pnpmWS.StoreDir != "" {
		return absCache(p.pnpmWS.StoreDir, "pnpm-workspace.yaml storeDir", c.env, acc)
	}
	if p != nil && p.npmrc["store-dir"] != "" {
		return absCache(p.npmrc["store-dir"], ".npmrc store-dir", c.env, acc)
	}
	switch {
	case c.env["PNPM_HOME"] != "":
		return absCache(path.Join(c.env["PNPM_HOME"], "store"), "PNPM_HOME", c.env, acc)
	case c.env["XDG_DATA_HOME"] != "":
		return absCache(path.Join(c.env["XDG_DATA_HOME"], "pnpm", "store"), "XDG_DATA_HOME", c.env, acc)
	}
	return homeOr(c.env, acc, ".local", "share", "pnpm", "store")
}

// globalVirtualStore says where pnpm's global virtual store is on
// (enableGlobalVirtualStore, pnpm 10.12 and later): node_modules then holds
// only links into <store>/links, which a mount of the store would leave
// out of the layer. pnpm turns it off itself when CI is set.
func globalVirtualStore(c *nodeCall, p *nodeProject) string {
	if ci, ok := c.env["CI"]; ok && ci != "false" {
		return ""
	}
	const why = ", which links node_modules into the store: the store stays in the layers"
	for _, a := range c.call.Args {
		if a == "--enable-global-virtual-store" || a == "--enable-global-virtual-store=true" {
			return a + why
		}
	}
	if v, ok := envConfig(c.env, []string{"npm_config_", "pnpm_config_"}, "enable-global-virtual-store"); ok && v == "true" {
		return "enable-global-virtual-store=true in the environment" + why
	}
	if p != nil && p.pnpmWS != nil && p.pnpmWS.EnableGlobalVirtualStore {
		return "pnpm-workspace.yaml sets enableGlobalVirtualStore" + why
	}
	if p != nil && p.npmrc["enable-global-virtual-store"] == "true" {
		return ".npmrc sets enable-global-virtual-store" + why
	}
	return ""
}

func toString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// nodeDir is the absolute directory a package manager works in, or "".
func nodeDir(rs *llbgen.RunStep, c shellscan.Call, use NodeUse) string {
	if !c.DirKnown {
		return ""
	}
	d := rs.Workdir
	if c.Dir != "" {
		d = path.Join(d, c.Dir)
		if path.IsAbs(c.Dir) {
			d = c.Dir
		}
	}
	if use.Dir != "" {
		if strings.Contains(use.Dir, "$") {
			return ""
		}
		if path.IsAbs(use.Dir) {
			d = use.Dir
		} else {
			d = path.Join(d, use.Dir)
		}
	}
	return path.Clean(d)
}

// projectInContext maps an absolute dir of the stage to the context dir a
// preceding COPY of this stage, or of a stage it is built on, brought it
// from; "" when none did.
func (a *nodeRun) projectInContext(ctx context.Context, s *llbgen.Stage, rs *llbgen.RunStep, dir string) string {
	// The stages it is built on copied what it starts with.
	end := s.CmdIndex(rs.Cmd)
	for st := s; st != nil; st = st.Parent {
		if st != s {
			end = len(st.Cmds)
		}
		if d, done := a.projectInStage(ctx, st, end, dir); done {
			return d
		}
	}
	return ""
}

// projectInStage is projectInContext's search of the COPYs of stage s
// before command end; done is false when none of them decides.
func (a *nodeRun) projectInStage(ctx context.Context, s *llbgen.Stage, end int, dir string) (string, bool) {
	for i := end - 1; i >= 0; i-- {
		c, ok := s.Cmds[i].(*instructions.CopyCommand)
		if !ok || c.From != "" || len(c.SourceContents) > 0 || len(c.SourcePaths) == 0 {
			continue
		}
		if a.Opt.Context != nil && a.bringsNoManifest(ctx, s, c.SourcePaths) {
			continue // COPY .prettierrc /app/ does not hide the manifests copied before it
		}
		wd, ok := a.WorkdirAt(s, i)
		if !ok {
			return "", true
		}
		dest, err := a.Expand(s, c.DestPath)
		if err != nil {
			return "", true
		}
		if !path.IsAbs(dest) {
			dest = path.Join(wd, dest)
		}
		dest = path.Clean(dest)
		var srcDir string
		for j, sp := range c.SourcePaths {
			src, err := a.Expand(s, sp)
			if err != nil || strings.ContainsAny(src, "*?[") && !(llbgen.MatchesAny(path.Base(src), nodeProjectFiles) && !strings.ContainsAny(path.Dir(src), "*?[")) {
				return "", true
			}
			src = path.Clean(strings.TrimPrefix(path.Clean("/"+src), "/"))
			if src == "" {
				src = "."
			}
			d := src
			if len(c.SourcePaths) > 1 || isManifestName(path.Base(src)) || strings.ContainsAny(src, "*?[") {
				d = path.Dir(src) // files copied into dest
			}
			if j > 0 && d != srcDir {
				return "", true
			}
			srcDir = d
		}
		if !llbgen.Within(dir, dest) {
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(dir, dest), "/")
		return path.Clean(path.Join(srcDir, rel)), true
	}
	return "", false
}

// bringsNoManifest reports COPY sources that are all context paths holding
// no Node manifest (a file such as .prettierrc, or a directory without
// one).
func (a *nodeRun) bringsNoManifest(ctx context.Context, s *llbgen.Stage, srcs []string) bool {
	for _, sp := range srcs {
		src, err := a.Expand(s, sp)
		if err == nil && strings.ContainsAny(src, "*?[") {
			files, ok := a.globFiles(ctx, src)
			if !ok || slices.ContainsFunc(files, isNodeManifest) {
				return false
			}
			continue
		}
		if err != nil || isNodeManifest(src) {
			return false
		}
		src = path.Clean(strings.TrimPrefix(path.Clean("/"+src), "/"))
		if src == "" || src == "." {
			return false
		}
		none, err := a.HoldsNone(ctx, src, isNodeManifest)
		if err != nil || !none {
			return false
		}
	}
	return true
}

// globFiles returns the context files a COPY source pattern matches; ok
// is false when its directory part has a wildcard, the directory cannot be
// listed, or the pattern matches a directory, whose contents a COPY
// spreads into its destination.
func (a *nodeRun) globFiles(ctx context.Context, src string) (files []string, ok bool) {
	if a.Opt.Context == nil {
		return nil, false
	}
	src = strings.TrimPrefix(path.Clean("/"+src), "/")
	dir, base := path.Dir(src), path.Base(src)
	if strings.ContainsAny(dir, "*?[") {
		return nil, false
	}
	names, err := a.Opt.Context.ReadDir(ctx, dir)
	if err != nil {
		return nil, false
	}
	for _, n := range names {
		name, isDir := strings.CutSuffix(n, "/")
		if m, _ := path.Match(base, name); !m {
			continue
		}
		if isDir {
			return nil, false
		}
		files = append(files, path.Join(dir, name))
	}
	return files, true
}

func isManifestName(n string) bool {
	for _, f := range nodeProjectFiles {
		if n == f {
			return true
		}
	}
	return false
}

// analyseNode classifies the package-manager calls of a RUN and picks
// each call's cache mount.
func (a *nodeRun) analyseNode(ctx context.Context, rs *llbgen.RunStep) (*nodeStep, error) {
	var n *nodeStep
	for _, c := range rs.Calls {
		use, ok := ClassifyNode(c)
		if !ok {
			continue
		}
		if n == nil {
			n = &nodeStep{removed: -1}
		}
		nc := &nodeCall{call: c, use: use, env: llbgen.CloneMap(rs.Env)}
		for k, v := range c.Env {
			nc.env[k] = v
		}
		n.calls = append(n.calls, nc)
		nc.dir = nodeDir(rs, c, use)
		nc.cwd = nodeDir(rs, c, NodeUse{})
		var proj *nodeProject
		if nc.dir != "" && a.Opt.Context != nil {
			if cd := a.projectInContext(ctx, rs.Stage, rs, nc.dir); cd != "" {
				p, err := a.nodeProject(ctx, cd)
				if err != nil {
					return nil, err
				}
				proj = p
			}
		}
		nc.proj = proj
		mgr, why, ok := managerOf(use, c.Args, proj)
		if !ok {
			continue // corepack enable/prepare: installs package managers, which the image keeps
		}
		if mgr == nil && use.Manager == "yarn" {
			if ok, err := a.imageYarnClassic(ctx, rs, c, proj); err != nil {
				return nil, err
			} else if ok {
				mgr, why = mgrYarn, ""
			}
		}
		nc.mgr, nc.why = mgr, why
		if c.Dynamic {
			nc.why = "its command line is not static"
		}
		for _, u := range c.Unset {
			if cacheLocationEnv(u) {
				nc.why = "the script changes " + u + " in a way hoist cannot follow"
			}
		}
		if rs.EnvErr != "" {
			nc.why = rs.EnvErr
		}
		if nc.why != "" || !needsCache(nc) {
			continue
		}
		if proj != nil && proj.err != "" {
			nc.why = proj.err
			continue
		}
		target, why := nc.mgr.cacheDir(nc, proj, rs.Acc)
		if nc.mgr == mgrBerry {
			linker := nc.env["YARN_NODE_LINKER"]
			if linker == "" && proj != nil {
				linker = toString(proj.berry["nodeLinker"])
			}
			nc.pnp = linker == "" || linker == "pnp"
		}
		if why == "" && !llbgen.MountablePath(target) {
			why = "cache path " + strconv.Quote(target) + " cannot be written in a --mount flag"
		}
		if why != "" {
			nc.why = why
			continue
		}
		uid, gid, mode, suffix := llbgen.Ownership(rs.Acc)
		m := nc.mgr
		nc.mount = &llbgen.CacheMount{ID: m.cacheID + suffix, Target: target, Sharing: m.sharing, UID: uid, GID: gid, Mode: mode}
	}
	return n, nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// needsCache reports whether a call reads or fills its manager's cache.
func needsCache(c *nodeCall) bool {
	if c.mgr == nil {
		return yarnNeedsCache(c.use)
	}
	return c.mgr.needsCache(c.use)
}

// cleansCache reports a call that empties its cache: a shared mount would
// lose everyone's cache.
func cleansCache(c *nodeCall) bool {
	u := c.use
	switch u.Sub {
	case "cache":
		// clear and rm are npm's aliases of clean; verify prunes and
		// rewrites the cache in place, under other builds' installs.
		return llbgen.HasArg(u.Args, "clean") || llbgen.HasArg(u.Args, "clear") || llbgen.HasArg(u.Args, "rm") || llbgen.HasArg(u.Args, "verify")
	case "store":
		return llbgen.HasArg(u.Args, "prune")
	}
	return false
}

// firstInstall is the index of the call that installs the project's
// dependencies, or -1.
func firstInstall(n *nodeStep) int {
	for i, c := range n.calls {
		if c.use.Install {
			return i
		}
	}
	return -1
}

// pnpKeep says why a Plug'n'Play cache must stay in the image: the stage is
// exported or copied from there, or a later step of the stage, or of one
// built on it, runs code that would load packages from it.
func (a *nodeRun) pnpKeep(rs *llbgen.RunStep, cache string) string {
	if why := a.ExportedAt(rs.Stage, cache); why != "" {
		return why
	}
	if len(rs.Calls) > 1 {
		return "line " + strconv.Itoa(rs.Line) + " runs more than the install"
	}
	after := false
	for _, o := range a.Steps {
		if o == rs {
			after = true
			continue
		}
		if after && llbgen.IsAncestorOrSelf(rs.Stage, o.Stage) {
			return "line " + strconv.Itoa(o.Line) + " runs after the install"
		}
	}
	return ""
}

// nodeEnvMatters are the variables that change what an install does.
func nodeEnvMatters(k string) bool {
	l := strings.ToLower(k)
	for _, p := range []string{"npm_", "node_", "yarn_", "pnpm_", "corepack_", "xdg_"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return k == "HOME" || k == "PATH" || k == "CI"
}

// setupCall reports a call that prepares the package manager without
// reading the project (corepack, global installs, npm config set): a
// hoisted install must run it too. quiet reports calls that change
// nothing an install sees (echo, npm --version).
func setupCall(o shellscan.Call) (setup, quiet bool) {
	for _, w := range o.Writes {
		if !inertPath(w) {
			return false, false // echo > package.json
		}
	}
	switch o.Name {
	case "echo", "printf", "true", ":", "set", "export", "ls", "pwd", "env", "printenv", "which", "id", "whoami", "date":
		return false, true
	}
	if path.Base(o.Name) == "node" && len(o.Args) == 1 && (o.Args[0] == "-v" || o.Args[0] == "--version") {
		return false, true
	}
	u, ok := ClassifyNode(o)
	if !ok || u.Install || u.Release != "" || u.Via == "npx" {
		return false, false
	}
	if llbgen.HasArg(o.Args, "-v") || llbgen.HasArg(o.Args, "--version") || u.Sub == "--version" {
		return false, true
	}
	switch {
	case u.Manager == "corepack" && (u.Sub == "enable" || u.Sub == "prepare" || u.Sub == "install" && (llbgen.HasArg(o.Args, "-g") || llbgen.HasArg(o.Args, "--global"))):
		return true, false
	case u.Global && u.Manager != "corepack":
		return true, false
	case path.Base(o.Name) == "npm" && u.Sub == "config" && len(u.Args) > 1 && u.Args[1] == "set" && !llbgen.HasArg(u.Args, "--location=project"):
		return true, false
	}
	return false, false
}

// installRuns returns the rule for RUNs between the source COPY and the
// install: those of only setup, quiet and inert calls may run there (the
// lines of inert ones go to skipped), and the setup ones are recorded in
// *setup, latest first, to run before the hoisted install.
func (a *nodeRun) installRuns(setup *[]shellscan.Call, skipped *skippedLines) func(o *llbgen.RunStep) bool {
	return func(o *llbgen.RunStep) bool {
		if llbgen.EmptyRun(o) && !o.Off {
			return true
		}
		if n := a.nodeSteps[o]; n != nil && len(o.Calls) == 1 && n.removed == 0 {
			// Another project's install, hoisted above the source COPY
			// already: its RUN is left a comment.
			return true
		}
		if len(o.Calls) == 0 || o.CallErr != nil || o.Off {
			return false
		}
		var calls []shellscan.Call
		system := systemTools(o.Calls, nil)
		for _, c := range o.Calls {
			if system && systemStep(c) {
				calls = append(calls, c)
				continue
			}
			if skipped.inert(c, o.Line) {
				continue
			}
			su, quiet := setupCall(c)
			if !su && !quiet || c.Opaque || c.Dynamic || len(c.Unset) > 0 || !c.DirKnown {
				return false
			}
			if su {
				calls = append(calls, c)
			}
		}
		*setup = append(calls, *setup...)
		return true
	}
}

// hoistNode inserts, before the COPY that brings the project's sources,
// a COPY of its manifests and the install with its cache mount. When the
// user's install is then provably redundant it is dropped from the RUN.
func (a *nodeRun) hoistNode(ctx context.Context, rs *llbgen.RunStep, n *nodeStep, idx int) error {
	c := n.calls[idx]
	notHoisted := func(format string, args ...any) {
		a.Note(llbgen.RuleNotHoisted, rs.Line, false, "install not hoisted: "+format, args...)
	}
	if c.mgr == nil {
		return nil // noted with the mounts
	}
	if c.mount == nil && c.rule.Name != "" && c.why != "" {
		// The safety engine refused the cache: a hoisted install would
		// download everything once more, with nothing to reuse after it.
		notHoisted("its cache gets no mount (%s)", c.rule.Name)
		return nil
	}
	frozen := frozenInstall(c)
	if !frozen && !bareInstall(c) {
		notHoisted("%s changes the dependencies; only an install of what the manifests list can be hoisted", llbgen.RunWords(c.call))
		return nil
	}
	if c.use.Filter {
		notHoisted("it installs only part of a workspace")
		return nil
	}
	if c.call.Dynamic || c.call.Opaque || len(c.call.Unset) > 0 {
		notHoisted("its command line is not static")
		return nil
	}
	if c.dir == "" || c.cwd == "" {
		notHoisted("cannot tell which directory it runs in")
		return nil
	}
	if a.Opt.Context == nil {
		notHoisted("the build context is not available")
		return nil
	}
	split := a.layoutSplit(ctx, rs, c.dir)
	if split == nil && llbgen.ManifestCopyBefore(rs, isNodeManifest, fromElsewhere) {
		return nil // the Dockerfile installs from its manifests already
	}
	var skipped skippedLines
	setup, why := installSetup(rs, c, &skipped)
	if why != "" {
		notHoisted("%s", why)
		return nil
	}
	// ENV and ARG after the source COPY are set on the hoisted install
	// with the values the RUN sees.
	var replay map[string]string
	if rs.EnvErr == "" {
		replay = rs.Env
	}
	var between []shellscan.Call // setup RUNs between the source COPY and the install
	sc, why, err := split, "", error(nil)
	if sc == nil {
		sc, why, err = a.FindSourceCopy(ctx, rs.Stage, rs, c.dir, llbgen.CopyRule{Env: nodeEnvMatters, Harmless: a.installRuns(&between, &skipped), What: "install",
			Manifest: isNodeManifest, Download: llbgen.RunWords(c.call), Replay: replay})
	}
	if err != nil {
		return err
	}
	if sc == nil {
		if why != "" {
			notHoisted("%s", why)
		}
		return nil
	}
	if a.HoistOff(sc.Line) {
		a.Note(llbgen.RuleOff, sc.Line, false, "install not hoisted before this COPY: # hoist:off")
		return nil
	}
	if c.cwd != sc.Workdir && !llbgen.Within(c.dir, c.cwd) {
		// The hoisted install runs before the sources exist: only dirs
		// leading to the project are certain to be there.
		notHoisted("it runs in %s, which may not exist before the source COPY", c.cwd)
		return nil
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(c.dir, sc.Dest), "/")
	ctxDir := path.Clean(path.Join(sc.Src, rel))
	if sc.Src != "." && !llbgen.Within("/"+ctxDir, "/"+sc.Src) || strings.HasPrefix(ctxDir, "..") {
		notHoisted("the project is outside the copied directory")
		return nil
	}
	if f, err := a.parentConfig(ctx, c.mgr, sc.Src, ctxDir); err != nil {
		return err
	} else if f != "" {
		notHoisted("the source COPY brings %s, in a directory above the project, which the package manager reads too (settings, a workspace, packageManager); the hoisted install would run without it", f)
		return nil
	}
	p, err := a.nodeProject(ctx, ctxDir)
	if err != nil {
		return err
	}
	if !p.has["package.json"] && ctxDir == sc.Src && sc.Src != "." {
		notHoisted("the COPY at line %d brings %s, not the project: hoist finds no COPY of the project's manifests and sources it can hoist the install above", sc.Line, sc.Src)
		return nil
	}
	files, members, why, err := a.nodeManifests(ctx, c, p, frozen)
	if err != nil {
		return err
	}
	if why != "" {
		notHoisted("%s", why)
		return nil
	}
	for _, arg := range c.call.Args {
		// npm ci --cafile certs/ca.pem: a path of the project in the
		// install's own words.
		_, v, ok := strings.Cut(arg, "=")
		if !ok {
			v = arg
		}
		abs := path.Join(c.cwd, v)
		if strings.HasPrefix(v, "-") || v == "" || !llbgen.Within(abs, c.dir) || abs == c.dir {
			continue
		}
		f := strings.TrimPrefix(path.Join(ctxDir, strings.TrimPrefix(abs, c.dir)), "./")
		if in, err := a.InContext(ctx, f); err != nil {
			return err
		} else if in && !broughtBy(files, f) {
			notHoisted("its argument %s names a file of the project, which the COPY of the manifests does not bring", v)
			return nil
		}
	}
	if f, name, err := a.configPath(ctx, p, files, sc); err != nil {
		return err
	} else if f != "" {
		notHoisted("%s names %s, which the COPY of the manifests does not bring; the hoisted install would run without it", f, name)
		return nil
	}
	if sc.Pieces != nil {
		if f := uncoveredBy(files, sc.Pieces); f != "" {
			notHoisted("the COPYs before it do not bring %s, which the hoisted install would read", f)
			return nil
		}
	}
	if !frozen {
		// Unlike npm ci, these installs keep a node_modules they find: one
		// the COPY lays over the hoisted one would mix two trees.
		why, err := a.nodeModulesCopied(ctx, p.dir, members)
		if err != nil {
			return err
		}
		if why != "" {
			notHoisted("%s: the COPY would lay it over the hoisted install's", why)
			return nil
		}
	}
	// --ignore-scripts and the like skip the project's scripts too (yarn
	// berry's enableScripts only the dependencies').
	projectScripts := c.mgr == mgrBerry || !scriptsIgnored(c, p)
	if s, err := a.lifecycle(ctx, c.mgr, p.dir, p.pkg, members, projectScripts); err != nil {
		return err
	} else if s != "" {
		notHoisted("%s; the install stays after the COPY, with the cache mount", s)
		return nil
	}
	scriptsWhy, atBuild, err := a.depInstallScript(ctx, rs, c, p, members, skipped.system)
	if err != nil {
		return err
	}
	if s := scriptsWhy; s != "" && !atBuild {
		notHoisted("%s; such a script must run after the source COPY, and an install finding node_modules complete does not run it again: the install stays after the COPY, with the cache mount", s)
		return nil
	}
	if skipped.git != 0 {
		if s, err := a.gitDependency(ctx, c, p); err != nil {
			return err
		} else if s != "" {
			notHoisted("line %d installs git, and %s", skipped.git, s)
			return nil
		}
	}
	if atBuild && skipped.system != 0 {
		// The hoisted install would run a dependency's script (node-gyp,
		// say) without what the system install brings.
		notHoisted("%s, and line %d installs system packages such a script may need", scriptsWhy, skipped.system)
		return nil
	}

	// One COPY per destination directory keeps the layout without --parents.
	byDir := map[string][]string{}
	var dirCopies []string
	for _, f := range files {
		if strings.HasSuffix(f, "/") {
			dirCopies = append(dirCopies, strings.TrimSuffix(f, "/"))
			continue
		}
		byDir[path.Dir(f)] = append(byDir[path.Dir(f)], f)
	}
	dest := func(ctxPath string) string {
		r := strings.TrimPrefix(strings.TrimPrefix(ctxPath, sc.Src), "/")
		if sc.Src == "." {
			r = ctxPath
		}
		return path.Join(sc.Dest, r)
	}
	dirs := make([]string, 0, len(byDir))
	for d := range byDir {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	var lines, names []string
	for _, d := range dirs {
		srcs := byDir[d]
		sort.Strings(srcs)
		args := append(append([]string{"COPY"}, sc.Flags...), srcs...)
		lines = append(lines, strings.Join(append(args, strings.TrimSuffix(dest(d), "/")+"/"), " "))
		for _, f := range srcs {
			names = append(names, relTo(f, ctxDir))
		}
	}
	sort.Strings(dirCopies)
	for _, d := range dirCopies {
		args := append(append([]string{"COPY"}, sc.Flags...), d)
		lines = append(lines, strings.Join(append(args, dest(d)+"/"), " "))
		names = append(names, relTo(d, ctxDir)+"/")
	}

	// The install after the source COPY sees the same manifests, so it is
	// redundant when the COPY cannot bring what the install writes.
	keep, err := a.installOutputsCopied(ctx, c, p, members)
	if err != nil {
		return err
	}
	if keep == "" && a.copiesInto(ctx, rs, sc.Line, c.dir, ctxDir) {
		keep = "another COPY into the project follows the source COPY"
	}
	// A non-frozen install may rewrite the lockfile, which the COPY then
	// brings back: the install in place is needed only when the context's
	// lockfile differs from the one the hoisted install left, kept for the
	// comparison in node_modules and removed by the user's RUN either way.
	lock, marker, guarded := "", "", false
	// With the lockfile written at build time (npm) or what the install
	// wrote (yarn) checked at build time (atBuild), the hoisted install
	// also leaves a marker when it may have run an install script; the
	// user's install then reinstalls from scratch after the COPY.
	scriptsMarker, checkWhat := "", "the lockfile npm install writes"
	if c.mgr != mgrNpm {
		checkWhat = "the packages the install wrote"
	}
	if atBuild && (keep != "" || !rs.Cmd.PrependShell) {
		notHoisted("%s; hoist checks %s only for an install it can guard", scriptsWhy, checkWhat)
		return nil
	}
	if atBuild {
		// The user split the install already, with a few files copied
		// before it: hoisting above those would gain little and, when the
		// check finds an install script, install twice.
		if line, err := a.splitWithFiles(ctx, rs, sc); err != nil {
			return err
		} else if line != 0 {
			notHoisted("the manifests are copied on their own at line %d already, and only files come between, while %s: a hoisted install would run again from scratch after the COPY whenever the check finds one", line, scriptsWhy)
			return nil
		}
	}
	// What the hoisted install wrote and stock's install would write anew
	// (a COPY bringing any of it sets keep).
	var written []string
	if atBuild {
		scriptsMarker = path.Join(c.dir, "node_modules", ".hoist-install-scripts")
		written = append(written, path.Join(c.dir, "node_modules"))
		for _, m := range members {
			written = append(written, path.Join(c.dir, relTo(m, ctxDir), "node_modules"))
		}
		if c.mgr == mgrBerry {
			for _, f := range []string{".pnp.cjs", ".pnp.loader.mjs", ".pnp.data.json", ".yarn/unplugged", ".yarn/install-state.gz", ".yarn/build-state.yml"} {
				written = append(written, path.Join(c.dir, f))
			}
		}
	}
	reinstall := func(words string) string {
		var q []string
		for _, w := range written {
			q = append(q, llbgen.ShellQuote(w))
		}
		return "if [ -e " + llbgen.ShellQuote(scriptsMarker) + " ]; then rm -rf " + strings.Join(q, " ") + " && " + words + "; "
	}
	if !frozen && keep == "" && rs.Cmd.PrependShell {
		lock = path.Join(c.dir, c.mgr.lockfileWritten(p))
		marker = path.Join(c.dir, "node_modules", ".hoist-"+path.Base(lock))
		m, l := llbgen.ShellQuote(marker), llbgen.ShellQuote(lock)
		guarded = a.guardCall(rs, n, idx, func(words string) string {
			g := "if cmp -s " + m + " " + l + "; then rm -f " + m + "; else rm -f " + m + " && " + words + "; fi"
			if scriptsMarker != "" {
				g = reinstall(words) + "el" + g
			}
			return g
		})
	} else if frozen && scriptsMarker != "" {
		// Without the marker the user's install would find everything
		// done, as when it is dropped.
		guarded = a.guardCall(rs, n, idx, func(words string) string { return reinstall(words) + "fi" })
	}
	if atBuild && !guarded {
		notHoisted("%s; hoist checks %s only for an install it can guard", scriptsWhy, checkWhat)
		return nil
	}

	if frozen && scriptsMarker == "" && c.mgr == mgrNpm && c.use.Sub == "ci" {
		// npm ci removes node_modules and installs everything again: kept
		// after the COPY, it would make a cold build install twice and save
		// nothing on a rebuild, where it runs from the cache mount either way.
		why := keep
		if _, ok := a.dropEdits(rs, n, idx); why == "" && !ok {
			why = "hoist can only drop " + cutShape
		}
		if why != "" {
			notHoisted("%s could not be dropped after the COPY (%s), and npm ci removes node_modules first: a cold build would install twice; the install stays after the COPY, with the cache mount", llbgen.RunWords(c.call), why)
			return nil
		}
	}
	run := llbgen.HoistedRun{Flags: append(a.PassFlags(rs), a.userCacheMounts(rs)...), Serves: rs.Line}
	if c.mount != nil {
		run.Mounts = []llbgen.CacheMount{*c.mount}
	}
	cmd := ""
	calls := append(append(between, setup...), c.call)
	if !rs.Cmd.PrependShell {
		// An exec-form RUN may run in an image without a shell: the hoisted
		// install is one exec-form call, with no cd and no variables.
		env := llbgen.CloneMap(c.call.Env)
		for _, k := range sc.Replay {
			if _, ok := env[k]; !ok {
				env[k] = rs.Env[k]
			}
		}
		why := llbgen.ExecFormBlocked(c.cwd, sc.Workdir, env)
		if why == "" && len(calls) > 1 {
			why = "its setup would need a shell"
		}
		if why != "" {
			notHoisted("%s", why)
			return nil
		}
		cmd = llbgen.ExecForm(append([]string{c.call.Name}, c.call.Args...)...)
	} else {
		if c.cwd != sc.Workdir {
			cmd = "cd " + llbgen.ShellQuote(c.cwd) + " && "
		}
		for _, call := range calls {
			env := llbgen.CloneMap(call.Env)
			for _, k := range sc.Replay {
				if _, ok := env[k]; !ok {
					env[k] = rs.Env[k]
				}
			}
			for _, k := range llbgen.SortedEnvKeys(env) {
				cmd += k + "=" + llbgen.ShellQuote(env[k]) + " "
			}
			if call.Line == c.call.Line && llbgen.SameCall(call, c.call) && buildsInStore(c) {
				cmd += sideEffectsOff
			}
			cmd += llbgen.RunWords(call) + " && "
		}
		cmd = strings.TrimSuffix(cmd, " && ")
		if guarded && !frozen {
			cmd += " && { cp " + llbgen.ShellQuote(lock) + " " + llbgen.ShellQuote(marker) + " 2>/dev/null || true; }"
		}
		switch {
		case scriptsMarker != "" && c.mgr == mgrNpm:
			cmd += " && " + guardNpmScripts(lock, scriptsMarker)
		case scriptsMarker != "":
			unplugged := ""
			if c.mgr == mgrBerry {
				unplugged = path.Join(c.dir, ".yarn", "unplugged")
			}
			cmd += " && " + yarnScriptsCheck(scriptsMarker, unplugged, written[:1+len(members)])
		}
	}
	run.Cmd = cmd
	sideEffects := ""
	if strings.Contains(cmd, sideEffectsOff) {
		sideEffects = "; run with " + strings.TrimSpace(sideEffectsOff) + ": " + sideEffectsWhy
	}
	if mc := a.ManifestCopyJustBefore(rs.Stage, sc, isNodeManifest); mc != nil && sc.Manifests == nil && sc.Pieces == nil &&
		mc.Src == sc.Src && mc.Dest == sc.Dest && len(dirCopies) == 0 && llbgen.Uncovered(files, mc.Manifests) == "" {
		// COPY package*.json ./ right before the source COPY: the install
		// goes after it, with no COPY of its own.
		a.Plan.Insert(&llbgen.Insertion{At: llbgen.EndLine(mc.Cmd.Location()), After: true, Run: run})
		a.Note(llbgen.RuleDownloadHoisted, mc.Line, true, "%s added after this COPY of the manifests (for RUN at line %d)%s", llbgen.RunWords(c.call), rs.Line, sideEffects)
	} else {
		a.Plan.Insert(&llbgen.Insertion{At: sc.Line, Copies: lines, Run: run})
		a.Note(llbgen.RuleDownloadHoisted, sc.Line, true, "%s hoisted before this COPY: copies %s first (for RUN at line %d)%s", llbgen.RunWords(c.call), strings.Join(llbgen.Dedupe(names), ", "), rs.Line, sideEffects)
	}

	if !frozen {
		switch {
		case guarded && scriptsMarker != "" && c.mgr == mgrNpm:
			a.Note(llbgen.RuleInstallKept, rs.Line, true, "%s after the COPY runs only when the COPY brings a %s other than the one the hoisted install left, or, from scratch, when that one marks a dependency with an install script (%s)", llbgen.RunWords(c.call), path.Base(lock), scriptsWhy)
		case guarded && scriptsMarker != "":
			a.Note(llbgen.RuleInstallKept, rs.Line, true, "%s after the COPY runs only when the COPY brings a %s other than the one the hoisted install left, or, from scratch, when the hoisted install finds a package it installed with an install script or a binding.gyp (%s does not mark them)", llbgen.RunWords(c.call), path.Base(lock), path.Base(lock))
		case guarded:
			a.Note(llbgen.RuleInstallKept, rs.Line, true, "%s after the COPY runs only when the COPY brings a %s other than the one the hoisted install left", llbgen.RunWords(c.call), path.Base(lock))
		case keep != "":
			a.Note(llbgen.RuleInstallKept, rs.Line, false, "%s kept after the COPY, installing from the cache mount: %s", llbgen.RunWords(c.call), keep)
		default:
			// The install in place rewrites the lockfile as stock's would,
			// finding node_modules complete.
			a.Note(llbgen.RuleInstallKept, rs.Line, false, "%s kept after the COPY, installing from the hoisted node_modules: it may rewrite the lockfile the COPY brings, and hoist can only guard "+cutShape, llbgen.RunWords(c.call))
		}
		return nil
	}
	if scriptsMarker != "" {
		a.Note(llbgen.RuleInstallKept, rs.Line, true, "%s after the COPY runs only, from scratch, when the hoisted install finds a package it installed with an install script or a binding.gyp (%s does not mark them)", llbgen.RunWords(c.call), path.Base(c.mgr.lockfileWritten(p)))
		return nil
	}
	if keep != "" {
		a.Note(llbgen.RuleInstallKept, rs.Line, false, "%s kept after the COPY, installing from the cache mount: %s", llbgen.RunWords(c.call), keep)
		return nil
	}
	if !a.dropCall(rs, n, idx) {
		a.Note(llbgen.RuleInstallKept, rs.Line, false, "%s kept after the COPY, installing from the cache mount: hoist can only drop "+cutShape, llbgen.RunWords(c.call))
		return nil
	}
	a.Note(llbgen.RuleInstallDropped, rs.Line, true, "%s dropped here: the hoisted install already did it with the same manifests, and the COPY cannot bring what it writes", llbgen.RunWords(c.call))
	return nil
}

// userCacheMounts are the RUN's own cache and tmpfs mounts: the hoisted
// install must write where the user's does, or what the mount keeps out
// of the image would land in the hoisted layer.
func (a *nodeRun) userCacheMounts(rs *llbgen.RunStep) []string {
	n := a.Nodes[rs.Line]
	if n == nil {
		return nil
	}
	var out []string
	for _, f := range n.Flags {
		if v, ok := strings.CutPrefix(f, "--mount="); ok {
			for kv := range strings.SplitSeq(v, ",") {
				if kv == "type=cache" || kv == "type=tmpfs" {
					out = append(out, f)
					break
				}
			}
		}
	}
	return out
}

// layoutSplit handles a project copied in pieces before its install: the
// manifests on their own and sources or workspace members each in their
// own COPY (COPY src ./src, COPY package*.json ./, COPY packages/a
// packages/a), in any order. Each piece lands where it is in the context,
// so the manifests can be copied and installed before the first piece that
// brings sources. It returns that piece as the source copy, or nil when
// the pieces are not all plain, or no source piece precedes the install.
func (a *nodeRun) layoutSplit(ctx context.Context, rs *llbgen.RunStep, dir string) *llbgen.SourceCopy {
	s := rs.Stage
	ctxDir := a.projectInContext(ctx, s, rs, dir)
	if ctxDir == "" {
		return nil
	}
	var first *llbgen.SourceCopy
	var pieces []string
	manifests := false
	for i := s.CmdIndex(rs.Cmd) - 1; i >= 0; i-- {
		cmd := s.Cmds[i]
		switch c := cmd.(type) {
		case *instructions.CopyCommand, *instructions.AddCommand:
			ci := llbgen.CopyInfoOf(c)
			if fromElsewhere(cmd, ci) {
				continue
			}
			full, ok := a.layoutCopy(ctx, s, i, ci, ctxDir, dir)
			if !ok || full {
				// A COPY of the whole project is the source copy the
				// usual search finds.
				return nil
			}
			for _, sp := range ci.SourcePaths {
				if src, err := a.Expand(s, sp); err == nil {
					pieces = append(pieces, path.Clean(strings.TrimPrefix(path.Clean("/"+src), "/")))
				}
			}
			if ci.Only(isNodeManifest) {
				manifests = true
				continue
			}
			wd, ok := a.WorkdirAt(s, i)
			if !ok {
				return nil
			}
			first = &llbgen.SourceCopy{Cmd: cmd, Line: llbgen.StartLine(cmd.Location()), Src: ctxDir, Dest: dir, Workdir: wd,
				Flags: llbgen.CopyFlags(ci.Chown, ci.Chmod, ci.Link)}
		case *instructions.WorkdirCommand, *instructions.LabelCommand, *instructions.ExposeCommand:
		default:
			// Anything else (RUN, ENV, USER) ends the pieces: before it,
			// nothing of the project is copied for the install.
			i = 0
		}
	}
	if first == nil || !manifests {
		return nil
	}
	first.Pieces = pieces
	return first
}

// uncoveredBy returns a file (a dir with a trailing /) that none of the
// context paths or patterns brings, "" when all are brought.
func uncoveredBy(files, pieces []string) string {
	for _, f := range files {
		f = strings.TrimSuffix(f, "/")
		if !slices.ContainsFunc(pieces, func(p string) bool {
			ok, _ := path.Match(p, f)
			return ok || p == "." || llbgen.Within("/"+f, "/"+p)
		}) {
			return f
		}
	}
	return ""
}

// layoutCopy reports whether the COPY at index i of s brings context paths
// into the project at dest (context dir ctxDir) where they are in the
// context, and whether it is the whole project.
func (a *nodeRun) layoutCopy(ctx context.Context, s *llbgen.Stage, i int, ci llbgen.CopyInfo, ctxDir, dest string) (full, ok bool) {
	if ci.Parents || ci.Exclude || ci.Remote || len(ci.SourcePaths) == 0 {
		return false, false
	}
	wd, ok := a.WorkdirAt(s, i)
	if !ok {
		return false, false
	}
	d, err := a.Expand(s, ci.DestPath)
	if err != nil {
		return false, false
	}
	intoDir := strings.HasSuffix(d, "/") || d == "." || len(ci.SourcePaths) > 1
	if !path.IsAbs(d) {
		d = path.Join(wd, d)
	}
	d = path.Clean(d)
	for _, sp := range ci.SourcePaths {
		src, err := a.Expand(s, sp)
		if err != nil || strings.ContainsAny(src, "*?[") {
			// package*.json and the like: manifests into the dest dir.
			if err == nil && llbgen.MatchesAny(path.Base(src), nodeProjectFiles) && intoDir &&
				path.Join(dest, relTo(path.Dir(path.Clean(src)), ctxDir)) == d {
				continue
			}
			// tsconfig*.json and the like: files of the context, each
			// where it is in the project.
			if files, ok := a.globFiles(ctx, src); err == nil && ok && len(files) > 0 && intoDir &&
				!slices.ContainsFunc(files, func(f string) bool {
					return ctxDir != "." && !llbgen.Within("/"+f, "/"+ctxDir) || path.Join(dest, relTo(f, ctxDir)) != path.Join(d, path.Base(f))
				}) {
				continue
			}
			return false, false
		}
		src = path.Clean(strings.TrimPrefix(path.Clean("/"+src), "/"))
		if src == "" {
			src = "."
		}
		if src != ctxDir && !llbgen.Within("/"+src, "/"+ctxDir) && ctxDir != "." {
			return false, false
		}
		// A directory's contents land in the destination, a file lands in
		// it when it is a directory. Without the sources at hand, a name
		// with an extension is taken for a file (a wrong guess makes the
		// target differ from where the path is in the context).
		target := d
		base := path.Base(src)
		if file := isManifestName(base) || strings.LastIndex(base, ".") > 0; file && (intoDir || isManifestName(base) && d == dest) {
			target = path.Join(d, base)
		}
		want := path.Join(dest, relTo(src, ctxDir))
		if src == ctxDir {
			want = dest
			full = true
		}
		if target != want {
			return false, false
		}
	}
	return full, true
}

// skippedLines are the lines of inert calls left out of the hoisted
// install: one installing git, one installing system packages.
type skippedLines struct{ git, system int }

// inert reports an inert call (inertCall) of the RUN at line, which the
// hoisted install leaves out, and records the line when it installs git
// or system packages.
func (sk *skippedLines) inert(c shellscan.Call, line int) bool {
	inert, git := inertCall(c)
	if !inert {
		return false
	}
	if git {
		sk.git = line
	}
	if _, _, _, sys := systemCall(c); sys {
		sk.system = line
	}
	return true
}

// installSetup returns the calls before the install in its RUN that the
// hoisted install must run too (corepack enable, npm i -g pnpm, npm config
// set, apk add npm), or why it cannot run without another one. Inert calls
// (inertCall) are left out and their lines recorded in skipped.
func installSetup(rs *llbgen.RunStep, c *nodeCall, skipped *skippedLines) ([]shellscan.Call, string) {
	var setup []shellscan.Call
	system := systemTools(rs.Calls, func(o shellscan.Call) bool { return llbgen.SameCall(o, c.call) })
	for _, o := range rs.Calls {
		if llbgen.SameCall(o, c.call) {
			return setup, ""
		}
		if system && systemStep(o) {
			setup = append(setup, o)
			continue
		}
		if skipped.inert(o, rs.Line) {
			continue
		}
		su, quiet := setupCall(o)
		if quiet {
			continue
		}
		if !su || o.Dynamic || o.Opaque || len(o.Unset) > 0 || o.Dir != c.call.Dir || !o.DirKnown {
			return nil, llbgen.RunWords(o) + " runs before it in the same RUN, and the hoisted install would run without it"
		}
		setup = append(setup, o)
	}
	return setup, ""
}

// frozenInstall reports an install that fails rather than change the
// lockfile: npm ci, --frozen-lockfile, --immutable, and pnpm and yarn berry
// configured so or run on CI, which both detect as ci-info does.
func frozenInstall(c *nodeCall) bool {
	return c.use.Frozen || c.mgr != nil && c.mgr.frozen(c)
}

// onCI is ci-info's test (used by pnpm and yarn berry) without the
// vendor-specific variables.
func onCI(env map[string]string) bool {
	if env["CI"] == "false" {
		return false
	}
	for _, k := range []string{"CI", "BUILD_ID", "BUILD_NUMBER", "CI_APP_ID", "CI_BUILD_ID", "CI_BUILD_NUMBER",
		"CI_NAME", "CONTINUOUS_INTEGRATION", "RUN_ID"} {
		if env[k] != "" {
			return true
		}
	}
	return false
}

// bareInstall reports an install of what the manifests list (npm install,
// yarn, pnpm i), with no packages named on the command line.
func bareInstall(c *nodeCall) bool {
	u := c.use
	if !u.Install || u.Global {
		return false
	}
	if c.mgr == nil || !c.mgr.isInstallSub(u.Sub) {
		return false
	}
	valueFlags := c.mgr.valueFlags
	ops := 0
	for i := 0; i < len(u.Args); i++ {
		a := u.Args[i]
		switch {
		case a == "--":
			return false
		case strings.HasPrefix(a, "-") && a != "-":
			if valueFlags[a] {
				i++
			}
		default:
			ops++
		}
	}
	return ops <= 1 && (ops == 1) == (u.Sub != "")
}

// nodeModulesCopied names a node_modules of the project or a member that
// a COPY of the project may bring: present in the context and not left
// out by .dockerignore.
func (a *nodeRun) nodeModulesCopied(ctx context.Context, dir string, members []string) (string, error) {
	for _, d := range append([]string{dir}, members...) {
		nm := path.Join(d, "node_modules")
		ign, err := a.Opt.Context.Ignored(ctx, nm)
		if err != nil {
			return "", err
		}
		if ign {
			continue
		}
		names, err := a.Opt.Context.ReadDir(ctx, d)
		if err != nil && !isNotExist(err) {
			return "", err
		}
		if slices.Contains(names, "node_modules/") {
			return nm + " is in the build context and not in .dockerignore", nil
		}
	}
	return "", nil
}

// relTo is context path p relative to context dir dir.
func relTo(p, dir string) string {
	if dir == "." {
		return p
	}
	return strings.TrimPrefix(p, dir+"/")
}

// nodeManifests lists the context files the install reads (dirs with a
// trailing /), and the workspace members' context dirs.
func (a *nodeRun) nodeManifests(ctx context.Context, c *nodeCall, p *nodeProject, frozen bool) (files, members []string, why string, err error) {
	if p.err != "" {
		return nil, nil, p.err, nil
	}
	if p.pkgErr != "" {
		return nil, nil, p.pkgErr, nil
	}
	if p.pkg == nil {
		return nil, nil, path.Join(p.dir, "package.json") + " is not in the build context", nil
	}
	lock := false
	for _, f := range c.mgr.lockfiles {
		lock = lock || p.has[f]
	}
	if !lock && frozen {
		return nil, nil, "no " + strings.Join(c.mgr.lockfiles, " or ") + " in " + p.dir, nil
	}
	for _, f := range nodeProjectFiles {
		if p.has[f] {
			files = append(files, path.Join(p.dir, f))
		}
	}
	var patches []string
	if c.mgr == mgrBerry || c.mgr == mgrYarn {
		ps, why := lockPatches(p)
		if why != "" {
			return nil, nil, why, nil
		}
		patches = append(patches, ps...)
	}
	if c.mgr == mgrBerry {
		sub, err := a.Opt.Context.ReadDir(ctx, path.Join(p.dir, ".yarn"))
		if err != nil && !isNotExist(err) {
			return nil, nil, "", err
		}
		for _, d := range sub {
			if d == "releases/" || d == "plugins/" {
				files = append(files, path.Join(p.dir, ".yarn", d)+"/")
			}
		}
	}
	// A package cache the project keeps (yarn berry's .yarn/cache or
	// cacheFolder, yarn 1's offline mirror) is what the install reads its
	// packages from: it goes with the manifests.
	if dir, why := projectCache(c, p); why != "" {
		return nil, nil, why, nil
	} else if dir != "" {
		names, err := a.Opt.Context.ReadDir(ctx, path.Dir(dir))
		if err != nil && !isNotExist(err) {
			return nil, nil, "", err
		}
		if slices.Contains(names, path.Base(dir)+"/") {
			files = append(files, dir+"/")
		}
	}
	var patterns []string
	if c.mgr == mgrPnpm {
		if p.pnpmWS != nil {
			for _, v := range p.pnpmWS.PatchedDependencies {
				patches = append(patches, path.Join(p.dir, toString(v)))
			}
		}
		if p.pkg.Pnpm != nil {
			for _, v := range p.pkg.Pnpm.PatchedDependencies {
				patches = append(patches, path.Join(p.dir, toString(v)))
			}
		}
		if p.pnpmWS != nil {
			// A file with settings only (pnpm 10's onlyBuiltDependencies,
			// overrides) lists no packages: the root is the one project.
			// The hoisted install reads the same file stock's does.
			patterns = p.pnpmWS.Packages
		}
	} else if len(p.pkg.Workspaces) > 0 {
		var list []string
		var obj struct {
			Packages []string `json:"packages"`
		}
		if json.Unmarshal(p.pkg.Workspaces, &list) != nil {
			if err := json.Unmarshal(p.pkg.Workspaces, &obj); err != nil {
				return nil, nil, "the workspaces field of package.json is neither a list nor {packages: [...]}", nil
			}
			list = obj.Packages
		}
		patterns = list
	}
	members, why, err = a.workspaceMembers(ctx, p.dir, patterns)
	if err != nil || why != "" {
		return nil, nil, why, err
	}
	if why := localDeps(p.dir, p.dir, p.pkg); why != "" {
		return nil, nil, why, nil
	}
	if p.pnpmWS != nil {
		if why := localOverrides(p.pnpmWS.Overrides); why != "" {
			return nil, nil, path.Join(p.dir, "pnpm-workspace.yaml") + " overrides " + why, nil
		}
	}
	patches = append(patches, depPatches(p.dir, p.dir, p.pkg)...)
	files = append(files, depTarballs(p.dir, p.pkg)...)
	for _, m := range members {
		dt, _, err := a.ReadContext(ctx, path.Join(m, "package.json"))
		if err != nil {
			return nil, nil, "", err
		}
		var mp pkgJSON
		if err := json.Unmarshal(dt, &mp); err != nil {
			return nil, nil, path.Join(m, "package.json") + " does not parse: " + err.Error(), nil
		}
		if why := localDeps(p.dir, m, &mp); why != "" {
			return nil, nil, why, nil
		}
		patches = append(patches, depPatches(p.dir, m, &mp)...)
		files = append(files, depTarballs(m, &mp)...)
		files = append(files, path.Join(m, "package.json"))
	}
	for _, f := range llbgen.Dedupe(patches) {
		if f == "." || strings.HasPrefix(f, "../") || f == ".." {
			return nil, nil, "patch file " + f + " is outside the build context", nil
		}
		// The frontend reads only *.patch files of the context.
		if !strings.HasSuffix(f, ".patch") {
			return nil, nil, "patch file " + f + " does not end in .patch, so hoist cannot tell whether the context has it", nil
		}
		if _, ok, err := a.ReadContext(ctx, f); err != nil {
			return nil, nil, "", err
		} else if !ok {
			return nil, nil, "patch file " + f + " is not in the build context", nil
		}
		files = append(files, f)
	}
	return files, members, "", nil
}

// depPatches are the patch files a package.json's patch: dependencies and
// resolutions name (yarn), as context paths: ~/ is the project root,
// other paths are relative to the package's dir.
func depPatches(root, dir string, p *pkgJSON) []string {
	var out []string
	for _, m := range []map[string]any{p.Dependencies, p.DevDependencies, p.OptionalDependencies, p.Resolutions} {
		for _, v := range m {
			if f, ok := patchFile(toString(v), root, dir); ok {
				out = append(out, f)
			}
		}
	}
	sort.Strings(out)
	return out
}

// patchFile is the patch file of a patch: locator, as a context path:
// ~/ is the project root, other paths are relative to the workspace that
// declares it (ws). Yarn's own patches have none: optional!builtin<compat/...>
// in yarn 4's lockfiles, ~builtin<compat/...> in yarn 3's.
func patchFile(locator, root, ws string) (string, bool) {
	if !strings.HasPrefix(locator, "patch:") && !strings.Contains(locator, "@patch:") {
		return "", false
	}
	_, src, ok := strings.Cut(locator, "#")
	if !ok {
		return "", false
	}
	src, _, _ = strings.Cut(src, "::")
	if dec, err := url.PathUnescape(src); err == nil {
		src = dec
	}
	src = strings.TrimPrefix(src, "optional!")
	if strings.HasPrefix(src, "builtin<") || strings.HasPrefix(src, "~builtin<") || src == "" {
		return "", false
	}
	if rest, ok := strings.CutPrefix(src, "~/"); ok {
		return path.Join(root, rest), true
	}
	return path.Join(ws, src), true
}

// lockPatches are the patch files yarn.lock's patch: locators name.
func lockPatches(p *nodeProject) ([]string, string) {
	var out []string
	for l := range strings.SplitSeq(p.lock, "\n") {
		t := strings.TrimSpace(l)
		if !strings.HasPrefix(t, "resolution:") || !strings.Contains(t, "patch:") {
			continue
		}
		loc := strings.Trim(strings.TrimSpace(strings.TrimPrefix(t, "resolution:")), `"`)
		ws := p.dir
		if _, q, ok := strings.Cut(loc, "::"); ok {
			vals, err := url.ParseQuery(q)
			if err != nil {
				return nil, "yarn.lock has a patch: locator hoist cannot read: " + loc
			}
			if l := vals.Get("locator"); l != "" {
				i := strings.LastIndex(l, "@workspace:")
				if i < 0 {
					continue // a dependency's own patch comes with its package
				}
				ws = path.Join(p.dir, l[i+len("@workspace:"):])
			}
		}
		if f, ok := patchFile(loc, p.dir, ws); ok {
			out = append(out, f)
		}
	}
	return out, ""
}

// localDeps says why a package's dependencies need more than manifests.
func localDeps(root, dir string, p *pkgJSON) string {
	for _, m := range []map[string]any{p.Dependencies, p.DevDependencies, p.OptionalDependencies, p.Resolutions} {
		for name, v := range m {
			s := toString(v)
			if _, ok := patchFile(s, root, dir); ok {
				continue // its patch file is copied with the manifests
			}
			if _, ok := tarballFile(dir, s); ok {
				continue // so is its tarball
			}
			if localSpec(s) {
				return path.Join(dir, "package.json") + " depends on " + name + "@" + s + ", which needs files besides the manifests"
			}
		}
	}
	var npmOverrides any
	if len(p.Overrides) > 0 && json.Unmarshal(p.Overrides, &npmOverrides) != nil {
		return path.Join(dir, "package.json") + " has overrides hoist cannot read"
	}
	var pnpmOverrides map[string]any
	if p.Pnpm != nil {
		pnpmOverrides = p.Pnpm.Overrides
	}
	for _, o := range []any{npmOverrides, pnpmOverrides} {
		if why := localOverrides(o); why != "" {
			return path.Join(dir, "package.json") + " overrides " + why
		}
	}
	for name, v := range p.DependenciesMeta {
		if m, ok := v.(map[string]any); ok && m["injected"] == true {
			return path.Join(dir, "package.json") + " injects " + name + ", which copies its sources"
		}
	}
	return ""
}

// localSpec reports a dependency spec that installs files of the context:
// a directory, a link, a patch.
func localSpec(s string) bool {
	for _, proto := range []string{"file:", "link:", "portal:", "patch:", "../", "./", "/"} {
		if strings.HasPrefix(s, proto) || strings.Contains(s, "#"+proto) {
			return true
		}
	}
	return false
}

// localOverrides names the first override (npm's nest; pnpm's are flat)
// whose spec installs files of the context, as "name with spec"; "" when
// none does.
func localOverrides(o any) string {
	m, ok := o.(map[string]any)
	if !ok {
		return ""
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		switch v := m[k].(type) {
		case string:
			if localSpec(v) {
				return k + " with " + v + ", which needs files besides the manifests"
			}
		case map[string]any:
			if why := localOverrides(v); why != "" {
				return why
			}
		}
	}
	return ""
}

// lifecycle names the first install-time script of the project or a
// workspace member (when the install runs them: scripts), or a member's
// bin, which the install links and makes executable.
func (a *nodeRun) lifecycle(ctx context.Context, mgr *packageManager, dir string, root *pkgJSON, members []string, scripts bool) (string, error) {
	lifecycle := lifecycleScripts
	if mgr == mgrBerry {
		lifecycle = berryLifecycle
	}
	needsSources := func(d string, p *pkgJSON) (string, error) {
		for _, s := range lifecycle {
			v, ok := p.Scripts[s]
			if !ok || !scripts {
				continue
			}
			if free, err := a.sourceFree(ctx, d, v); err != nil || !free {
				return path.Join(d, "package.json") + " has a " + s + " script (" + scriptText(v) + "), which may need the sources", err
			}
		}
		return "", nil
	}
	if why, err := needsSources(dir, root); why != "" || err != nil {
		return why, err
	}
	for _, m := range members {
		dt, _, err := a.ReadContext(ctx, path.Join(m, "package.json"))
		if err != nil {
			return "", err
		}
		var mp pkgJSON
		if json.Unmarshal(dt, &mp) != nil {
			continue
		}
		if why, err := needsSources(m, &mp); why != "" || err != nil {
			return why, err
		}
		if len(mp.Bin) > 0 || mp.Directories["bin"] != nil {
			return path.Join(m, "package.json") + " has bin entries, which the install links to member sources the COPY brings later", nil
		}
	}
	return "", nil
}

// sourceFree reports a lifecycle script known to read nothing of the
// project, run before the sources as after them. The script runs in sh
// and the same shell analysis reads it: every command it may run must be
// a test or an echo, only-allow (checks which package manager runs the
// install) or husky (husky install), which sets up git hooks only in a git
// work tree: with no .git brought by the COPY it does nothing in either
// place.
func (a *nodeRun) sourceFree(ctx context.Context, dir string, v any) (bool, error) {
	run := &instructions.RunCommand{ShellDependantCmdLine: instructions.ShellDependantCmdLine{CmdLine: []string{toString(v)}, PrependShell: true}}
	calls, err := shellscan.RunCalls(run, nil, nil)
	if err != nil || len(calls) == 0 {
		return false, nil
	}
	husky := false
	for _, c := range calls {
		if c.Opaque || len(c.Writes) > 0 {
			return false, nil
		}
		f := append([]string{path.Base(c.Name)}, c.Args...)
		if f[0] == "npx" {
			f = f[1:]
			if len(f) > 0 && (f[0] == "-y" || f[0] == "--yes") {
				f = f[1:]
			}
		}
		switch {
		case len(f) == 0:
			return false, nil
		case (f[0] == "test" || f[0] == "[") && slices.ContainsFunc(f[1:], isFileTest):
			// test -d .husky && husky: the project's files decide, and
			// the hoisted install runs without them.
			return false, nil
		case f[0] == "test" || f[0] == "[" || f[0] == "echo" || f[0] == "true" || f[0] == ":":
		case len(f) == 2 && f[0] == "only-allow" && slices.Contains([]string{"npm", "pnpm", "yarn", "bun"}, f[1]) && !c.Dynamic:
		case (len(f) == 1 || len(f) == 2 && f[1] == "install") && f[0] == "husky" && !c.Dynamic:
			husky = true
		default:
			return false, nil
		}
	}
	if !husky {
		return true, nil
	}
	for _, d := range []string{".", dir} {
		g := path.Join(d, ".git")
		ign, err := a.Opt.Context.Ignored(ctx, g)
		if err != nil {
			return false, err
		}
		if ign {
			continue
		}
		names, err := a.Opt.Context.ReadDir(ctx, d)
		if err != nil && !isNotExist(err) {
			return false, err
		}
		if slices.Contains(names, ".git/") || slices.Contains(names, ".git") {
			return false, nil
		}
	}
	return true, nil
}

// isFileTest reports a test(1) operator that asks about a file.
func isFileTest(a string) bool {
	return len(a) == 2 && a[0] == '-' && strings.ContainsRune("bcdefghkLOGprsSuwx", rune(a[1]))
}

// scriptText is a package.json script as a note quotes it.
func scriptText(v any) string {
	t := strings.Join(strings.Fields(toString(v)), " ")
	if len(t) > 60 {
		t = t[:57] + "..."
	}
	return strconv.Quote(t)
}

// installOutputsCopied says why the user's install is not redundant after
// the source COPY: it may bring what the install writes, or the install
// makes members' files executable. "" means redundant.
func (a *nodeRun) installOutputsCopied(ctx context.Context, c *nodeCall, p *nodeProject, members []string) (string, error) {
	if why, err := a.nodeModulesCopied(ctx, p.dir, members); err != nil || why != "" {
		return why, err
	}
	var outDirs, outFiles []string
	if c.mgr == mgrBerry && c.pnp {
		outDirs = append(outDirs, path.Join(p.dir, ".yarn", "unplugged"))
	}
	if c.mgr == mgrBerry {
		outFiles = append(outFiles, path.Join(p.dir, ".pnp.cjs"), path.Join(p.dir, ".pnp.loader.mjs"),
			path.Join(p.dir, ".yarn", "install-state.gz"), path.Join(p.dir, ".yarn", "build-state.yml"))
	}
	for _, d := range outDirs {
		ign, err := a.Opt.Context.Ignored(ctx, d)
		if err != nil {
			return "", err
		}
		if ign {
			continue
		}
		names, err := a.Opt.Context.ReadDir(ctx, path.Dir(d))
		if err != nil && !isNotExist(err) {
			return "", err
		}
		if slices.Contains(names, path.Base(d)+"/") {
			return d + " is in the build context and not in .dockerignore", nil
		}
	}
	for _, f := range outFiles {
		_, ok, err := a.ReadContext(ctx, f)
		if err != nil {
			return "", err
		}
		if ok {
			return "the COPY brings " + f + ", which the install rewrites", nil
		}
	}
	return "", nil
}

// cutShape is the install dropCall and guardCall can edit: the Dockerfile
// text is changed line by line.
const cutShape = "an install that starts a shell-form RUN, written in plain words with no comment line among them, and followed by && or ;"

// dropCall removes the install at idx from the RUN when it is the first
// command of a shell-form script, written literally (its words may go on
// over continued lines) and followed by && or ; (on the same line or,
// after a line continuation, the next). A RUN that is only the install
// becomes RUN true.
func (a *nodeRun) dropCall(rs *llbgen.RunStep, n *nodeStep, idx int) bool {
	edits, ok := a.dropEdits(rs, n, idx)
	if !ok {
		return false
	}
	for ln, text := range edits {
		a.Edits.ReplaceLine(ln, text)
	}
	n.removed = idx
	return true
}

// dropEdits are the line edits dropCall makes, by line number.
func (a *nodeRun) dropEdits(rs *llbgen.RunStep, n *nodeStep, idx int) (map[int]string, bool) {
	sp, ok := a.callSpan(rs, n, idx)
	if !ok {
		return nil, false
	}
	ln, line, start, i := sp.line, sp.text, sp.start, sp.end
	edits := func(m map[int]string) map[int]string {
		for l, t := range sp.before {
			m[l] = t
		}
		return m
	}
	rest := line[i:]
	node := a.Nodes[rs.Line]
	single := node != nil && node.EndLine == ln // the script's line ends the RUN
	switch {
	case rest == "" && single && ln == rs.Line && len(sp.before) == 0:
		// The RUN was the install alone: a comment in its place runs no
		// container at all.
		return map[int]string{ln: "# " + strings.TrimSpace(line) + ": done by the install hoisted above"}, true
	case rest == "" && single:
		return edits(map[int]string{ln: line[:start] + "true"}), true
	case strings.HasPrefix(rest, "&&") || strings.HasPrefix(rest, ";") && !strings.HasPrefix(rest, ";;"):
		rest = strings.TrimLeft(strings.TrimPrefix(strings.TrimPrefix(rest, "&&"), ";"), " \t")
		if rest == "" {
			return nil, false
		}
		return edits(map[int]string{ln: line[:start] + rest}), true
	case (rest == "\\" || rest == "`") && !single && ln < len(a.Lines):
		next := strings.TrimSuffix(a.Lines[ln], "\r")
		if _, replaced := a.Edits.Replace[ln+1]; replaced {
			return nil, false
		}
		t := strings.TrimLeft(next, " \t")
		var after string
		switch {
		case strings.HasPrefix(t, "&&"):
			after = t[2:]
		case strings.HasPrefix(t, ";") && !strings.HasPrefix(t, ";;"):
			after = t[1:]
		default:
			return nil, false
		}
		if strings.TrimSpace(after) == "" {
			return nil, false
		}
		return edits(map[int]string{ln: line[:start] + rest, ln + 1: next[:len(next)-len(t)] + strings.TrimLeft(after, " \t")}), true
	}
	return nil, false
}

// callText is where an install is written in the Dockerfile: the last
// line holding its words (number and text), where it starts on that line,
// where what follows it starts, the words as written, and the lines before
// it spans (flags continued on the next line) with its words taken out.
type callText struct {
	line       int
	text       string
	start, end int
	words      string
	before     map[int]string
}

// callSpan finds the install at idx written literally as the first
// command of a shell-form RUN's script, starting on the line the script
// starts.
func (a *nodeRun) callSpan(rs *llbgen.RunStep, n *nodeStep, idx int) (callText, bool) {
	c := n.calls[idx].call
	if !rs.Cmd.PrependShell || len(rs.Cmd.Files) > 0 || c.Line != 1 || c.Heredoc != "" || len(c.Wrappers) > 0 {
		return callText{}, false
	}
	lineNo, line, start, ok := a.ScriptStart(rs)
	if !ok {
		return callText{}, false
	}
	// Setup before the install (corepack enable && pnpm install ...) stays:
	// the install must follow it on the first line, after &&, once.
	lead := 0
	for lead < len(rs.Calls) && !llbgen.SameCall(rs.Calls[lead], c) {
		o := rs.Calls[lead]
		su, quiet := setupCall(o)
		inert, _ := inertCall(o)
		_, _, tool, _ := systemCall(o)
		if !su && !quiet && !inert && !tool || o.Line != 1 || o.Heredoc != "" {
			return callText{}, false
		}
		lead++
	}
	if lead == len(rs.Calls) || idx != firstInstall(n) || len(c.Env) > 0 && (lead > 0 || c.Dir != "") {
		return callText{}, false
	}
	if lead > 0 {
		if c.Dir != "" {
			return callText{}, false
		}
		k := installAfterSetup(line[start:], c)
		if k < 0 {
			return callText{}, false
		}
		start += k + 3
	}
	if c.Dir != "" {
		// RUN cd web && npm ci && ...: the install follows the cd, which
		// stays.
		rest, ok := strings.CutPrefix(line[start:], "cd "+c.Dir)
		t := strings.TrimLeft(rest, " \t")
		if !ok || llbgen.ShellQuote(c.Dir) != c.Dir || len(t) == len(rest) || !strings.HasPrefix(t, "&&") {
			return callText{}, false
		}
		t = strings.TrimLeft(t[2:], " \t")
		start = len(line) - len(t)
	}
	words := append([]string{c.Name}, c.Args...)
	i := start
	if len(c.Env) > 0 {
		// Prefix assignments (npm_config_arch=$TARGETARCH yarn install)
		// belong to the install: every variable it sees from the script.
		seen := 0
		for {
			name, n := prefixAssignment(line[i:])
			if n == 0 {
				break
			}
			if _, ok := c.Env[name]; !ok {
				return callText{}, false
			}
			seen++
			i += n
			for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
				i++
			}
		}
		if seen != len(c.Env) {
			return callText{}, false
		}
	}
	sp := callText{line: lineNo, text: line, start: start}
	var parts []string
	for k, w := range words {
		if rest := line[i:]; (rest == "\\" || rest == "`") && k > 0 {
			// The install's words go on after a line continuation: this
			// line keeps what precedes them and the continuation.
			next, at, ok := a.ContinuedLine(rs, lineNo)
			if !ok {
				return callText{}, false
			}
			if sp.before == nil {
				sp.before = map[int]string{}
			}
			sp.before[lineNo] = line[:sp.start] + rest
			parts = append(parts, strings.TrimRight(line[sp.start:i], " \t"))
			lineNo, line, i = lineNo+1, next, at
			sp.line, sp.text, sp.start = lineNo, line, i
		}
		if llbgen.ShellQuote(w) != w || !strings.HasPrefix(line[i:], w) {
			return callText{}, false
		}
		i += len(w)
		if i < len(line) && line[i] != ' ' && line[i] != '\t' {
			return callText{}, false
		}
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
	}
	sp.end = i
	sp.words = strings.Join(append(parts, strings.TrimRight(line[sp.start:i], " \t")), " ")
	return sp, true
}

// installAfterSetup is where "&& install" starts in line, the install
// following setup on the line the script starts: its words, once, or the
// first of them, once, with the line continued after them. -1 if neither.
func installAfterSetup(line string, c shellscan.Call) int {
	words := append([]string{c.Name}, c.Args...)
	for j := len(words); j > 0; j-- {
		w := "&& " + strings.Join(words[:j], " ")
		k := strings.Index(line, w)
		if k < 0 || strings.Count(line, w) != 1 {
			continue
		}
		if rest := strings.TrimLeft(line[k+len(w):], " \t"); j == len(words) || rest == "\\" || rest == "`" {
			return k
		}
	}
	return -1
}

// guardCall puts the install at idx under a shell condition: guard(words)
// replaces its words, the rest of the RUN stays. Same conditions as
// dropCall; a RUN of only the install is fine.
func (a *nodeRun) guardCall(rs *llbgen.RunStep, n *nodeStep, idx int, guard func(words string) string) bool {
	sp, ok := a.callSpan(rs, n, idx)
	if !ok {
		return false
	}
	ln, line, start, i := sp.line, sp.text, sp.start, sp.end
	rest := line[i:]
	node := a.Nodes[rs.Line]
	single := node != nil && node.EndLine == ln
	switch {
	case rest == "" && single:
	case strings.HasPrefix(rest, "&&") || strings.HasPrefix(rest, ";") && !strings.HasPrefix(rest, ";;"):
	case (rest == "\\" || rest == "`") && !single:
	default:
		return false
	}
	words := sp.words
	if c := n.calls[idx]; buildsInStore(c) {
		words, c.noSideEffects = sideEffectsOff+words, true
	}
	g := guard(words)
	if rest != "" {
		g += " " + rest
	}
	for l, t := range sp.before {
		a.Edits.ReplaceLine(l, t)
	}
	a.Edits.ReplaceLine(ln, line[:start]+g)
	return true
}

// prefixAssignment reads a NAME=value word at the start of s whose value
// is plain text and parameter expansions: the name and the word's length,
// 0 when s starts with none (or with a value quoted or substituted).
func prefixAssignment(s string) (string, int) {
	eq := strings.IndexByte(s, '=')
	if eq <= 0 || !isShellName(s[:eq]) {
		return "", 0
	}
	n := eq + 1
	for n < len(s) && s[n] != ' ' && s[n] != '\t' {
		r := s[n]
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.IndexByte("_./:,@%+-={}", r) >= 0:
		case r == '$' && n+1 < len(s) && s[n+1] != '(':
		default:
			return "", 0
		}
		n++
	}
	return s[:eq], n
}

// isShellName reports a valid shell variable name.
func isShellName(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// maxMembers bounds workspace glob expansion.
const maxMembers = 1000

// workspaceMembers expands workspace patterns (packages/*, apps/**,
// !excluded) relative to root into the member dirs holding a package.json.
func (a *nodeRun) workspaceMembers(ctx context.Context, root string, patterns []string) ([]string, string, error) {
	found := map[string]bool{}
	for _, pat := range patterns {
		neg := strings.HasPrefix(pat, "!")
		pat = strings.TrimPrefix(strings.TrimPrefix(pat, "!"), "./")
		pat = strings.TrimSuffix(pat, "/")
		if pat == "" || path.IsAbs(pat) || strings.HasPrefix(path.Clean(pat), "..") {
			return nil, "workspace pattern " + pat + " points outside the project", nil
		}
		if _, err := path.Match(pat, ""); err != nil {
			return nil, "workspace pattern " + pat + " is malformed", nil
		}
		var dirs []string
		if err := a.globDirs(ctx, root, strings.Split(path.Clean(pat), "/"), &dirs); err != nil {
			return nil, "", err
		}
		if len(dirs) > maxMembers {
			return nil, "more than " + strconv.Itoa(maxMembers) + " workspace members", nil
		}
		for _, d := range dirs {
			if neg {
				delete(found, d)
				continue
			}
			if d == root {
				continue
			}
			if _, ok, err := a.ReadContext(ctx, path.Join(d, "package.json")); err != nil {
				return nil, "", err
			} else if ok {
				found[d] = true
			}
		}
	}
	out := make([]string, 0, len(found))
	for d := range found {
		out = append(out, d)
	}
	sort.Strings(out)
	return out, "", nil
}

// globDirs appends the dirs under dir matching the pattern segments.
func (a *nodeRun) globDirs(ctx context.Context, dir string, segs []string, out *[]string) error {
	if len(*out) > maxMembers {
		return nil
	}
	if len(segs) == 0 {
		*out = append(*out, dir)
		return nil
	}
	seg := segs[0]
	if !strings.ContainsAny(seg, "*?[") {
		return a.globDirs(ctx, path.Join(dir, seg), segs[1:], out)
	}
	names, err := a.Opt.Context.ReadDir(ctx, dir)
	if isNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if seg == "**" {
		if err := a.globDirs(ctx, dir, segs[1:], out); err != nil {
			return err
		}
	}
	for _, n := range names {
		name, isDir := strings.CutSuffix(n, "/")
		if !isDir || name == "node_modules" {
			continue
		}
		sub := path.Join(dir, name)
		if seg == "**" {
			if err := a.globDirs(ctx, sub, segs, out); err != nil {
				return err
			}
			continue
		}
		if ok, _ := path.Match(seg, name); ok {
			if err := a.globDirs(ctx, sub, segs[1:], out); err != nil {
				return err
			}
		}
	}
	return nil
}

// fromElsewhere passes over ADDs, COPY --from and heredocs when looking
// for the COPY of Node manifests.
// splitWithFiles is the line of a COPY of only Node manifests from the
// build context before the source COPY sc, when the COPYs from there to
// the install rs bring only files (tsconfig.json, bin/x), no directory;
// 0 otherwise.
func (a *nodeRun) splitWithFiles(ctx context.Context, rs *llbgen.RunStep, sc *llbgen.SourceCopy) (int, error) {
	s := rs.Stage
	start := -1
	for i := s.CmdIndex(sc.Cmd) - 1; i >= 0; i-- {
		c := s.Cmds[i]
		if ci := llbgen.CopyInfoOf(c); !fromElsewhere(c, ci) && ci.Only(isNodeManifest) {
			start = i
			break
		}
	}
	if start < 0 {
		return 0, nil
	}
	for i := start + 1; i < s.CmdIndex(rs.Cmd); i++ {
		c := s.Cmds[i]
		ci := llbgen.CopyInfoOf(c)
		if len(ci.SourcePaths) == 0 {
			continue
		}
		if fromElsewhere(c, ci) || ci.Only(isNodeManifest) {
			continue
		}
		for _, sp := range ci.SourcePaths {
			src, err := a.Expand(s, sp)
			if err != nil || strings.ContainsAny(src, "*?[") {
				return 0, nil
			}
			src = path.Clean(strings.TrimPrefix(path.Clean("/"+src), "/"))
			if src == "." || src == "" {
				return 0, nil
			}
			names, err := a.Opt.Context.ReadDir(ctx, path.Dir(src))
			if err != nil && !isNotExist(err) {
				return 0, err
			}
			if !slices.Contains(names, path.Base(src)) {
				return 0, nil // a directory, or not there to tell
			}
		}
	}
	return llbgen.StartLine(s.Cmds[start].Location()), nil
}

func fromElsewhere(cmd instructions.Command, ci llbgen.CopyInfo) bool {
	_, add := cmd.(*instructions.AddCommand)
	return add || ci.From != "" || len(ci.SourceContents) > 0
}

func isNodeManifest(src string) bool {
	return llbgen.MatchesAny(path.Base(src), nodeProjectFiles) || strings.Contains(src, ".yarn/") || path.Base(src) == ".yarn" || strings.HasSuffix(src, ".patch") ||
		strings.HasSuffix(src, ".tgz") || strings.HasSuffix(src, ".tar.gz") // file: dependencies' tarballs
}

// copiesInto reports a COPY or ADD between the source COPY at line from and
// rs whose destination is inside dir, other than one bringing context paths
// of the project (context dir ctxDir) where they are in the context.
func (a *nodeRun) copiesInto(ctx context.Context, rs *llbgen.RunStep, from int, dir, ctxDir string) bool {
	s := rs.Stage
	for i, cmd := range s.Cmds {
		l := llbgen.StartLine(cmd.Location())
		if l <= from || l >= rs.Line {
			continue
		}
		if ci := llbgen.CopyInfoOf(cmd); ci.SourcePaths != nil && !fromElsewhere(cmd, ci) {
			if _, ok := a.layoutCopy(ctx, s, i, ci, ctxDir, dir); ok {
				continue
			}
		}
		var dest string
		switch c := cmd.(type) {
		case *instructions.CopyCommand:
			dest = c.DestPath
		case *instructions.AddCommand:
			dest = c.DestPath
		default:
			continue
		}
		wd, ok := a.WorkdirAt(s, i)
		d, err := a.Expand(s, dest)
		if !ok || err != nil {
			return true
		}
		if !path.IsAbs(d) {
			d = path.Join(wd, d)
		}
		if llbgen.Within(path.Clean(d), dir) || llbgen.Within(dir, path.Clean(d)) {
			return true
		}
	}
	return false
}
