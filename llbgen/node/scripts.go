package node

import (
	"context"
	"encoding/json"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hoistbuild/hoist/llbgen"
	"github.com/hoistbuild/hoist/llbgen/shellscan"
	"go.yaml.in/yaml/v3"
)

// projectFreeScripts are dependencies whose install script is known to read
// nothing of the project, so running it before the sources exist gives the
// same files as running it after. Each entry was checked against the
// script the registry serves (esbuild 0.28.2, core-js 3.51.0, es5-ext
// 0.10.64, the latest releases; @tailwindcss/oxide 4.1.13 and 4.1.18,
// sharp 0.34.5, osx-temperature-sensor 1.0.8):
//
//   - esbuild: postinstall "node install.js" reads ESBUILD_BINARY_PATH and its
//     own package.json, resolves the @esbuild/<platform> binary package and
//     links or writes that binary into its own bin/ (a fallback npm install
//     runs in its own npm-install/ dir and is removed after).
//   - core-js, core-js-pure: postinstall prints a banner; it reads only the
//     environment and writes os.tmpdir()/core-js-banners with the same
//     content wherever it runs.
//   - es5-ext: postinstall prints a message when the time zone is Russian;
//     it reads and writes no file.
//   - @tailwindcss/oxide: 4.1.x's postinstall resolves its platform package
//     from its own directory and, when missing, downloads it into its own
//     node_modules; 4.1.18 and later have no install script.
//   - sharp: install "node install/check.js || npm run build" asks
//     pkg-config for a system libvips and, when one is there, builds its
//     own binding against it (system).
//   - osx-temperature-sensor: a binding.gyp of its own sources, and macOS
//     only (system).
//
// The system ones depend on what system packages are installed, so they
// are project-free only while the hoisted install skips no system install
// (inertCall); the others need nothing a system package brings.
var projectFreeScripts = map[string]freeScript{
	"esbuild":                {},
	"core-js":                {},
	"core-js-pure":           {},
	"es5-ext":                {},
	"@tailwindcss/oxide":     {},
	"sharp":                  {system: true},
	"osx-temperature-sensor": {system: true},
}

type freeScript struct{ system bool }

// scriptBlocks says why dependency n's install script keeps the install
// after the COPY, "" when it does not; sys is the line of a system install
// the hoisted install skips (0: none).
func scriptBlocks(n string, sys int) string {
	f, ok := projectFreeScripts[n]
	switch {
	case !ok:
		return "which may read the project"
	case f.system && sys != 0:
		return "which depends on the system packages line " + strconv.Itoa(sys) + " installs"
	}
	return ""
}

// depInstallScript says why a dependency's install script may run during
// the install c, "" when none does or every one is in projectFreeScripts.
// Such a script is opaque: it may read the project (@prisma/client's
// generates from prisma/schema.prisma), so it must run after the source
// COPY, as stock runs it. An install that finds node_modules complete does
// not run it again, so the install cannot be hoisted at all.
//
// A non-frozen install may add what the lockfile lacks: its marks count
// only when the lockfile records the manifests' dependencies as they are.
// Where they do not (or there is no lockfile), npm install writes a new
// one, whose marks the build can check: atBuild then says the install may
// be hoisted with that check (guardNpmScripts), why saying why it needs it.
// yarn's lockfiles carry no marks at all: a yarn install is checked at
// build time from what it installed (yarnScriptsCheck).
func (a *nodeRun) depInstallScript(ctx context.Context, rs *llbgen.RunStep, c *nodeCall, p *nodeProject, members []string, sys int) (why string, atBuild bool, err error) {
	why, err = a.depInstallScriptWhy(ctx, rs, c, p, members, sys)
	if err == nil && why != "" && (c.mgr == mgrYarn || c.mgr == mgrBerry) {
		// The hoisted install checks what it installed (yarnScriptsCheck).
		if s := yarnUncheckable(c, p); s != "" {
			return why + ", and " + s, false, nil
		}
		return why, true, nil
	}
	if err != nil || why == "" || c.mgr != mgrNpm || frozenInstall(c) || len(members) > 0 {
		return why, false, err
	}
	for _, f := range mgrNpm.lockfiles {
		dt, ok, err := a.ReadContext(ctx, path.Join(p.dir, f))
		if err != nil {
			return "", false, err
		}
		if !ok {
			continue
		}
		stale, err := a.npmLockStale(ctx, path.Join(p.dir, f), dt, p, members)
		if err != nil || stale == "" {
			return why, false, err // the lockfile's marks decide
		}
		if named := npmLockScripts(path.Join(p.dir, f), dt, sys); named != "" {
			return named, false, nil
		}
		return why, true, nil
	}
	return why, true, nil
}

