package llbgen

import (
	"context"
	"io/fs"
	"sort"
	"strings"
	"testing"

	"github.com/moby/buildkit/solver/pb"
)

func TestIgnoredPath(t *testing.T) {
	for _, c := range []struct {
		patterns []string
		p        string
		want     bool
	}{
		{[]string{"node_modules"}, "node_modules", true},
		{[]string{"node_modules"}, "web/node_modules", false},
		{[]string{"**/node_modules"}, "web/node_modules", true},
		{[]string{"web"}, "web/node_modules", true},
		{[]string{"node_modules", "!node_modules/keep"}, "node_modules", false},
		{[]string{"**/node_modules", "!**/keep"}, "node_modules", false},
		{[]string{"dist"}, "node_modules", false},
		{nil, "node_modules", false},
	} {
		got, err := IgnoredPath(c.patterns, c.p)
		if err != nil || got != c.want {
			t.Errorf("IgnoredPath(%q, %q) = %v, %v; want %v", c.patterns, c.p, got, err, c.want)
		}
	}
}

func (m memContext) ReadDir(_ context.Context, p string) ([]string, error) {
	seen := map[string]bool{}
	prefix := strings.TrimSuffix(p, "/") + "/"
	if p == "." || p == "" {
		prefix = ""
	}
	for k := range m {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if first, _, dir := strings.Cut(rest, "/"); dir {
			seen[first+"/"] = true
		} else {
			seen[first] = true
		}
	}
	if len(seen) == 0 {
		return nil, fs.ErrNotExist
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

func (m memContext) Ignored(_ context.Context, p string) (bool, error) {
	return strings.Contains(p, "node_modules"), nil
}

// TestLLBNodeCacheMounts checks the exec ops dockerfile2llb makes of the
// Node rewrites: cache targets, ids, sharing and ownership, the hoisted
// install mapped to the user's RUN line, and the dropped install gone.
func TestLLBNodeCacheMounts(t *testing.T) {
	t.Run("npm", func(t *testing.T) {
		ops, _ := convertRewriteCase(t, "node-npm")
		ci := findExec(t, ops, "npm ci")
		m := cacheMountAt(ci, "/root/.npm")
		if m == nil || m.CacheOpt.ID != "/hoist-npm" || m.CacheOpt.Sharing != pb.CacheSharingOpt_SHARED {
			t.Fatalf("hoisted npm ci mounts: %v", ci.mounts)
		}
		if ci.line != 4 {
			t.Errorf("hoisted npm ci at line %d, want line 4 of the RUN that needs it", ci.line)
		}
		build := findExec(t, ops, "npm run build")
		if strings.Contains(build.args, "npm ci") {
			t.Errorf("the user's RUN still installs: %s", build.args)
		}
		if cacheMountAt(build, "/root/.npm") == nil || build.line != 4 {
			t.Errorf("npm run build: line %d, mounts %v", build.line, build.mounts)
		}
	})
	t.Run("yarn classic as uid 1000", func(t *testing.T) {
		ops, _ := convertRewriteCase(t, "node-yarn-classic")
		in := findExec(t, ops, "yarn install --frozen-lockfile")
		m := cacheMountAt(in, "/home/node/.cache/yarn")
		if m == nil || m.CacheOpt.ID != "/hoist-yarn-1000" || m.CacheOpt.Sharing != pb.CacheSharingOpt_LOCKED {
			t.Fatalf("yarn mounts: %v", in.mounts)
		}
		if got := cacheOwners(t, out(t, "node-yarn-classic")); !got["1000:1000:493"] {
			t.Errorf("no mkdir /cache owned by 1000:1000 for the yarn cache: %v", got)
		}
	})
	t.Run("pnpm store mounted, not named", func(t *testing.T) {
		ops, _ := convertRewriteCase(t, "node-pnpm-workspace")
		in := findExec(t, ops, "pnpm install --frozen-lockfile")
		m := cacheMountAt(in, "/root/.local/share/pnpm/store")
		if m == nil || m.CacheOpt.ID != "/hoist-pnpm-store" {
			t.Fatalf("pnpm mounts: %v", in.mounts)
		}
		// pnpm finds the default store itself; pnpm 11 and later would
		// record a named one in node_modules, which stock's has not.
		if strings.Contains(in.args, "store_dir") {
			t.Errorf("the store is named: %s", in.args)
		}
	})
	t.Run("Plug'n'Play cache stays in the exported stage", func(t *testing.T) {
		ops, _ := convertRewriteCase(t, "node-pnp-exported")
		for _, e := range ops {
			if cacheMountAt(e, "/root/.yarn/berry/cache") != nil {
				t.Errorf("%s mounts the PnP cache of an exported stage", e.args)
			}
		}
		findExec(t, ops, "yarn install --immutable")
	})
}

// TestNodeRelativeHome: a relative HOME gives no cache mount (found by
// FuzzRewrite: the mount's target would not match on a second pass).
func TestNodeRelativeHome(t *testing.T) {
	dt := []byte("FROM node:20\nUSER 1\nENV HOME=0\nRUN yarn install --frozen-lockfile\nRUN npm ci\n")
	rw, err := Rewrite(context.Background(), dt, Options{Config: DefaultConfig(), Images: fakeImages{}, Context: memContext{}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(rw.Dockerfile), "--mount") {
		t.Errorf("mounted a cache under a relative HOME:\n%s", rw.Dockerfile)
	}
}

// TestSourceFreeScripts: husky's prepare script sets up git hooks only in a git
// work tree. Without a .git in the context it does nothing before the
// sources or after them, and the install is hoisted; with one, the COPY
// brings it and only the install after the COPY may write the hooks.
func TestSourceFreeScripts(t *testing.T) {
	dt := []byte("FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\n")
	for _, c := range []struct {
		name   string
		prep   string
		git    bool
		hoists bool
	}{
		{"husky install, no .git", "husky install", false, true},
		{"husky 9, no .git", "husky", false, true},
		{"husky with .git", "husky", true, false},
		{"husky with another command", "husky install && node gen.js", false, false},
		{"only-allow", "npx only-allow npm", true, true},
		{"husky behind tests", `if test \"$NODE_ENV\" != \"production\" && test \"$CI\" != \"true\" ; then husky ; fi`, false, true},
		{"husky behind tests with .git", `if test \"$CI\" != \"true\" ; then husky ; fi`, true, false},
		{"echo into a file", "echo done > .installed", false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := memContext{
				"package.json":      `{"name":"app","scripts":{"prepare":"` + c.prep + `","build":"tsc"}}`,
				"package-lock.json": `{"name":"app","lockfileVersion":3,"packages":{}}`,
			}
			if c.git {
				ctx[".git/HEAD"] = "ref: refs/heads/main\n"
			}
			checkHoisted(t, dt, ctx, "COPY package-lock.json package.json", c.hoists)
		})
	}
}

// checkHoisted rewrites dt with context ctx and checks that the hoisted
// COPY (its text) is there exactly when want says so.
func checkHoisted(t *testing.T, dt []byte, ctx memContext, hoistedCopy string, want bool) {
	t.Helper()
	rw, err := Rewrite(context.Background(), dt, Options{Config: DefaultConfig(), Images: fakeImages{}, Context: ctx})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Contains(string(rw.Dockerfile), hoistedCopy); got != want {
		t.Errorf("hoisted %v, want %v:\n%s\n%v", got, want, rw.Dockerfile, rw.Notes)
	}
}

// TestBerryLifecycle: yarn berry runs a workspace's preinstall, install
// and postinstall on install, not its prepublish or prepare, which npm
// runs: only the former keep the install after the COPY.
func TestBerryLifecycle(t *testing.T) {
	dt := []byte("FROM node:20\nWORKDIR /app\nCOPY . .\nRUN yarn install --immutable && yarn build\n")
	for _, c := range []struct {
		script string
		hoists bool
	}{
		{"prepublish", true},
		{"prepare", true},
		{"postinstall", false},
	} {
		t.Run(c.script, func(t *testing.T) {
			ctx := memContext{
				"package.json":         `{"name":"app","packageManager":"yarn@4.5.0","workspaces":["commons"]}`,
				"commons/package.json": `{"name":"commons","scripts":{"` + c.script + `":"yarn build"}}`,
				"yarn.lock":            "__metadata:\n  version: 8\n",
				".yarnrc.yml":          "nodeLinker: node-modules\n",
			}
			checkHoisted(t, dt, ctx, "COPY .yarnrc.yml package.json yarn.lock", c.hoists)
		})
	}
}
