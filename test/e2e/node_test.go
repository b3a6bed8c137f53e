package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// nodeCaches are the package managers' download caches hoist mounts: pure
// caches, absent from hoist's image by design.
var nodeCaches = []string{
	"root/.npm",
	"home/*/.npm",
	"usr/local/share/.cache/yarn",
	"home/*/.cache/yarn",
	"root/.yarn/berry/cache",
	"home/*/.yarn/berry/cache",
	"root/.local/share/pnpm/store",
	"home/*/.local/share/pnpm/store",
}

func withoutNodeCaches(s map[string]fileEntry) map[string]fileEntry {
	out := map[string]fileEntry{}
	for k, v := range s {
		cache := false
		for _, c := range nodeCaches {
			parts, got := strings.Split(c, "/"), strings.Split(k, "/")
			if len(got) < len(parts) {
				continue
			}
			match := true
			for i, part := range parts {
				if m, _ := filepath.Match(part, got[i]); !m {
					match = false
					break
				}
			}
			cache = cache || match
		}
		if !cache {
			out[k] = v
		}
	}
	return out
}

// volatile are lines of pnpm's state files that record when they or the
// files they checked were written; two stock builds of the same inputs
// differ there.
var volatile = map[string][]string{
	".modules.yaml":                 {"prunedAt"},
	".pnpm-workspace-state-v1.json": {"lastValidatedTimestamp", "recordedAtNs", "ctimeNs"},
}

// normalizeVolatile rehashes the files of volatile without their time
// stamp lines.
func normalizeVolatile(t *testing.T, dir string, s map[string]fileEntry) map[string]fileEntry {
	t.Helper()
	for k, e := range s {
		keys, ok := volatile[filepath.Base(k)]
		if !ok || e.SHA256 == "" {
			continue
		}
		dt, err := os.ReadFile(filepath.Join(dir, k))
		if err != nil {
			t.Fatal(err)
		}
		var keep [][]byte
		for _, l := range bytes.Split(dt, []byte("\n")) {
			if !slices.ContainsFunc(keys, func(key string) bool { return bytes.Contains(l, []byte(key)) }) {
				keep = append(keep, l)
			}
		}
		norm := bytes.Join(keep, []byte("\n"))
		// pnpm writes .modules.yaml from maps: compare its content, not
		// the order of its keys.
		if strings.HasSuffix(k, ".yaml") {
			var v any
			if err := yaml.Unmarshal(norm, &v); err == nil {
				if out, err := yaml.Marshal(v); err == nil {
					norm = out
				}
			}
		}
		sum := sha256.Sum256(norm)
		e.SHA256 = hex.EncodeToString(sum[:])
		s[k] = e
	}
	return s
}

// nodeExamples are the Node examples with notes hoist must report for
// each, proving the install was hoisted and the user's install dropped (or
// why not), and the stage and directory holding the installed project.
var nodeExamples = []struct {
	name       string
	notes      []string
	stage, dir string
}{
	{"node-npm", []string{"npm ci hoisted before this COPY", "npm ci dropped here", "cache mounts /root/.npm"}, "build", "/app"},
	// yarn.lock does not say which dependencies have install scripts: the
	// hoisted install checks the packages it installed (none has one here),
	// and the user's install runs only when the check leaves its marker.
	{"node-yarn-berry", []string{"yarn install --immutable hoisted before this COPY", "yarn install --immutable after the COPY runs only, from scratch, when the hoisted install finds a package", "/root/.yarn/berry/cache"}, "build", "/app"},
	{"node-pnpm-monorepo", []string{"pnpm install --frozen-lockfile hoisted before this COPY", "packages/web/package.json", "pnpm install --frozen-lockfile dropped here"}, "build", "/app"},
	{"fullstack", []string{"npm ci hoisted before this COPY", "cache mounts /go/pkg/mod"}, "web", "/web"},
	{"node-npm-install", []string{"npm install hoisted before this COPY", "npm install after the COPY runs only when", "cache mounts /root/.npm"}, "build", "/app"},
	{"node-yarn-release", []string{"install hoisted before this COPY", "install after the COPY runs only when the COPY brings a yarn.lock other than the one the hoisted install left, or, from scratch, when the hoisted install finds a package", "/root/.yarn/berry/cache"}, "build", "/app"},
}

