package node

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoistbuild/hoist/llbgen/shellscan"
)

func TestPnpmKeyName(t *testing.T) {
	for k, want := range map[string]string{
		"/esbuild@0.19.0":                       "esbuild",
		"/@prisma/client@5.22.0(prisma@5.22.0)": "@prisma/client",
		"/esbuild/0.19.0":                       "esbuild",
		"/@prisma/client/5.22.0":                "@prisma/client",
	} {
		if got := pnpmKeyName(k); got != want {
			t.Errorf("pnpmKeyName(%q) = %q, want %q", k, got, want)
		}
	}
}

func TestNpmLockScripts(t *testing.T) {
	free := `{"packages":{"":{"hasInstallScript":true},"packages/a":{"hasInstallScript":true},
		"node_modules/esbuild":{"hasInstallScript":true},
		"node_modules/fsevents":{"hasInstallScript":true,"os":["darwin"]},
		"node_modules/a":{"link":true,"hasInstallScript":true}}}`
	if got := npmLockScripts("package-lock.json", []byte(free), 0); got != "" {
		t.Errorf("free lockfile: %q", got)
	}
	nested := `{"packages":{"packages/a/node_modules/@prisma/client":{"hasInstallScript":true}}}`
	if got := npmLockScripts("package-lock.json", []byte(nested), 0); got == "" {
		t.Error("nested @prisma/client not named")
	}
	if got := npmLockScripts("package-lock.json", []byte(`{"dependencies":{}}`), 0); got == "" {
		t.Error("lockfileVersion 1 taken as free of scripts")
	}
}

func TestPnpmBuilt(t *testing.T) {
	v9 := []byte("lockfileVersion: '9.0'\n")
	p := &nodeProject{pkg: &pkgJSON{}}
	if got := pnpmLockScripts("pnpm-lock.yaml", v9, p, 9, 0); got == "" {
		t.Error("pnpm 9 with a lockfile 9 taken as free of scripts")
	}
	if got := pnpmLockScripts("pnpm-lock.yaml", v9, p, 10, 0); got != "" {
		t.Errorf("pnpm 10, no build allowed: %q", got)
	}
	p.pkg.Pnpm = &pnpmPackageField{OnlyBuiltDependencies: []string{"esbuild"}}
	if got := pnpmLockScripts("pnpm-lock.yaml", v9, p, 10, 0); got != "" {
		t.Errorf("pnpm 10, esbuild allowed: %q", got)
	}
	p.pnpmWS = &pnpmWorkspace{NeverBuiltDependencies: []string{"sharp"}}
	if got := pnpmLockScripts("pnpm-lock.yaml", v9, p, 10, 0); got == "" {
		t.Error("pnpm 10 with neverBuiltDependencies taken as free of scripts")
	}
	p.pnpmWS = &pnpmWorkspace{AllowBuilds: map[string]any{"@prisma/client@5.22.0": true, "sharp": false}}
	if got := pnpmLockScripts("pnpm-lock.yaml", v9, p, 11, 0); !strings.Contains(got, "@prisma/client") {
		t.Errorf("pnpm 11 allowBuilds @prisma/client not named: %q", got)
	}
	v6 := []byte("lockfileVersion: '6.0'\npackages:\n  /esbuild@0.19.0:\n    requiresBuild: true\n  /fsevents@2.3.3:\n    requiresBuild: true\n    os: [darwin]\n")
	if got := pnpmLockScripts("pnpm-lock.yaml", v6, &nodeProject{}, 0, 0); got != "" {
		t.Errorf("lockfile 6 with esbuild and fsevents: %q", got)
	}
	// sharp builds against a system libvips when one is installed: free
	// unless the hoisted install skips a system install (line 7).
	v6 = append(v6, []byte("  /sharp@0.33.0:\n    requiresBuild: true\n")...)
	if got := pnpmLockScripts("pnpm-lock.yaml", v6, &nodeProject{}, 0, 0); got != "" {
		t.Errorf("lockfile 6 with sharp: %q", got)
	}
	if got := pnpmLockScripts("pnpm-lock.yaml", v6, &nodeProject{}, 0, 7); !strings.Contains(got, "sharp") || !strings.Contains(got, "line 7") {
		t.Errorf("lockfile 6 with sharp after a skipped system install: %q", got)
	}
	v6 = append(v6, []byte("  /bcrypt@5.1.1:\n    requiresBuild: true\n")...)
	if got := pnpmLockScripts("pnpm-lock.yaml", v6, &nodeProject{}, 0, 0); !strings.Contains(got, "bcrypt") {
		t.Errorf("lockfile 6 with bcrypt: %q", got)
	}
	for v, want := range map[string]int{"latest": 10, "10.34.8": 10, "^9.1": 9, "${V}": 0} {
		if got := pnpmVersionMajor(v); got != want {
			t.Errorf("pnpmVersionMajor(%q) = %d, want %d", v, got, want)
		}
	}
}

