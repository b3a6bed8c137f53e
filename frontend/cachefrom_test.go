package frontend

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoistbuild/hoist/llbgen"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// configClient answers ResolveImageConfig from a map of image configs.
type configClient struct {
	client.Client
	configs map[string]*dockerspec.DockerOCIImage
	mu      sync.Mutex
	asked   []string
	started chan string // if set, receives each ref asked for
}

func (c *configClient) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	c.mu.Lock()
	c.asked = append(c.asked, ref+" "+opt.LogName)
	c.mu.Unlock()
	if c.started != nil {
		c.started <- ref
	}
	img, ok := c.configs[ref]
	if !ok {
		return "", "", nil, errors.New(ref + ": not found")
	}
	dt, err := json.Marshal(img)
	return ref, digest.FromBytes(dt), dt, err
}

func TestCheckCacheFrom(t *testing.T) {
	labelled := &dockerspec.DockerOCIImage{}
	labelled.Config.Labels = map[string]string{llbgen.CacheIDsLabel: "hoist-go-mod hoist-go-build-1000"}
	configs := map[string]*dockerspec.DockerOCIImage{
		"registry.example.com/app/cache:latest": labelled,
		"docker.io/library/plain:latest":        {},
	}
	const (
		s503     = "unexpected status from HEAD request to https://registry.example.com/v2/app/cache/manifests/latest: 503 Service Unavailable"
		s401     = "failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://auth.example/token: 401 Unauthorized"
		refused  = "dial tcp 127.0.0.1:1: connect: connection refused"
		reset    = "read tcp 127.0.0.1:5->127.0.0.1:6: read: connection reset by peer"
		notFound = "registry.example.com/app/missing:1: not found"
		eof      = "failed to copy: httpReadSeeker: failed open: unexpected EOF"
	)
	bc := &dockerui.Client{Config: dockerui.Config{BuildPlatforms: []ocispecs.Platform{{OS: "linux", Architecture: "amd64"}}}}
	cfg := llbgen.Config{CacheFrom: "registry.example.com/app/cache", ResolveTimeout: 50 * time.Millisecond, PullTimeout: 80 * time.Millisecond}
	pinned := "registry.example.com/app/cache@" + dgA.String()

	for _, tc := range []struct {
		name    string
		ref     string
		resolve []string // per attempt, as errorsByHost
		pull    error
		want    string // warning part; "" means seeded
		calls   []string
	}{
		{name: "seeded", calls: []string{"resolve registry.example.com/app/cache:latest", "pull " + pinned}},
		{name: "not found", ref: "registry.example.com/app/missing:1", resolve: []string{notFound}, want: ": not found",
			calls: []string{"resolve registry.example.com/app/missing:1"}},
		{name: "no label, not pulled", ref: "plain", want: ": the image has no " + llbgen.CacheIDsLabel + " label",
			calls: []string{"resolve docker.io/library/plain:latest"}},
		{name: "not a ref", ref: "Not A Ref", want: ": not an image reference"},
		{name: "refused", resolve: []string{refused}, want: ": connection refused"},
		{name: "401", resolve: []string{s401}, want: ": 401 Unauthorized"},
		{name: "503 retried once", resolve: []string{s503}, want: ": 503 Service Unavailable (after a retry)",
			calls: []string{"resolve registry.example.com/app/cache:latest", "resolve registry.example.com/app/cache:latest"}},
		{name: "503 then served", resolve: []string{s503, ""},
			calls: []string{"resolve registry.example.com/app/cache:latest", "resolve registry.example.com/app/cache:latest", "pull " + pinned}},
		{name: "reset", resolve: []string{reset}, want: ": connection reset (after a retry)"},
		{name: "config never answered", resolve: []string{"hang"}, want: ": no answer within 50ms",
			calls: []string{"resolve registry.example.com/app/cache:latest"}},
		{name: "layers never arrive", pull: errHang, want: ": pull: no answer within 80ms",
			calls: []string{"resolve registry.example.com/app/cache:latest", "pull " + pinned}},
		{name: "truncated layer", pull: errors.New(eof), want: ": pull: connection closed (after a retry)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeFetcher{
				resolve: func(ctx context.Context, ref string, n int) (digest.Digest, error) {
					if _, ok := configs[ref]; !ok && tc.resolve == nil {
						return "", errors.New(ref + ": not found")
					}
					return errorsByHost(map[string][]string{"registry.example.com": tc.resolve})(ctx, ref, n)
				},
				config: func(ref string) []byte {
					dt, _ := json.Marshal(configs[ref])
					return dt
				},
			}
			if tc.pull != nil {
				f.pullErr = func(string) error { return tc.pull }
			}
			c := cfg
			if tc.ref != "" {
				c.CacheFrom = tc.ref
			}
			start := time.Now()
			ci, warn := checkCacheFrom(context.Background(), fakeGW{f}, bc, c, nil)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %s", took)
			}
			if tc.want == "" {
				if warn != "" || ci == nil {
					t.Fatalf("not seeded: %q", warn)
				}
				// Pinned to what was pulled; the tag stays for reports.
				if ci.Ref != "registry.example.com/app/cache:latest@"+dgA.String() || strings.Join(ci.IDs, " ") != "hoist-go-mod hoist-go-build-1000" {
					t.Errorf("cache image %+v", ci)
				}
			} else if ci != nil || !strings.HasPrefix(warn, "hoist: HOIST_CACHE_FROM="+c.CacheFrom+" not used, building without seeded caches") || !strings.Contains(warn, tc.want) {
				t.Errorf("%v, warning %q (want one containing %q)", ci, warn, tc.want)
			}
			if tc.calls != nil && strings.Join(f.calls, "\n") != strings.Join(tc.calls, "\n") {
				t.Errorf("calls %q, want %q", f.calls, tc.calls)
			}
		})
	}

	f := &fakeFetcher{resolve: errorsByHost(nil)}
	if ci, warn := checkCacheFrom(context.Background(), fakeGW{f}, bc, llbgen.Config{}, nil); ci != nil || warn != "" || len(f.calls) != 0 {
		t.Errorf("unset: %v %q, calls %v", ci, warn, f.calls)
	}
}