// TestNodeExamples builds every Node example through the stock frontend
// and through hoist and compares the exported filesystems file by file,
// except the mounted caches: the image, and the installed project
// (node_modules included) of the build stage.
//
// The project comes out through a stage appended to a copy of the
// Dockerfile (COPY --from=<stage> <dir>): exporting a whole node stage
// stalled on this test bed when exported with type=local, and would compare
// the toolchain rather than the project.
func TestNodeExamples(t *testing.T) {
	needEnv(t)
	for _, ex := range nodeExamples {
		t.Run(ex.name, func(t *testing.T) {
			src := filepath.Join("..", "..", "examples", ex.name)
			stockDir, hoistDir := t.TempDir(), t.TempDir()
			name := filepath.Join("..", src)
			mustExport(t, stock, name, stockDir)
			res := mustExport(t, hoistArg, name, hoistDir)
			for _, n := range ex.notes {
				if !strings.Contains(res.stderr, n) {
					t.Errorf("hoist did not report %q:\n%s", n, tail(res.stderr))
				}
			}
			if d := diffSnapshots(withoutNodeCaches(snapshot(t, stockDir)), withoutNodeCaches(snapshot(t, hoistDir))); d != "" {
				t.Errorf("exported images differ:\n%s", d)
			}

			ctxDir := t.TempDir()
			if out, err := exec.Command("cp", "-a", src+"/.", ctxDir).CombinedOutput(); err != nil {
				t.Fatalf("copy example: %v\n%s", err, out)
			}
			df, err := os.ReadFile(filepath.Join(ctxDir, "Dockerfile"))
			if err != nil {
				t.Fatal(err)
			}
			df = append(df, []byte("\nFROM scratch AS hoist-e2e-project\nCOPY --from="+ex.stage+" "+ex.dir+" "+ex.dir+"\n")...)
			if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), df, 0o644); err != nil {
				t.Fatal(err)
			}
			testdata, err := filepath.Abs("testdata")
			if err != nil {
				t.Fatal(err)
			}
			rel, err := filepath.Rel(testdata, ctxDir)
			if err != nil {
				t.Fatal(err)
			}
			stockDir, hoistDir = t.TempDir(), t.TempDir()
			mustExport(t, stock, rel, stockDir)
			res = mustExport(t, hoistArg, rel, hoistDir)
			if !strings.Contains(res.stderr, ex.notes[0]) {
				t.Errorf("hoist did not report %q for the stage:\n%s", ex.notes[0], tail(res.stderr))
			}
			s := normalizeVolatile(t, stockDir, snapshot(t, stockDir))
			h := normalizeVolatile(t, hoistDir, snapshot(t, hoistDir))
			nm := 0
			for k := range s {
				if strings.Contains(k, "node_modules/") {
					nm++
				}
			}
			if nm == 0 {
				t.Fatalf("stock project has no node_modules; the comparison proves nothing")
			}
			if d := diffSnapshots(s, h); d != "" {
				t.Errorf("installed projects differ:\n%s", d)
				logSmallDiffs(t, stockDir, hoistDir, s, h)
			}
		})
	}
}