func TestInertCall(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		inert, git bool
	}{
		{"touch", []string{"apps/web/.env"}, true, false},
		{"touch", []string{".npmrc"}, false, false},
		{"touch", []string{"packages/a/package.json"}, false, false},
		{"touch", []string{"node_modules/.keep"}, false, false},
		{"apt-get", []string{"install", "-y", "--no-install-recommends", "python3", "make", "g++"}, true, false},
		{"apt-get", []string{"install", "-y", "git", "pkg-config"}, true, true},
		{"apt-get", []string{"install", "-y", "nodejs"}, false, false},
		{"apt-get", []string{"install", "-y", "ca-certificates"}, false, false},
		{"apt-get", []string{"upgrade", "-y"}, false, false},
		{"apk", []string{"add", "--no-cache", "--virtual", ".build-deps", "python3", "make"}, true, false},
		{"apk", []string{"add", "npm"}, false, false},
		{"rm", []string{"-rf", "/var/lib/apt/lists/*"}, true, false},
		{"rm", []string{"-rf", "/app/node_modules"}, false, false},
	} {
		inert, git := inertCall(shellscan.Call{Name: tc.name, Args: tc.args, DirKnown: true})
		if inert != tc.inert || git != tc.git {
			t.Errorf("inertCall(%s %v) = %v, %v; want %v, %v", tc.name, tc.args, inert, git, tc.inert, tc.git)
		}
	}
	if inert, _ := inertCall(shellscan.Call{Name: "touch", Args: []string{"x"}, DirKnown: true, Dynamic: true}); inert {
		t.Error("a dynamic touch taken as inert")
	}
}

