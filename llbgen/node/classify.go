package node

import (
	"path"
	"strconv"
	"strings"

	"github.com/hoistbuild/hoist/llbgen/shellscan"
)

// NodeUse says what one Node package-manager invocation does.
type NodeUse struct {
	Manager string // "npm", "yarn", "pnpm", "npx", "corepack"
	Sub     string // "ci", "install", "run", "exec", "fetch", "add", "build", "test", "workspaces focus", ...; "" for bare `yarn`
	Install bool   // installs dependencies into node_modules
	Fetch   bool   // only fills the store/cache (pnpm fetch)
	Frozen  bool   // --frozen-lockfile / --immutable / ci
	Args    []string

	Dir    string // --prefix / --cwd / -C / --dir: where the project is, relative to the call's Dir
	Filter bool   // --filter / --workspace / -w: only part of a workspace is installed
	Via    string // "corepack", "npx" or "node" when run as `corepack yarn ...`, `npx pnpm ...`, `node .yarn/releases/...`
	// Release is the yarn release file run (`node .yarn/releases/yarn-4.9.1.cjs`).
	Release string
	// Global is set for global installs (npm i -g, yarn global add,
	// pnpm add -g): they install tools, not the project's dependencies,
	// so Install is false for them.
	Global bool
	// CacheDir is the package cache/store given on the command line:
	// npm --cache, yarn --cache-folder, pnpm --store-dir.
	CacheDir string
}

// Flags of each manager that take a separate value. Anything else that
// starts with - is boolean, or written --flag=value.
var (
	npmValueFlags = map[string]bool{"--prefix": true, "-C": true, "--cache": true, "--registry": true, "--userconfig": true,
		"--globalconfig": true, "--loglevel": true, "-w": true, "--workspace": true, "--omit": true, "--include": true,
		"--tag": true, "--only": true, "--install-strategy": true, "--script-shell": true, "--location": true,
		"-c": true, "--call": true, "-p": true, "--package": true}
	yarnValueFlags = map[string]bool{"--cwd": true, "--cache-folder": true, "--modules-folder": true, "--mutex": true,
		"--registry": true, "--network-timeout": true, "--network-concurrency": true, "--global-folder": true,
		"--link-folder": true, "--preferred-cache-folder": true, "--use-yarnrc": true, "--https-proxy": true,
		"--proxy": true, "--mode": true}
	pnpmValueFlags = map[string]bool{"-C": true, "--dir": true, "--filter": true, "-F": true, "--filter-prod": true,
		"--store-dir": true, "--virtual-store-dir": true, "--modules-dir": true, "--reporter": true,
		"--loglevel": true, "--workspace-concurrency": true, "--network-concurrency": true,
		"--child-concurrency": true, "--package-import-method": true, "--node-linker": true,
		"--config.node-linker": true, "--lockfile-dir": true, "--registry": true}
)

