package frontend

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hoistbuild/hoist/llbgen"
	"github.com/moby/buildkit/frontend/dockerui"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// The rewrite's lookups, a prefetch and differently spelled names of one
// image on one platform share a single resolution.
func TestGatewayImagesConfigOnce(t *testing.T) {
	golang := &dockerspec.DockerOCIImage{}
	golang.Config.Env = []string{"GOPATH=/go"}
	c := &configClient{configs: map[string]*dockerspec.DockerOCIImage{"docker.io/library/golang:1.26": golang}, started: make(chan string, 1)}
	amd64 := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	bc := &dockerui.Client{Config: dockerui.Config{BuildPlatforms: []ocispecs.Platform{amd64}}}
	images := newGatewayImages(c, bc)
	ctx := context.Background()

	images.prefetch(ctx, llbgen.ParseDockerfile([]byte("FROM golang:1.26 AS build\nRUN go build\n")), llbgen.ImageOptions{TargetPlatform: &amd64, BuildPlatform: &amd64})
	select {
	case ref := <-c.started:
		if ref != "docker.io/library/golang:1.26" {
			t.Fatalf("prefetch resolved %s", ref)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("prefetch started no resolution")
	}
	c.started = nil
	for _, ref := range []string{"golang:1.26", "docker.io/library/golang:1.26"} {
		cfg, err := images.Config(ctx, ref, &ocispecs.Platform{OS: "linux", Architecture: "amd64"})
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if strings.Join(cfg.Env, " ") != "GOPATH=/go" {
			t.Errorf("%s: env %v", ref, cfg.Env)
		}
	}
	if len(c.asked) != 1 {
		t.Errorf("resolved %d times: %v", len(c.asked), c.asked)
	}
}
