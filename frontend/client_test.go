package frontend

import (
	"context"
	"io/fs"
	"maps"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/solver/pb"
	fstypes "github.com/tonistiigi/fsutil/types"

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

// fakeGateway serves a Dockerfile and its own .dockerignore from any solve.
type fakeGateway struct {
	configClient
	opts  client.BuildOpts
	files map[string]string
}

func (g *fakeGateway) BuildOpts() client.BuildOpts { return g.opts }

func (g *fakeGateway) Solve(context.Context, client.SolveRequest) (*client.Result, error) {
	res := client.NewResult()
	res.SetRef(fileRef{files: g.files})
	return res, nil
}

type fileRef struct {
	client.Reference
	files map[string]string
}

func (r fileRef) ReadFile(_ context.Context, req client.ReadRequest) ([]byte, error) {
	dt, ok := r.files[req.Filename]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return []byte(dt), nil
}

func (r fileRef) StatFile(_ context.Context, req client.StatRequest) (*fstypes.Stat, error) {
	dt, ok := r.files[req.Path]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return &fstypes.Stat{Path: req.Path, Size: int64(len(dt))}, nil
}

// Pinning adds named contexts on a new client; the options the build
// started with, which the first client and hoistClient share, stay as they
// were, and the new client keeps the Dockerfile's own .dockerignore.
func TestWithContextsClonesOptions(t *testing.T) {
	caps := pb.Caps.CapSet(pb.Caps.All())
	gw := &fakeGateway{
		opts: client.BuildOpts{
			Opts:    map[string]string{"filename": "app.Dockerfile", "build-arg:HOIST_MIRRORS": "m.example"},
			LLBCaps: caps,
			Caps:    gwpb.Caps.CapSet(nil),
		},
		files: map[string]string{"app.Dockerfile": "FROM golang:1.26\n", "app.Dockerfile.dockerignore": "secret\n"},
	}
	c, _ := newClient(gw)
	ctx := context.Background()
	bc, err := dockerui.NewClient(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bc.ReadEntrypoint(ctx, "Dockerfile"); err != nil {
		t.Fatal(err)
	}
	before := maps.Clone(c.BuildOpts().Opts)
	const key = "context:docker.io/library/golang:1.26::linux/amd64"
	nbc, err := withContexts(ctx, c, bc, map[string]string{key: "docker-image://m.example/library/golang@sha256:" + strings.Repeat("0", 64)})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(c.BuildOpts().Opts, before) || !maps.Equal(bc.BuildOpts().Opts, before) {
		t.Errorf("options the build started with changed: %v, first client %v", c.BuildOpts().Opts, bc.BuildOpts().Opts)
	}
	if nbc == bc || nbc.BuildOpts().Opts[key] == "" {
		t.Fatalf("new client does not see the pinned context: %v", nbc.BuildOpts().Opts)
	}
	ignore, err := nbc.DockerIgnorePatterns(ctx)
	if err != nil || strings.Join(ignore, ",") != "secret" {
		t.Errorf("new client's ignore patterns %v, %v; want the Dockerfile's own", ignore, err)
	}
}