func (a *nodeRun) depInstallScriptWhy(ctx context.Context, rs *llbgen.RunStep, c *nodeCall, p *nodeProject, members []string, sys int) (string, error) {
	if scriptsIgnored(c, p) {
		return "", nil
	}
	switch c.mgr {
	case mgrNpm:
		for _, f := range mgrNpm.lockfiles {
			dt, ok, err := a.ReadContext(ctx, path.Join(p.dir, f))
			if err != nil || !ok {
				if err != nil {
					return "", err
				}
				continue
			}
			if !frozenInstall(c) {
				if why, err := a.npmLockStale(ctx, path.Join(p.dir, f), dt, p, members); err != nil || why != "" {
					return why, err
				}
			}
			return npmLockScripts(path.Join(p.dir, f), dt, sys), nil
		}
		return "there is no package-lock.json to tell which dependencies have install scripts", nil
	case mgrPnpm:
		for _, k := range []string{"dangerously-allow-all-builds", "only-built-dependencies", "never-built-dependencies", "allow-builds"} {
			if _, ok := envConfig(c.env, []string{"npm_config_", "pnpm_config_"}, k); ok {
				return "the environment sets " + k + ", which may let dependencies run their install scripts", nil
			}
		}
		f := path.Join(p.dir, "pnpm-lock.yaml")
		dt, ok, err := a.ReadContext(ctx, f)
		if err != nil {
			return "", err
		}
		if !ok {
			return "there is no pnpm-lock.yaml to tell which dependencies have install scripts", nil
		}
		major := a.pnpmMajor(rs, c, p)
		if major < 10 && !frozenInstall(c) {
			return "a non-frozen pnpm install before pnpm 10 may add dependencies whose install scripts " + f + " does not mark", nil
		}
		return pnpmLockScripts(f, dt, p, major, sys), nil
	case mgrYarn:
		return "yarn.lock (yarn 1) does not say which dependencies have install scripts", nil
	case mgrBerry:
		return "yarn.lock does not say which dependencies have install scripts (enableScripts: false in .yarnrc.yml turns them off)", nil
	}
	return "", nil
}

// scriptsIgnored reports whether the install runs no dependency script.
func scriptsIgnored(c *nodeCall, p *nodeProject) bool {
	if c.mgr == mgrBerry {
		if v, ok := envConfig(c.env, []string{"YARN_"}, "ENABLE_SCRIPTS"); ok {
			return v == "false" || v == "0"
		}
		return p.berry["enableScripts"] == false
	}
	if llbgen.HasArg(c.call.Args, "--ignore-scripts") {
		return true
	}
	if v, ok := envConfig(c.env, []string{"npm_config_"}, "ignore-scripts"); ok {
		return v == "true"
	}
	if c.mgr == mgrYarn {
		if v, ok := p.yarnrc["ignore-scripts"]; ok {
			return v == "true"
		}
	}
	return p.npmrc["ignore-scripts"] == "true"
}

