package llbgen

import "testing"

func TestCacheKindOf(t *testing.T) {
	for id, want := range map[string]string{
		"hoist-go-build":        "hoist-go-build",
		"hoist-go-build-1000":   "hoist-go-build",
		"hoist-go-mod-builder":  "hoist-go-mod",
		"hoist-yarn-berry":      "hoist-yarn-berry",
		"hoist-yarn-berry-1000": "hoist-yarn-berry",
		"hoist-yarn-1000":       "hoist-yarn",
		"hoist-pnpm-store":      "hoist-pnpm-store",
		"user-cache":            "",
	} {
		k, ok := cacheKindOf(id)
		if ok != (want != "") || k.ID != want {
			t.Errorf("cacheKindOf(%q) = %q, %v; want %q", id, k.ID, ok, want)
		}
	}
	if k, _ := cacheKindOf("hoist-go-build-0"); k.Keep == 0 {
		t.Errorf("the Go build cache is not trimmed on export")
	}
}
