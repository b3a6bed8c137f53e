package llbgen

import (
	"path"
	"strconv"
	"strings"

	"github.com/hoistbuild/hoist/llbgen/shellscan"
)

// GoUse says what one go invocation needs.
type GoUse struct {
	Sub        string // "build", "test", "install", "run", "vet", "generate", "list", "mod download", "mod tidy", "mod vendor", "get", "work sync", "tool", ...
	Modules    bool   // reads/writes the module cache (GOMODCACHE), unless Vendor
	BuildCache bool   // reads/writes the build cache (GOCACHE)
	Vendor     bool   // -mod=vendor in args or GOFLAGS, for a subcommand that honours it
	ModFlag    string // value of -mod= if any ("vendor", "mod", "readonly")
	Modfile    string // value of -modfile= if any
	Chdir      string // value of -C dir if any (go 1.20+)

	// Versioned is set for `go install/run pkg@version`, which ignores the
	// main module (and so go.mod, vendor/ and -mod).
	Versioned bool
	// GOPATH is set when GO111MODULE=off: packages come from GOPATH, not
	// the module cache.
	GOPATH bool
}

// goValueFlags are the go command's flags that take a separate value
// (`-o out`); all others are boolean (or only take `-flag=value`).
var goValueFlags = map[string]bool{
	"C": true, "p": true, "asmflags": true, "compiler": true, "buildmode": true, "gcflags": true,
	"gccgoflags": true, "overlay": true, "installsuffix": true, "ldflags": true, "pgo": true,
	"pkgdir": true, "tags": true, "toolexec": true, "mod": true, "modfile": true, "o": true,
	"exec": true, "covermode": true, "coverpkg": true, "coverprofile": true, "bench": true,
	"benchtime": true, "blockprofile": true, "blockprofilerate": true, "count": true, "cpu": true,
	"cpuprofile": true, "fuzz": true, "fuzztime": true, "fuzzminimizetime": true, "list": true,
	"memprofile": true, "memprofilerate": true, "mutexprofile": true, "mutexprofilefraction": true,
	"outputdir": true, "parallel": true, "run": true, "skip": true, "shuffle": true, "timeout": true,
	"trace": true, "vet": true, "f": true, "reuse": true, "go": true, "toolchain": true,
	"compat": true, "debug-actiongraph": true, "debug-deprioritize": true, "debug-trace": true,
	"debug-runtime-trace": true, "vettool": true, "fuzzcachedir": true, "testfuzzcachedir": true,
}

// goBuiltinTools are the tools of the Go distribution (`go tool NAME`).
var goBuiltinTools = map[string]bool{
	"addr2line": true, "asm": true, "buildid": true, "cgo": true, "compile": true, "covdata": true,
	"cover": true, "dist": true, "distpack": true, "doc": true, "fix": true, "link": true, "nm": true,
	"objdump": true, "pack": true, "pprof": true, "preprofile": true, "test2json": true, "trace": true, "vet": true,
}

