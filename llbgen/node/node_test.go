package node

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestBerryPatches(t *testing.T) {
	builtin := "\"typescript@patch:typescript@npm%3A5.9.3#optional!builtin<compat/typescript>\":\n  resolution: \"typescript@patch:typescript@npm%3A5.9.3#optional!builtin<compat/typescript>::version=5.9.3&hash=5786d5\"\n"
	if got, why := lockPatches(&nodeProject{dir: ".", lock: builtin}); len(got) > 0 || why != "" {
		t.Errorf("yarn's builtin patch taken for a project file: %v %s", got, why)
	}
	local := "\"lodash@patch:lodash@npm%3A4.17.21#./patches/lodash.patch::locator=web%40workspace%3Apackages%2Fweb\":\n" +
		"  resolution: \"lodash@patch:lodash@npm%3A4.17.21#./patches/lodash.patch::version=4.17.21&hash=1&locator=web%40workspace%3Apackages%2Fweb\"\n" +
		"  resolution: \"left-pad@patch:left-pad@npm%3A1.3.0#~/.yarn/patches/left-pad.patch::version=1.3.0&hash=2&locator=app%40workspace%3A.\"\n" +
		"  resolution: \"dep@patch:dep@npm%3A1.0.0#./fix.patch::version=1.0.0&hash=3&locator=other%40npm%3A2.0.0\"\n"
	got, why := lockPatches(&nodeProject{dir: "app", lock: local})
	if want := "[app/packages/web/patches/lodash.patch app/.yarn/patches/left-pad.patch]"; fmt.Sprint(got) != want || why != "" {
		t.Errorf("got %v %q, want %s", got, why, want)
	}
	// A member's package.json: ~/ is the project root, ./ the member.
	member := &pkgJSON{Dependencies: map[string]any{
		"left-pad": "patch:left-pad@npm%3A1.3.0#~/.yarn/patches/left-pad.patch",
		"lodash":   "patch:lodash@npm%3A4.17.21#./patches/lodash.patch",
	}}
	if got, want := fmt.Sprint(depPatches("app", "app/packages/web", member)), "[app/.yarn/patches/left-pad.patch app/packages/web/patches/lodash.patch]"; got != want {
		t.Errorf("member patches %s, want %s", got, want)
	}
	if why := localDeps("app", "app/packages/web", member); why != "" {
		t.Errorf("member patches taken for local dependencies: %s", why)
	}
}

// TestLocalOverrides: an override to a directory of the context needs it
// at install time, in npm's nested overrides and pnpm's package.json field.
func TestLocalOverrides(t *testing.T) {
	for _, tc := range []struct {
		json string
		want string
	}{
		{`{"overrides": {"debug": {"ms": "file:./vendor/ms"}}}`, "app/package.json overrides ms with file:./vendor/ms, which needs files besides the manifests"},
		{`{"overrides": {"debug": {".": "4.3.4", "ms": "$ms"}}}`, ""},
		{`{"pnpm": {"overrides": {"ms": "link:../ms"}}}`, "app/package.json overrides ms with link:../ms, which needs files besides the manifests"},
		{`{"pnpm": {"overrides": {"ms": "npm:tiny-ms@1"}}}`, ""},
		{`{"overrides": 3}`, ""},
	} {
		var p pkgJSON
		if err := json.Unmarshal([]byte(tc.json), &p); err != nil {
			t.Fatal(err)
		}
		if got := localDeps("app", "app", &p); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.json, got, tc.want)
		}
	}
}

// TestIsNodeManifest: what a COPY of only manifests may bring.
func TestIsNodeManifest(t *testing.T) {
	for p, want := range map[string]bool{
		"package.json": true, "web/yarn.lock": true, ".yarn": true, ".yarn/releases": true, "./.yarn/plugins/x.cjs": true,
		"patches/a.patch": true, "vendor/x-1.0.0.tgz": true,
		"tsconfig.json": false, "src": false, ".yarnrc-extra": false, "bin/package-browser": false,
	} {
		if got := isNodeManifest(p); got != want {
			t.Errorf("isNodeManifest(%q) = %v, want %v", p, got, want)
		}
	}
}
