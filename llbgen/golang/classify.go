package golang

import (
	"path"
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