// IsGoTool reports whether a command name runs the go command: "go", a
// path ending in /go, a golang.org/dl wrapper such as go1.22.3 or gotip,
// or tonistiigi/xx's cross-compiling xx-go.
func IsGoTool(name string) bool {
	base := path.Base(name)
	if base == "go" || base == "gotip" || base == "xx-go" {
		return true
	}
	rest, ok := strings.CutPrefix(base, "go1.")
	if !ok || rest == "" {
		return false
	}
	for _, r := range rest {
		if !(r >= '0' && r <= '9' || r == '.' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return true
}

// ClassifyGo reports whether c runs the Go tool and what it needs. env is
// the stage env merged with c.Env, used for GOFLAGS and GO111MODULE.
// Which caches each subcommand touches follows cmd/go: `go fmt`, `go doc`
// and `go clean` load packages (module cache); `go get` and `go mod ...`
// no longer build; `go generate` is given the build cache because its
// directives usually `go run` generators, which inherit GOCACHE.
func ClassifyGo(c shellscan.Call, env map[string]string) (GoUse, bool) {
	if !IsGoTool(c.Name) {
		return GoUse{}, false
	}
	var u GoUse
	args := c.Args
	// -C must come first (cmd/go rejects it elsewhere).
	if len(args) > 0 {
		switch f := args[0]; {
		case (f == "-C" || f == "--C") && len(args) > 1:
			u.Chdir, args = args[1], args[2:]
		case strings.HasPrefix(f, "-C=") || strings.HasPrefix(f, "--C="):
			_, u.Chdir, _ = strings.Cut(f, "=")
			args = args[1:]
		}
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return u, true // `go`, `go -h`: usage only
	}
	u.Sub, args = args[0], args[1:]
	if (u.Sub == "mod" || u.Sub == "work") && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		u.Sub, args = u.Sub+" "+args[0], args[1:]
	}

	// Flags from GOFLAGS first, so that the command line overrides them.
	flags := map[string]string{}
	for _, f := range strings.Fields(env["GOFLAGS"]) {
		name, val, ok := strings.Cut(strings.TrimLeft(f, "-"), "=")
		if !ok {
			val = "true"
		}
		flags[name] = val
	}
	operands := goFlags(u.Sub, args, flags)
	u.ModFlag, u.Modfile = flags["mod"], flags["modfile"]
	has := func(name string) bool { v, ok := flags[name]; return ok && v != "false" }

	switch u.Sub {
	case "build", "test", "vet", "fix":
		u.Modules, u.BuildCache = true, true
	case "install", "run":
		u.Modules, u.BuildCache = true, true
		for _, op := range operands {
			if strings.Contains(op, "@") && !strings.HasSuffix(op, ".go") {
				u.Versioned = true
			}
			if u.Sub == "run" {
				break // the rest are the program's arguments
			}
		}
	case "list":
		u.Modules = true
		u.BuildCache = has("export") || has("compiled")
	case "generate":
		u.Modules, u.BuildCache = true, true
	case "get", "doc", "fmt", "mod download", "mod tidy", "mod vendor", "mod verify", "mod graph", "mod why",
		"work sync", "work vendor":
		u.Modules = true
	case "clean":
		caches := false
		if has("cache") || has("testcache") || has("fuzzcache") {
			u.BuildCache, caches = true, true
		}
		if has("modcache") {
			u.Modules, caches = true, true
		}
		// Packages are loaded (needing modules) unless only caches are cleaned.
		if len(operands) > 0 || has("i") || has("r") || !caches {
			u.Modules = true
		}
	case "tool":
		switch {
		case len(operands) == 0:
			u.Modules = true // lists the module's tools
		case goBuiltinTools[operands[0]]:
			u.BuildCache = true // distributions since Go 1.24 build some tools on demand
		default:
			u.Modules, u.BuildCache = true, true
		}
	}

	switch u.Sub {
	case "build", "test", "vet", "fix", "list", "generate", "clean", "doc", "fmt", "install", "run":
		u.Vendor = u.ModFlag == "vendor" && !u.Versioned && !(u.Sub == "list" && has("m"))
	}
	if v := env["GO111MODULE"]; v == "off" && !u.Versioned {
		u.GOPATH, u.Modules = true, false
	}
	return u, true
}

// goFlags parses the flags of a go subcommand into flags and returns the
// operands. `go test` takes flags after its packages; other commands stop
// at the first operand.
func goFlags(sub string, args []string, flags map[string]string) []string {
	var ops []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(ops, args[i+1:]...)
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if sub != "test" {
				return append(ops, args[i:]...)
			}
			ops = append(ops, a)
			continue
		}
		if sub == "test" && (a == "-args" || a == "--args") {
			return ops
		}
		name, val, ok := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !ok {
			val = "true"
			if goValueFlags[name] && i+1 < len(args) {
				i++
				val = args[i]
			}
		}
		flags[name] = val
	}
	return ops
}

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