// TestNodeInstallShapes builds install shapes of test/e2e/testdata through
// stock and hoist and compares the installed projects file by file: a
// non-frozen npm install whose lockfile is stale (both installs rewrite
// it), one without a lockfile or .dockerignore (the frontend must see that
// the context has no node_modules), one without a lockfile whose dependency
// has an install script (the build reinstalls after the COPY), one whose
// dependency's install script is project-free (npm installs once), npm ci with
// a node_modules in the context, npm ci with a dependency's install script
// (not hoisted), a frozen yarn 1 install with a dependency's install script
// (the build reinstalls after the COPY), and a pnpm workspace patching a
// dependency.
func TestNodeInstallShapes(t *testing.T) {
	needEnv(t)
	for _, tc := range []struct {
		name  string
		notes []string
		// proof is a file of stock's project holding text, showing the
		// shape did what it is there for.
		proof, text string
		// once, when set, appears exactly once in hoist's build log: the
		// install after the COPY did not run again.
		once string
	}{
		// A stale lockfile may not mark a dependency npm install adds: the
		// build checks the lockfile the hoisted install writes.
		{"npm-install-stale", []string{"npm install hoisted before this COPY", "or, from scratch, when that one marks a dependency with an install script"},
			"app/package-lock.json", `"node_modules/left-pad"`, ""},
		{"npm-install-nolock", []string{"npm install hoisted before this COPY", "or, from scratch, when that one marks a dependency with an install script"},
			"app/package-lock.json", `"node_modules/is-number"`, ""},
		{"npm-install-nolock-script", []string{"npm install hoisted before this COPY", "or, from scratch, when that one marks a dependency with an install script"},
			"app/node_modules/yorkie/package.json", "bin/install.js", ""},
		{"npm-ci-dep-script", []string{"package-lock.json marks dependency yorkie as having an install script"},
			"app/node_modules/yorkie/package.json", "bin/install.js", ""},
		// esbuild's install script reads nothing of the project: the
		// hoisted install's check passes it and npm installs once.
		{"npm-install-nolock-free", []string{"npm install hoisted before this COPY", "or, from scratch, when that one marks a dependency with an install script"},
			"app/node_modules/esbuild/package.json", `"postinstall"`, "added "},
		// yarn.lock marks no install script: the hoisted install's check
		// finds yorkie's and the install after the COPY reinstalls, writing
		// the hooks into the git dir only the source COPY brings.
		{"yarn-frozen-dep-script", []string{"yarn install --frozen-lockfile hoisted before this COPY", "yarn install --frozen-lockfile after the COPY runs only, from scratch, when the hoisted install finds a package"},
			"app/gitdata/hooks/pre-commit", "node_modules/yorkie/src/runner.js", ""},
		// The frontend's context must show the node_modules directory: if
		// it did not, npm ci would be dropped and the COPY's stale copy
		// would stay in the image. npm ci must then stay where it is, not
		// hoisted too: it would install twice.
		{"npm-ci-context-modules", []string{"npm ci could not be dropped after the COPY (node_modules is in the build context"},
			"app/node_modules/is-number/package.json", `"version": "7.0.0"`, "added 1 package"},
		// Flags on the lines after npm ci belong to it: the install is
		// hoisted and cut out whole, so npm installs once.
		{"npm-ci-next-line", []string{"npm ci --no-audit --no-fund dropped here"},
			"app/node_modules/is-number/package.json", `"version": "7.0.0"`, "added 1 package"},
		// Another project's install after the sources, the first one
		// split already: hoisted too, and dropped after the COPY.
		{"npm-client-subdir", []string{"npm ci hoisted before this COPY: copies package-lock.json, package.json first (for RUN at line 9)", "npm ci dropped here"},
			"app/client/built.txt", "true", ""},
		{"pnpm-patched", []string{"copies package.json, pnpm-lock.yaml, pnpm-workspace.yaml, packages/app/package.json, packages/lib/package.json, patches/is-number@7.0.0.patch first",
			"pnpm install --frozen-lockfile dropped here"},
			"app/node_modules/.pnpm/is-number@7.0.0_patch_hash=d65516f6be876f4698383c2c9815c26398666d615990cb60979d208eb68e9fc6/node_modules/is-number/index.js", "patched by the workspace", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stockDir, hoistDir := t.TempDir(), t.TempDir()
			mustExport(t, stock, tc.name, stockDir)
			res := mustExport(t, hoistArg, tc.name, hoistDir)
			for _, n := range tc.notes {
				if !strings.Contains(res.stderr, n) {
					t.Errorf("hoist did not report %q:\n%s", n, tail(res.stderr))
				}
			}
			if tc.once != "" && strings.Count(res.stderr, tc.once) != 1 {
				t.Errorf("%q appears %d times in hoist's build log, want once (the install after the COPY ran again?):\n%s", tc.once, strings.Count(res.stderr, tc.once), tail(res.stderr))
			}
			dt, err := os.ReadFile(filepath.Join(stockDir, tc.proof))
			if err != nil || !strings.Contains(string(dt), tc.text) {
				t.Fatalf("stock's %s lacks %q (%v): the comparison proves nothing", tc.proof, tc.text, err)
			}
			s := normalizeVolatile(t, stockDir, snapshot(t, stockDir))
			h := normalizeVolatile(t, hoistDir, snapshot(t, hoistDir))
			if d := diffSnapshots(s, h); d != "" {
				t.Errorf("installed projects differ:\n%s", d)
				logSmallDiffs(t, stockDir, hoistDir, s, h)
			}
		})
	}
}

