package frontend

import (
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerui"
)

func TestSkippedRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		arg    *linter.Config // BUILDKIT_DOCKERFILE_CHECK, parsed by dockerui
		df     string
		skip   []string
		noSkip []string
	}{
		{
			name:   "directive",
			df:     "# check=skip=hoist/cache-mount,JSONArgsRecommended\nFROM scratch\n",
			skip:   []string{"hoist/cache-mount", "JSONArgsRecommended"},
			noSkip: []string{"hoist/download-hoisted"},
		},
		{
			name:   "build arg wins over the directive",
			arg:    &linter.Config{SkipRules: []string{"hoist/not-hoisted"}},
			df:     "# check=skip=hoist/cache-mount\nFROM scratch\n",
			skip:   []string{"hoist/not-hoisted"},
			noSkip: []string{"hoist/cache-mount"},
		},
		{
			name:   "skip=all is about checks, not rewrites",
			df:     "# check=skip=all\nFROM scratch\n",
			noSkip: []string{"hoist/cache-mount"},
		},
		{
			name:   "malformed directive",
			df:     "# check=bogus\nFROM scratch\n",
			noSkip: []string{"hoist/cache-mount"},
		},
		{
			name:   "none",
			df:     "FROM scratch\n",
			noSkip: []string{"hoist/cache-mount"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := skippedRules(&dockerui.Client{Config: dockerui.Config{LinterConfig: tc.arg}}, []byte(tc.df))
			for _, r := range tc.skip {
				if !got[r] {
					t.Errorf("%s not skipped: %v", r, got)
				}
			}
			for _, r := range tc.noSkip {
				if got[r] {
					t.Errorf("%s skipped: %v", r, got)
				}
			}
		})
	}
}