// npmLockScripts names the first dependency package-lock.json marks with
// hasInstallScript (the project's and its workspaces' own scripts are
// checked from their package.json).
func npmLockScripts(f string, dt []byte, sys int) string {
	var lock struct {
		Packages map[string]struct {
			HasInstallScript bool     `json:"hasInstallScript"`
			Link             bool     `json:"link"`
			OS               []string `json:"os"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(dt, &lock); err != nil {
		return f + " does not parse, so hoist cannot tell which dependencies have install scripts"
	}
	if lock.Packages == nil {
		return f + " (lockfileVersion 1) does not say which dependencies have install scripts"
	}
	var names []string
	for k, v := range lock.Packages {
		i := strings.LastIndex(k, "node_modules/")
		if i < 0 || v.Link || !v.HasInstallScript || notOnLinux(v.OS) {
			continue
		}
		names = append(names, k[i+len("node_modules/"):])
	}
	return scriptsWhy(f, names, sys)
}

// pnpmLockScripts names the first dependency pnpm-lock.yaml marks with
// requiresBuild (lockfile 5 and 6). Lockfile 9 carries no such mark: pnpm
// 10 builds only onlyBuiltDependencies, older pnpm builds every one.
func pnpmLockScripts(f string, dt []byte, p *nodeProject, major, sys int) string {
	var lock struct {
		LockfileVersion any `yaml:"lockfileVersion"`
		Packages        map[string]struct {
			RequiresBuild bool     `yaml:"requiresBuild"`
			OS            []string `yaml:"os"`
		} `yaml:"packages"`
	}
	if err := yaml.Unmarshal(dt, &lock); err != nil {
		return f + " does not parse, so hoist cannot tell which dependencies have install scripts"
	}
	v := toString(lock.LockfileVersion)
	if lv, _, _ := strings.Cut(v, "."); lv == "" || lv >= "9" || len(lv) > 1 {
		return pnpmBuilt(f, p, major, sys)
	}
	var names []string
	for k, e := range lock.Packages {
		if !e.RequiresBuild || notOnLinux(e.OS) {
			continue
		}
		names = append(names, pnpmKeyName(k))
	}
	return scriptsWhy(f, names, sys)
}

// pnpmMajor is the pnpm major version the call runs: the one it names
// (npx pnpm@10 ...); else the lowest of the one the last pnpm install of
// the stage before it (npm i -g pnpm@10, corepack prepare pnpm@10, in an
// earlier step or earlier in its RUN) and the one packageManager pins, as
// either may be the pnpm found on PATH; 0 when unknown.
func (a *nodeRun) pnpmMajor(rs *llbgen.RunStep, c *nodeCall, p *nodeProject) int {
	if c.call.Name == "npx" || c.call.Name == "corepack" {
		if v, ok := pnpmSpec(c.call.Args); ok {
			return pnpmVersionMajor(v)
		}
	}
	var calls []shellscan.Call // the stage's calls before the install, latest last
	for _, o := range a.Steps {
		if o == rs {
			for _, oc := range o.Calls {
				if llbgen.SameCall(oc, c.call) {
					break
				}
				calls = append(calls, oc)
			}
			break
		}
		if llbgen.IsAncestorOrSelf(o.Stage, rs.Stage) {
			calls = append(calls, o.Calls...)
		}
	}
	major, found := 0, false
	for j := len(calls) - 1; j >= 0 && !found; j-- {
		oc := calls[j]
		u, ok := ClassifyNode(oc)
		if !ok || !(u.Global || u.Manager == "corepack") {
			continue
		}
		v, ok := pnpmSpec(oc.Args)
		if !ok || u.Manager == "corepack" && v == "" {
			// corepack enable pnpm: packageManager's version, or the
			// one this corepack release defaults to.
			continue
		}
		if oc.Dynamic {
			return 0
		}
		major, found = pnpmVersionMajor(v), true
	}
	if p.pkg != nil {
		if v, ok := strings.CutPrefix(p.pkg.PackageManager, "pnpm@"); ok {
			if m := pnpmVersionMajor(v); !found || m < major {
				major, found = m, true
			}
		}
	}
	return major
}

// pnpmSpec finds the version a pnpm or pnpm@<version> argument asks for.
func pnpmSpec(args []string) (string, bool) {
	for _, a := range args {
		if a == "pnpm" {
			return "", true // the latest, for a package manager
		}
		if v, ok := strings.CutPrefix(a, "pnpm@"); ok {
			return v, true
		}
	}
	return "", false
}

// pnpmVersionMajor is the major version of a pnpm version or range. The
// latest tag has named pnpm 10 or later since January 2025.
func pnpmVersionMajor(v string) int {
	if v == "latest" || v == "" {
		return 10
	}
	v = strings.TrimLeft(v, "^~>=v")
	n, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	if err != nil {
		return 0
	}
	return n
}

// pnpmBuilt decides for a lockfile without build marks from the pnpm
// version: pnpm 10 and later run the scripts of onlyBuiltDependencies only.
func pnpmBuilt(f string, p *nodeProject, major, sys int) string {
	if major < 10 {
		return f + " does not say which dependencies have install scripts, and pnpm before 10 (or a version hoist cannot tell) runs them all"
	}
	// Settings elsewhere (.npmrc, the environment) that allow builds are
	// not followed: any of them means "cannot tell".
	for k := range p.npmrc {
		if strings.HasPrefix(k, "only-built-dependencies") || strings.HasPrefix(k, "never-built-dependencies") || strings.HasPrefix(k, "dangerously-allow-all-builds") || strings.HasPrefix(k, "allow-builds") {
			return ".npmrc sets " + k + ", which may let dependencies run their install scripts"
		}
	}
	var names []string
	if p.pkg != nil && p.pkg.Pnpm != nil {
		// neverBuiltDependencies may turn the allow list into a deny list.
		if p.pkg.Pnpm.DangerouslyAllowAllBuilds || p.pkg.Pnpm.OnlyBuiltDependenciesFile != "" || p.pkg.Pnpm.NeverBuiltDependencies != nil {
			return "package.json's pnpm settings may let every dependency run its install script"
		}
		names = append(names, p.pkg.Pnpm.OnlyBuiltDependencies...)
	}
	if ws := p.pnpmWS; ws != nil {
		if ws.DangerouslyAllowAllBuilds || ws.OnlyBuiltDependenciesFile != "" || ws.NeverBuiltDependencies != nil {
			return "pnpm-workspace.yaml's settings may let every dependency run its install script"
		}
		names = append(names, ws.OnlyBuiltDependencies...)
		// pnpm 11: allowBuilds maps a package (or name@version) to
		// true or false; anything but false is taken as allowed.
		for k, v := range ws.AllowBuilds {
			if v != false {
				names = append(names, allowBuildsName(k))
			}
		}
	}
	sort.Strings(names)
	for _, n := range slices.Compact(names) {
		if why := scriptBlocks(n, sys); why != "" {
			return "onlyBuiltDependencies lets dependency " + n + " run its install script, " + why
		}
	}
	return ""
}

// pnpmKeyName is the package name of a pnpm-lock packages key:
// /name@1.0.0, /@scope/name@1.0.0(peer@1) (v6) or /name/1.0.0 (v5).
func pnpmKeyName(k string) string {
	k = strings.TrimPrefix(k, "/")
	k, _, _ = strings.Cut(k, "(")
	if i := strings.LastIndex(k, "@"); i > 0 {
		return k[:i]
	}
	segs := strings.Split(k, "/")
	if strings.HasPrefix(k, "@") && len(segs) > 2 {
		return segs[0] + "/" + segs[1]
	}
	return segs[0]
}

// notOnLinux reports whether a package's os field keeps it off Linux,
// where the build runs: the install skips it (fsevents).
func notOnLinux(os []string) bool {
	if len(os) == 0 {
		return false
	}
	if slices.Contains(os, "!linux") {
		return true
	}
	for _, o := range os {
		if o == "linux" || strings.HasPrefix(o, "!") {
			return false
		}
	}
	return true
}

func scriptsWhy(f string, names []string, sys int) string {
	sort.Strings(names)
	for _, n := range slices.Compact(names) {
		if why := scriptBlocks(n, sys); why != "" {
			return f + " marks dependency " + n + " as having an install script, " + why
		}
	}
	return ""
}

// allowBuildsName is the package name of an allowBuilds key
// (name, @scope/name, name@1.2.3).
func allowBuildsName(k string) string {
	if i := strings.LastIndex(k, "@"); i > 0 {
		return k[:i]
	}
	return k
}

// inertCall reports a command that cannot change what an install that
// runs no install script reads or writes, so the install may be hoisted
// above it: touch of files no package manager reads, and system package
// installs (apt-get, apk) that bring no Node tool, certificate store or TLS
// library. Build tools (python3, make, g++) matter only to install scripts,
// which depInstallScript keeps from any hoisted install. git reports a
// system install of git, which git-hosted dependencies need: the caller
// checks the lockfile for them.
func inertCall(o shellscan.Call) (inert, git bool) {
	if o.Dynamic || o.Opaque || len(o.Unset) > 0 || !o.DirKnown {
		return false, false
	}
	switch path.Base(o.Name) {
	case "touch":
		if len(o.Args) == 0 {
			return false, false
		}
		for _, a := range o.Args {
			if strings.HasPrefix(a, "-") || !inertPath(a) {
				return false, false
			}
		}
		return true, false
	case "rm":
		// The package index a system install leaves.
		paths := 0
		for _, a := range o.Args {
			if a == "-r" || a == "-f" || a == "-rf" || a == "-fr" {
				continue
			}
			if !slices.ContainsFunc([]string{"/var/lib/apt/lists/", "/var/cache/apt/", "/var/cache/apk/"}, func(p string) bool {
				return strings.HasPrefix(a, p) && !strings.Contains(a, "..")
			}) {
				return false, false
			}
			paths++
		}
		return paths > 0, false
	case "apt-get", "apt", "apk":
		inert, git, _, _ := systemCall(o)
		return inert, git
	}
	return false, false
}

// systemCall checks a call of the system package manager (apt-get, apt,
// apk): ok when hoist can follow it; inert when it installs no Node tool,
// certificates or TLS library (tool: the hoisted install needs the call
// run before it); git when it installs git.
func systemCall(o shellscan.Call) (inert, git, tool, ok bool) {
	pkgs, known, ok := llbgen.SystemPackages(o)
	if !ok || !known {
		return false, false, false, ok
	}
	for _, name := range pkgs {
		for _, bad := range []string{"node", "npm", "yarn", "pnpm", "corepack", "ca-cert", "ssl"} {
			if strings.Contains(name, bad) {
				tool = true
			}
		}
		if strings.HasPrefix(name, "git") {
			git = true
		}
	}
	return !tool, git, tool, true
}

// systemTools reports whether calls, up to the one that stops, install a
// Node tool, certificates or a TLS library with the system package
// manager. The hoisted install then runs those system calls first (and
// the updates and index clean-ups around them): it would run without the
// tool otherwise.
func systemTools(calls []shellscan.Call, stop func(shellscan.Call) bool) bool {
	for _, o := range calls {
		if stop != nil && stop(o) {
			return false
		}
		if _, _, tool, ok := systemCall(o); ok && tool {
			return true
		}
	}
	return false
}

// systemStep reports a call of the system package manager, or the removal
// of the package index one leaves, that hoist can follow.
func systemStep(o shellscan.Call) bool {
	if _, _, _, ok := systemCall(o); ok {
		return true
	}
	inert, _ := inertCall(o)
	return inert && path.Base(o.Name) == "rm"
}

// inertPath reports a path no package manager reads or writes during an
// install: no manifest, lockfile or config, nothing in node_modules or
// .yarn.
func inertPath(p string) bool {
	if isNodeManifest(p) || strings.Contains(p, "*") || strings.Contains(p, "..") {
		return false
	}
	base := path.Base(p)
	for _, pre := range []string{".npmrc", ".yarnrc", ".pnpmfile", "pnpm-", "package", ".modules"} {
		if strings.HasPrefix(base, pre) {
			return false
		}
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "node_modules" || seg == ".yarn" || seg == ".pnpm-store" || seg == "patches" {
			return false
		}
	}
	return true
}

// gitDependency names a lockfile entry fetched with git, "" when none.
func (a *nodeRun) gitDependency(ctx context.Context, c *nodeCall, p *nodeProject) (string, error) {
	for _, f := range c.mgr.lockfiles {
		dt, ok, err := a.ReadContext(ctx, path.Join(p.dir, f))
		if err != nil {
			return "", err
		}
		if !ok {
			continue
		}
		s := string(dt)
		for _, mark := range []string{"type: git", "git+", "git://", "git@"} {
			if strings.Contains(s, mark) {
				return path.Join(p.dir, f) + " has a git-hosted dependency (" + mark + ")", nil
			}
		}
		return "", nil
	}
	return "no lockfile says whether a dependency is fetched with git", nil
}

// npmLockStale says why package-lock.json may not list every dependency a
// non-frozen npm install installs: the dependencies it records for the
// project or a workspace member differ from their package.json.
func (a *nodeRun) npmLockStale(ctx context.Context, f string, dt []byte, p *nodeProject, members []string) (string, error) {
	type deps struct {
		Dependencies         map[string]any `json:"dependencies"`
		DevDependencies      map[string]any `json:"devDependencies"`
		OptionalDependencies map[string]any `json:"optionalDependencies"`
	}
	var lock struct {
		Packages map[string]deps `json:"packages"`
	}
	if json.Unmarshal(dt, &lock) != nil || lock.Packages == nil {
		return f + " does not record the project's dependencies (lockfileVersion 1 or unreadable)", nil
	}
	same := func(x, y map[string]any) bool {
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || toString(w) != toString(v) {
				return false
			}
		}
		return true
	}
	dirs := append([]string{p.dir}, members...)
	for _, d := range dirs {
		var m deps
		if d == p.dir {
			m = deps{p.pkg.Dependencies, p.pkg.DevDependencies, p.pkg.OptionalDependencies}
		} else {
			dt, _, err := a.ReadContext(ctx, path.Join(d, "package.json"))
			if err != nil {
				return "", err
			}
			if json.Unmarshal(dt, &m) != nil {
				return path.Join(d, "package.json") + " does not parse", nil
			}
		}
		key := strings.TrimPrefix(strings.TrimPrefix(d, p.dir), "/")
		if p.dir == "." || p.dir == "" {
			key = d
			if d == p.dir {
				key = ""
			}
		}
		l := lock.Packages[key]
		if !same(m.Dependencies, l.Dependencies) || !same(m.DevDependencies, l.DevDependencies) || !same(m.OptionalDependencies, l.OptionalDependencies) {
			return f + " does not record the dependencies " + path.Join(d, "package.json") + " lists, so npm install may add some whose install scripts it does not mark", nil
		}
	}
	return "", nil
}

// tarballFile is the context path of a file: dependency on a package
// tarball (file:vendor/x-1.0.0.tgz), relative to the package dir that
// declares it: the tarball is all the install reads of it, so it is copied
// with the manifests. A tarball missing from the context fails the user's
// install as it fails the hoisted COPY.
func tarballFile(dir, spec string) (string, bool) {
	rel, ok := strings.CutPrefix(spec, "file:")
	if !ok || path.IsAbs(rel) || !(strings.HasSuffix(rel, ".tgz") || strings.HasSuffix(rel, ".tar.gz") || strings.HasSuffix(rel, ".tar")) {
		return "", false
	}
	f := path.Join(dir, rel)
	if f == ".." || strings.HasPrefix(f, "../") || strings.ContainsAny(rel, "*?[") {
		return "", false
	}
	return f, true
}

// depTarballs are the tarballs of a package.json's file: dependencies.
func depTarballs(dir string, p *pkgJSON) []string {
	var out []string
	for _, m := range []map[string]any{p.Dependencies, p.DevDependencies, p.OptionalDependencies, p.Resolutions} {
		for _, v := range m {
			if f, ok := tarballFile(dir, toString(v)); ok {
				out = append(out, f)
			}
		}
	}
	sort.Strings(out)
	return out
}

// imageYarnClassic reports a yarn that can only be the yarn 1 the official
// node images ship: the stage is built on node:<tag>, nothing before the
// call switches yarn (corepack, yarn set version or policies, a global
// install of yarn), and no .yarnrc.yml in the project or above it names a
// release yarn 1 would hand over to.
func (a *nodeRun) imageYarnClassic(ctx context.Context, rs *llbgen.RunStep, c shellscan.Call, proj *nodeProject) (bool, error) {
	if proj == nil {
		return false, nil
	}
	img := rs.Stage.Root().Image
	for _, pre := range []string{"docker.io/library/", "index.docker.io/library/", "library/"} {
		img = strings.TrimPrefix(img, pre)
	}
	name, _, _ := strings.Cut(img, "@")
	name, _, _ = strings.Cut(name, ":")
	if name != "node" {
		return false, nil
	}
	for _, o := range a.Steps {
		if o != rs && !llbgen.IsAncestorOrSelf(o.Stage, rs.Stage) {
			continue
		}
		for _, oc := range o.Calls {
			if o == rs && llbgen.SameCall(oc, c) {
				break
			}
			if switchesYarn(oc) {
				return false, nil
			}
		}
		if o == rs {
			break
		}
	}
	for d := proj.dir; ; d = path.Dir(d) {
		_, ok, err := a.ReadContext(ctx, path.Join(d, ".yarnrc.yml"))
		if err != nil || ok {
			return false, err
		}
		if d == "." || d == "/" || d == "" {
			return true, nil
		}
	}
}

// switchesYarn reports a call that may put another yarn on PATH.
func switchesYarn(c shellscan.Call) bool {
	switch path.Base(c.Name) {
	case "corepack":
		return true
	case "yarn", "yarnpkg":
		return slices.Contains(c.Args, "set") || slices.Contains(c.Args, "policies")
	}
	u, ok := ClassifyNode(c)
	if !ok || !u.Global {
		return false
	}
	return slices.ContainsFunc(c.Args, func(a string) bool {
		return a == "yarn" || strings.HasPrefix(a, "yarn@") || strings.HasPrefix(a, "@yarnpkg/")
	})
}

// guardNpmScripts is the shell the hoisted npm install ends with when its
// lockfile is written at build time: a marker in node_modules when the
// lockfile marks an install script of a dependency not in
// projectFreeScripts (or cannot tell: lockfileVersion 1, no lockfile, node
// failing), so that the user's install reruns from scratch after the
// COPY, as stock runs it. Without node_modules nothing was installed, and
// no marker is needed. NODE_OPTIONS is cleared as for yarnScriptsCheck.
func guardNpmScripts(lock, marker string) string {
	return "{ NODE_OPTIONS= node -e " + llbgen.ShellQuote(npmScriptsJS) + " " + llbgen.ShellQuote(lock) +
		" || [ ! -d " + llbgen.ShellQuote(path.Dir(marker)) + " ] || : > " + llbgen.ShellQuote(marker) + "; }"
}

// npmScriptsJS exits 0 only when the package-lock.json it is given marks
// no dependency outside projectFreeScripts with hasInstallScript (as
// npmLockScripts reads it, links skipped).
var npmScriptsJS = `const l=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")),free=new Set(` + freeNamesJS() + `);` +
	`process.exit(l.packages&&!Object.entries(l.packages).some(([k,v])=>{const i=k.lastIndexOf("node_modules/");` +
	`return i>=0&&!v.link&&v.hasInstallScript&&!free.has(k.slice(i+13))})?0:1)`

// yarnUncheckable says why yarnScriptsCheck cannot see every package a
// yarn install may run a script for, "" when it can: it reads node_modules
// of the project and its workspace members, and berry's default unplugged
// folder.
func yarnUncheckable(c *nodeCall, p *nodeProject) string {
	if c.mgr == mgrYarn {
		for _, a := range c.call.Args {
			if strings.HasPrefix(a, "--modules-folder") || a == "--pnp" {
				return "hoist checks the packages it installed only in node_modules (" + a + ")"
			}
		}
		for k := range p.yarnrc {
			if strings.Contains(k, "modules-folder") || strings.Contains(k, "pnp") {
				return "hoist checks the packages it installed only in node_modules (.yarnrc sets " + k + ")"
			}
		}
		for k := range c.env {
			if l := strings.ToLower(k); strings.Contains(l, "modules_folder") || strings.HasSuffix(l, "_pnp") {
				return "hoist checks the packages it installed only in node_modules (" + k + " is set)"
			}
		}
		return ""
	}
	linker := c.env["YARN_NODE_LINKER"]
	if linker == "" {
		linker = toString(p.berry["nodeLinker"])
	}
	if linker != "" && linker != "pnp" && linker != "node-modules" {
		return "hoist checks the packages it installed only for the pnp and node-modules linkers (nodeLinker: " + linker + ")"
	}
	for _, k := range []string{"pnpUnpluggedFolder", "installStatePath"} {
		if _, ok := p.berry[k]; ok {
			return "hoist checks the packages it installed only where yarn puts them by default (.yarnrc.yml sets " + k + ")"
		}
	}
	for _, k := range []string{"PNP_UNPLUGGED_FOLDER", "INSTALL_STATE_PATH"} {
		if _, ok := envConfig(c.env, []string{"YARN_"}, k); ok {
			return "hoist checks the packages it installed only where yarn puts them by default (YARN_" + k + " is set)"
		}
	}
	return ""
}

// yarnScriptsJS exits 1 when a package installed under the node_modules
// dirs it is given (and, with a non-empty first argument, under
// <entry>/node_modules of each entry of berry's unplugged folder) may run
// an install script that is not one of projectFreeScripts: a package.json
// with preinstall, install or postinstall, or a binding.gyp (for which yarn
// runs node-gyp rebuild). It walks packages as the managers lay them out
// (node_modules/name, node_modules/@scope/name, nested node_modules),
// skipping symlinks (workspace members, whose own node_modules it is given)
// and dot entries (.bin, yarn's state files). Anything it cannot read
// throws, which exits non-zero too. No single quote or backslash: it is
// single-quoted in a Dockerfile line. The system-dependent free scripts
// count as free: an install that skips a system install is not checked
// at build time (hoistNode).
var yarnScriptsJS = `const fs=require("fs"),p=require("path"),free=new Set(` + freeNamesJS() + `);` +
	`const pkg=(d,n)=>{if(free.has(n))return nm(p.join(d,"node_modules"),"");if(fs.existsSync(p.join(d,"binding.gyp")))return 1;let j="{}";` +
	`try{j=fs.readFileSync(p.join(d,"package.json"),"utf8")}catch(e){if(e.code!=="ENOENT")throw e}` +
	`const s=JSON.parse(j).scripts||{};return s.preinstall||s.install||s.postinstall?1:nm(p.join(d,"node_modules"),"")};` +
	`const nm=(d,s)=>{let es;try{es=fs.readdirSync(d,{withFileTypes:true})}catch(e){if(e.code==="ENOENT"||e.code==="ENOTDIR")return 0;throw e}` +
	`for(const e of es){if(!e.isDirectory()||e.name[0]===".")continue;const f=p.join(d,e.name);if(e.name[0]==="@"&&!s?nm(f,e.name):pkg(f,s?s+"/"+e.name:e.name))return 1}return 0};` +
	`const up=d=>{let es;try{es=fs.readdirSync(d,{withFileTypes:true})}catch(e){if(e.code==="ENOENT")return 0;throw e}` +
	`return es.some(e=>e.isDirectory()&&nm(p.join(d,e.name,"node_modules"),""))};` +
	`const [u,...r]=process.argv.slice(1);process.exit(r.some(d=>nm(d,""))||u&&up(u)?1:0)`

// freeNamesJS is the names of projectFreeScripts as a JavaScript array.
func freeNamesJS() string {
	names := slices.Sorted(maps.Keys(projectFreeScripts))
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return "[" + strings.Join(q, ",") + "]"
}

// yarnScriptsCheck is the shell the hoisted yarn install ends with: a
// marker when yarnScriptsJS finds a package that may run an install script
// or cannot tell (node missing or failing), so that the user's install
// reinstalls from scratch after the COPY, as stock runs it. node is there:
// yarn runs on it. NODE_OPTIONS is cleared so that a --require of the
// project's files cannot fail the check.
func yarnScriptsCheck(marker, unplugged string, nodeModules []string) string {
	args := []string{llbgen.ShellQuote(unplugged)}
	for _, d := range nodeModules {
		args = append(args, llbgen.ShellQuote(d))
	}
	return "{ NODE_OPTIONS= node -e " + llbgen.ShellQuote(yarnScriptsJS) + " " + strings.Join(args, " ") +
		" || { mkdir -p " + llbgen.ShellQuote(path.Dir(marker)) + " && : > " + llbgen.ShellQuote(marker) + "; }; }"
}
