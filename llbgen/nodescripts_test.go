package llbgen

import "testing"

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
	if got := npmLockScripts("package-lock.json", []byte(free)); got != "" {
		t.Errorf("free lockfile: %q", got)
	}
	nested := `{"packages":{"packages/a/node_modules/@prisma/client":{"hasInstallScript":true}}}`
	if got := npmLockScripts("package-lock.json", []byte(nested)); got == "" {
		t.Error("nested @prisma/client not named")
	}
	if got := npmLockScripts("package-lock.json", []byte(`{"dependencies":{}}`)); got == "" {
		t.Error("lockfileVersion 1 taken as free of scripts")
	}
}
