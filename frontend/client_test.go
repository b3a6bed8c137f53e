package frontend

import (
	"context"
	"testing"

	"github.com/moby/buildkit/client/llb/sourceresolver"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Lookups that differ only in their progress name share one answer; a
// different platform or resolve mode, or options that change the answer,
// ask the daemon again.
func TestHoistClientImageCache(t *testing.T) {
	const ref = "docker.io/library/golang:1.26"
	cc := &configClient{configs: map[string]*dockerspec.DockerOCIImage{ref: {}}}
	c := &hoistClient{Client: cc}
	amd64 := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	arm64 := ocispecs.Platform{OS: "linux", Architecture: "arm64"}
	look := func(log string, p *ocispecs.Platform, mode string, noConfig bool) {
		t.Helper()
		if _, _, _, err := c.ResolveImageConfig(context.Background(), ref, sourceresolver.Opt{
			LogName:  log,
			ImageOpt: &sourceresolver.ResolveImageOpt{Platform: p, ResolveMode: mode, NoConfig: noConfig},
		}); err != nil {
			t.Fatal(err)
		}
	}
	look("[internal] load metadata for golang:1.26", &amd64, "default", false)
	look("hoist: anything", &ocispecs.Platform{OS: "linux", Architecture: "x86_64"}, "default", false)
	if len(cc.asked) != 1 {
		t.Errorf("same image under two progress names resolved %d times: %v", len(cc.asked), cc.asked)
	}
	look("x", &arm64, "default", false)
	look("x", &amd64, "pull", false)
	look("x", &amd64, "default", true)
	look("x", &amd64, "default", true)
	if len(cc.asked) != 5 {
		t.Errorf("want 5 daemon lookups (platform, mode, twice uncached), got %d: %v", len(cc.asked), cc.asked)
	}
}
