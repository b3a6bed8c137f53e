package frontend

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

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
	c := &configClient{configs: map[string]*dockerspec.DockerOCIImage{
		"registry.example.com/app/cache:latest": labelled,
		"docker.io/library/plain:latest":        {},
	}}
	bc := &dockerui.Client{Config: dockerui.Config{BuildPlatforms: []ocispecs.Platform{{OS: "linux", Architecture: "amd64"}}}}
	ctx := context.Background()

	if ci, warn := checkCacheFrom(ctx, c, bc, "", nil); ci != nil || warn != "" || len(c.asked) != 0 {
		t.Errorf("unset: %v %q, asked %v", ci, warn, c.asked)
	}
	ci, warn := checkCacheFrom(ctx, c, bc, "registry.example.com/app/cache", nil)
	if warn != "" || ci == nil {
		t.Fatalf("labelled image: %v %q", ci, warn)
	}
	if ci.Ref != "registry.example.com/app/cache:latest" || strings.Join(ci.IDs, " ") != "hoist-go-mod hoist-go-build-1000" || !strings.HasPrefix(ci.Digest, "sha256:") {
		t.Errorf("cache image %+v", ci)
	}
	if got := c.asked[len(c.asked)-1]; got != "registry.example.com/app/cache:latest [internal] load metadata for registry.example.com/app/cache:latest" {
		t.Errorf("resolved as %q, not as dockerfile2llb does", got)
	}
	for ref, want := range map[string]string{
		"registry.example.com/app/missing:1": "not found",
		"plain":                              "no " + llbgen.CacheIDsLabel + " label",
		"Not A Ref":                          "not an image reference",
	} {
		ci, warn := checkCacheFrom(ctx, c, bc, ref, nil)
		if ci != nil || !strings.HasPrefix(warn, "hoist: HOIST_CACHE_FROM="+ref+" not used") || !strings.Contains(warn, want) {
			t.Errorf("%s: %v, warning %q (want one containing %q)", ref, ci, warn, want)
		}
	}
}