// ClassifyNode reports whether c runs a Node package manager and what it does.
func ClassifyNode(c shellscan.Call) (NodeUse, bool) {
	if path.Base(c.Name) == "node" && len(c.Args) > 0 && IsYarnRelease(c.Args[0]) {
		inner, _ := ClassifyNode(shellscan.Call{Name: "yarn", Args: c.Args[1:]})
		inner.Via, inner.Release = "node", c.Args[0]
		return inner, true
	}
	if IsYarnRelease(c.Name) {
		inner, _ := ClassifyNode(shellscan.Call{Name: "yarn", Args: c.Args})
		inner.Release = c.Name
		return inner, true
	}
	mgr := path.Base(c.Name)
	switch mgr {
	case "yarnpkg":
		mgr = "yarn"
	case "pnpx":
		mgr = "npx"
	}
	switch mgr {
	case "npm", "yarn", "pnpm", "npx", "corepack":
	default:
		return NodeUse{}, false
	}
	u := NodeUse{Manager: mgr, Args: c.Args}
	switch mgr {
	case "corepack":
		// corepack yarn install / corepack pnpm@9 install / corepack npm ci
		if len(c.Args) > 0 {
			tool, _, _ := strings.Cut(c.Args[0], "@")
			switch tool {
			case "yarn", "pnpm", "npm", "npx", "yarnpkg", "pnpx":
				inner, _ := ClassifyNode(shellscan.Call{Name: tool, Args: c.Args[1:]})
				inner.Via = "corepack"
				return inner, true
			}
		}
		u.Sub = firstOperand(c.Args, nil)
		return u, true
	case "npx":
		// npx pnpm@9 install / npx --yes yarn install
		for i, a := range c.Args {
			if a == "-y" || a == "--yes" || a == "-q" || a == "--quiet" {
				continue
			}
			tool, _, _ := strings.Cut(a, "@")
			if tool == "pnpm" || tool == "yarn" {
				inner, _ := ClassifyNode(shellscan.Call{Name: tool, Args: c.Args[i+1:]})
				inner.Via = "npx"
				return inner, true
			}
			break
		}
		u.Sub = "exec"
		return u, true
	}

	valueFlags := map[string]map[string]bool{"npm": npmValueFlags, "yarn": yarnValueFlags, "pnpm": pnpmValueFlags}[mgr]
	flags := map[string]string{}
	var ops []string
	for i := 0; i < len(c.Args); i++ {
		a := c.Args[i]
		if a == "--" {
			ops = append(ops, c.Args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			ops = append(ops, a)
			if mgr == "yarn" && len(ops) == 1 && a != "install" && a != "add" && a != "workspaces" && a != "workspace" && a != "global" {
				// `yarn build --prod`: the rest belongs to the script.
				ops = append(ops, c.Args[i+1:]...)
				break
			}
			if (mgr == "npm" || mgr == "pnpm") && len(ops) == 1 && isRunLike(a) {
				ops = append(ops, c.Args[i+1:]...)
				break
			}
			continue
		}
		name, val, ok := strings.Cut(a, "=")
		if !ok {
			val = "true"
			if valueFlags[name] && i+1 < len(c.Args) {
				i++
				val = c.Args[i]
			}
		}
		if _, dup := flags[name]; !dup || name == "--filter" || name == "-F" {
			flags[name] = val
		}
	}
	if len(ops) > 0 {
		u.Sub = ops[0]
	}
	for _, k := range []string{"--prefix", "-C", "--cwd", "--dir"} {
		if v, ok := flags[k]; ok {
			u.Dir = v
		}
	}
	for _, k := range []string{"--cache", "--cache-folder", "--store-dir"} {
		if v, ok := flags[k]; ok {
			u.CacheDir = v
		}
	}
	for _, k := range []string{"--filter", "-F", "--filter-prod", "-w", "--workspace"} {
		if _, ok := flags[k]; ok {
			u.Filter = true
		}
	}
	frozen := flags["--frozen-lockfile"] == "true" || flags["--immutable"] == "true"
	u.Global = flags["-g"] == "true" || flags["--global"] == "true" || flags["--location"] == "global"

	switch mgr {
	case "npm":
		switch u.Sub {
		case "ci", "clean-install", "ic", "install-clean", "isntall-clean", "cit", "clean-install-test", "install-ci-test":
			u.Sub, u.Install, u.Frozen = "ci", true, true
		case "install", "i", "in", "ins", "inst", "insta", "instal", "isnt", "isnta", "isntal", "isntall",
			"add", "it", "install-test":
			u.Sub, u.Install = "install", true
		case "update", "up", "upgrade", "udpate":
			u.Sub, u.Install = "update", true
		case "rebuild", "rb":
			u.Sub = "rebuild"
		case "run-script", "run", "rum", "urn":
			u.Sub = "run"
		case "exec", "x":
			u.Sub = "exec"
		case "test", "tst", "t":
			u.Sub = "test"
		}
	case "yarn":
		switch u.Sub {
		case "", "install":
			u.Install = true
		case "add", "up", "upgrade", "remove":
			u.Install = true
		case "global":
			u.Global = true
			if len(ops) > 1 {
				u.Sub += " " + ops[1]
			}
		case "workspaces", "workspace":
			if len(ops) > 1 {
				u.Sub += " " + ops[1]
				u.Install = ops[1] == "focus"
				u.Filter = u.Filter || ops[1] == "focus"
			}
		}
		u.Frozen = frozen
	case "pnpm":
		switch u.Sub {
		case "install", "i":
			u.Sub, u.Install = "install", true
		case "add", "update", "up", "upgrade", "remove", "rm", "uninstall", "deploy", "import":
			u.Install = true
		case "fetch":
			u.Fetch = true
		case "run-script":
			u.Sub = "run"
		}
		u.Frozen = frozen
	}
	if u.Global {
		u.Install = false
	}
	return u, true
}

// IsYarnRelease reports a yarn release file a project commits
// (.yarn/releases/yarn-4.9.1.cjs), which runs that yarn.
func IsYarnRelease(p string) bool {
	base := path.Base(p)
	return strings.HasPrefix(base, "yarn-") && (strings.HasSuffix(base, ".cjs") || strings.HasSuffix(base, ".js")) &&
		strings.Contains(p, ".yarn/releases/")
}

// releaseMajor is the yarn major of a release file name, 0 when unknown.
func releaseMajor(p string) int {
	v, ok := strings.CutPrefix(path.Base(p), "yarn-")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	if err != nil {
		return 0
	}
	return n
}

func isRunLike(sub string) bool {
	switch sub {
	case "run", "run-script", "rum", "urn", "exec", "x", "test", "tst", "t", "dlx", "start":
		return true
	}
	return false
}

func firstOperand(args []string, valueFlags map[string]bool) string {
	for i := 0; i < len(args); i++ {
		if !strings.HasPrefix(args[i], "-") {
			return args[i]
		}
		if valueFlags[args[i]] {
			i++
		}
	}
	return ""
}