// TestYarnScriptsCheck runs the check the hoisted yarn install ends with on
// trees laid out as yarn lays them out, through sh as the RUN does.
func TestYarnScriptsCheck(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed")
	}
	type file struct{ path, body string }
	inert := `{"name":"x","scripts":{"build":"tsc","test":"jest"}}`
	cases := []struct {
		name   string
		files  []file
		links  map[string]string // link -> target
		berry  bool
		marked bool
	}{
		{name: "no node_modules"},
		{name: "inert", files: []file{{"node_modules/a/package.json", inert}, {"node_modules/@s/b/package.json", inert}, {"node_modules/.yarn-integrity", "{}"}}},
		{name: "postinstall", marked: true, files: []file{{"node_modules/a/package.json", inert}, {"node_modules/b/package.json", `{"scripts":{"postinstall":"node x.js"}}`}}},
		{name: "preinstall scoped", marked: true, files: []file{{"node_modules/@s/b/package.json", `{"scripts":{"preinstall":"x"}}`}}},
		{name: "install nested", marked: true, files: []file{{"node_modules/a/package.json", inert}, {"node_modules/a/node_modules/c/package.json", `{"scripts":{"install":"x"}}`}}},
		{name: "binding.gyp", marked: true, files: []file{{"node_modules/a/package.json", inert}, {"node_modules/a/binding.gyp", "{}"}}},
		{name: "member node_modules", marked: true, files: []file{{"packages/m/node_modules/a/package.json", `{"scripts":{"postinstall":"x"}}`}}},
		{name: "malformed package.json", marked: true, files: []file{{"node_modules/a/package.json", `{`}}},
		{name: "dot dirs and fixtures skipped", files: []file{{"node_modules/.cache/x/package.json", `{"scripts":{"postinstall":"x"}}`}, {"node_modules/a/package.json", inert}, {"node_modules/a/test/package.json", `{`}}},
		{name: "workspace link skipped", files: []file{{"packages/m/package.json", `{"scripts":{"postinstall":"x"}}`}}, links: map[string]string{"node_modules/m": "../packages/m"}},
		{name: "unplugged scoped", berry: true, marked: true, files: []file{{".yarn/unplugged/@s-b-npm-1.0.0-abc/node_modules/@s/b/package.json", `{"scripts":{"postinstall":"x"}}`}}},
		{name: "unplugged gyp", berry: true, marked: true, files: []file{{".yarn/unplugged/c-npm-1.0.0-abc/node_modules/c/binding.gyp", "{}"}}},
		{name: "unplugged inert", berry: true, files: []file{{".yarn/unplugged/c-npm-1.0.0-abc/node_modules/c/package.json", inert}}},
		{name: "project-free scripts", files: []file{{"node_modules/esbuild/package.json", `{"scripts":{"postinstall":"node install.js"}}`},
			{"node_modules/@tailwindcss/oxide/package.json", `{"scripts":{"postinstall":"node ./scripts/install.js"}}`}, {"node_modules/sharp/binding.gyp", "{}"}}},
		{name: "under a project-free package", marked: true, files: []file{{"node_modules/esbuild/package.json", `{"scripts":{"postinstall":"x"}}`},
			{"node_modules/esbuild/node_modules/b/package.json", `{"scripts":{"install":"x"}}`}}},
		{name: "free name in another scope", marked: true, files: []file{{"node_modules/@s/esbuild/package.json", `{"scripts":{"postinstall":"x"}}`}}},
		{name: "unplugged free", berry: true, files: []file{{".yarn/unplugged/esbuild-npm-0.19.0-abc/node_modules/esbuild/package.json", `{"scripts":{"postinstall":"x"}}`}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				p := filepath.Join(dir, f.path)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(f.body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for l, target := range tc.links {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, l)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, filepath.Join(dir, l)); err != nil {
					t.Fatal(err)
				}
			}
			unplugged := ""
			if tc.berry {
				unplugged = filepath.Join(dir, ".yarn/unplugged")
			}
			marker := filepath.Join(dir, "node_modules/.hoist-install-scripts")
			script := yarnScriptsCheck(marker, unplugged, []string{filepath.Join(dir, "node_modules"), filepath.Join(dir, "packages/m/node_modules")})
			if out, err := exec.Command("sh", "-c", "set -e; "+script).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", script, err, out)
			}
			if _, err := os.Stat(marker); (err == nil) != tc.marked {
				t.Errorf("marker present = %v, want %v", err == nil, tc.marked)
			}
		})
	}
	// Without node the check cannot tell: the marker is left.
	dir := t.TempDir()
	marker := filepath.Join(dir, "node_modules/.hoist-install-scripts")
	mkdir, err := exec.LookPath("mkdir")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.Symlink(mkdir, filepath.Join(bin, "mkdir")); err != nil {
		t.Fatal(err)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sh, "-c", yarnScriptsCheck(marker, "", []string{filepath.Join(dir, "node_modules")}))
	cmd.Env = []string{"PATH=" + bin}
	if out, err := cmd.CombinedOutput(); err != nil && !strings.Contains(string(out), "node") {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("no marker without node: %v", err)
	}
}

// TestGuardNpmScripts runs the check the hoisted npm install ends with on
// lockfiles npm could write: a marker unless every dependency marked with
// hasInstallScript is project-free.
func TestGuardNpmScripts(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed")
	}
	for _, tc := range []struct {
		name, lock string // lock "" = no lockfile
		marked     bool
	}{
		{"no scripts", `{"lockfileVersion":3,"packages":{"":{"hasInstallScript":true},"node_modules/a":{}}}`, false},
		{"project-free", `{"lockfileVersion":3,"packages":{"node_modules/esbuild":{"hasInstallScript":true},"node_modules/x/node_modules/core-js":{"hasInstallScript":true}}}`, false},
		{"a script", `{"lockfileVersion":3,"packages":{"node_modules/esbuild":{"hasInstallScript":true},"node_modules/@prisma/client":{"hasInstallScript":true}}}`, true},
		{"linked member", `{"lockfileVersion":3,"packages":{"node_modules/m":{"link":true,"hasInstallScript":true}}}`, false},
		{"lockfile 1", `{"lockfileVersion":1,"dependencies":{}}`, true},
		{"no lockfile", "", true},
		{"malformed", `{`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			lock := filepath.Join(dir, "package-lock.json")
			if tc.lock != "" {
				if err := os.WriteFile(lock, []byte(tc.lock), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.MkdirAll(filepath.Join(dir, "node_modules"), 0o755); err != nil {
				t.Fatal(err)
			}
			marker := filepath.Join(dir, "node_modules/.hoist-install-scripts")
			script := guardNpmScripts(lock, marker)
			if out, err := exec.Command("sh", "-c", "set -e; "+script).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", script, err, out)
			}
			if _, err := os.Stat(marker); (err == nil) != tc.marked {
				t.Errorf("marker present = %v, want %v", err == nil, tc.marked)
			}
		})
	}
}