// TestPnpmStore builds a pnpm install with pnpm 10 and 12 and lists the
// stores left in the build stage: stock keeps its store in the image,
// hoist's must be in the cache mount only. The installed projects must be
// equal: pnpm 11 and later record a store named by config in
// node_modules/.pnpm-workspace-state-v1.json, so hoist must not name it.
func TestPnpmStore(t *testing.T) {
	needEnv(t)
	for _, v := range []string{"10.34.9", "12.21.0"} {
		t.Run(v, func(t *testing.T) {
			arg := []string{"--build-arg", "PNPM_VERSION=" + v}
			stockDir, hoistDir := t.TempDir(), t.TempDir()
			mustExport(t, stock, "pnpm-store", stockDir, arg...)
			res := mustExport(t, hoistArg, "pnpm-store", hoistDir, arg...)
			if !strings.Contains(res.stderr, "pnpm install --frozen-lockfile hoisted before this COPY") {
				t.Errorf("hoist did not hoist the install:\n%s", tail(res.stderr))
			}
			read := func(dir string) string {
				dt, err := os.ReadFile(filepath.Join(dir, "stores"))
				if err != nil {
					t.Fatal(err)
				}
				return strings.TrimSpace(string(dt))
			}
			if s := read(stockDir); !strings.HasPrefix(s, "/root/.local/share/pnpm/store/v") {
				t.Fatalf("stock build keeps no store at the default place (%q): the probe proves nothing", s)
			}
			if s := read(hoistDir); s != "" {
				t.Errorf("hoist's build stage holds a pnpm store, pnpm did not use the mount:\n%s", s)
			}
			s := normalizeVolatile(t, stockDir, withoutNodeCaches(snapshot(t, stockDir)))
			h := normalizeVolatile(t, hoistDir, withoutNodeCaches(snapshot(t, hoistDir)))
			delete(s, "stores")
			delete(h, "stores")
			if _, ok := s["app/node_modules/is-number"]; !ok {
				t.Fatalf("stock project has no node_modules/is-number; the comparison proves nothing")
			}
			if d := diffSnapshots(s, h); d != "" {
				t.Errorf("installed projects differ:\n%s", d)
			}
		})
	}
}

// TestNodeSourceEdit rebuilds node-npm through hoist after a source edit:
// the hoisted npm ci must come from the build cache and the user's RUN must
// only build, with no second install.
func TestNodeSourceEdit(t *testing.T) {
	out := editRebuild(t, "node-npm", filepath.Join("src", "main.tsx"))
	if !stepCached(out, "npm ci") {
		t.Errorf("the hoisted npm ci ran again after a source edit:\n%s", tail(out))
	}
	if stepCached(out, "npm run build") {
		t.Errorf("npm run build was cached after a source edit; the edit did not reach the build:\n%s", tail(out))
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "added ") && strings.Contains(l, " packages") {
			t.Errorf("npm installed packages again after a source edit: %s\n%s", l, tail(out))
		}
	}
}

// logSmallDiffs shows both versions of small text files that differ, so a
// failure says what differs, not only that it does.
func logSmallDiffs(t *testing.T, stockDir, hoistDir string, s, h map[string]fileEntry) {
	t.Helper()
	for k, e := range s {
		if he, ok := h[k]; !ok || he == e || e.SHA256 == "" {
			continue
		}
		a, errA := os.ReadFile(filepath.Join(stockDir, k))
		b, errB := os.ReadFile(filepath.Join(hoistDir, k))
		if errA != nil || errB != nil || len(a) > 4096 || len(b) > 4096 {
			continue
		}
		t.Logf("%s, stock:\n%s\n%s, hoist:\n%s", k, a, k, b)
	}
}

// TestPnpmSideEffects builds one project on two bases through hoist, one
// after the other, sharing hoist's pnpm store mount: pnpm's side-effects
// cache would give the second image the files the dependency's install
// script built on the first. Each image must hold what its own base built.
func TestPnpmSideEffects(t *testing.T) {
	needEnv(t)
	for _, flavor := range []string{"glibc", "musl"} {
		dir := t.TempDir()
		res := mustExport(t, hoistArg, "pnpm-side-effects", dir, "--build-arg", "FLAVOR="+flavor)
		if !strings.Contains(res.stderr, "cache mounts /root/.local/share/pnpm/store added to RUN pnpm install") {
			t.Fatalf("hoist did not mount the pnpm store; the test proves nothing:\n%s", tail(res.stderr))
		}
		dt, err := os.ReadFile(filepath.Join(dir, "built.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(dt)); got != flavor {
			t.Errorf("the %s build holds what natmod's install script built on %q: pnpm reused a build from the shared store\n%s", flavor, got, tail(res.stderr))
		}
	}
}
