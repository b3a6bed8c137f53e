package testbed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// StockFrontendImage builds BuildKit's own Dockerfile frontend
// (frontend/dockerfile/cmd/dockerfile-frontend of the buildkit version in
// go.mod) as a frontend image, the way docker/dockerfile:1 is published,
// and pushes it to the test bed registry. Through it the stock frontend
// pays what hoist pays for being an image (buildx resolves it, BuildKit
// starts its container), which the built-in frontend does not.
func (e *Env) StockFrontendImage(ctx context.Context) (string, error) {
	version, err := BuildkitVersion(ctx, e.Repo)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "hoist-dockerfile-frontend-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "dockerfile-frontend")
	// go.mod pins buildkit, so this is the frontend of the buildkitd the
	// test bed runs. Upstream's image is built the same way (static, -s -w).
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin,
		"github.com/moby/buildkit/frontend/dockerfile/cmd/dockerfile-frontend")
	cmd.Dir = e.Repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOTOOLCHAIN=local", "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building BuildKit's dockerfile frontend: %w\n%s", err, out)
	}
	lf := filepath.Join(dir, "layer.tar.gz")
	w, err := newLayerWriter(lf)
	if err != nil {
		return "", err
	}
	w.File("bin/dockerfile-frontend", bin, 0o755)
	if err := w.Close(); err != nil {
		return "", err
	}
	// The entrypoint and labels of upstream's frontend image.
	img, err := newImage(v1.Config{
		Entrypoint: []string{"/bin/dockerfile-frontend"},
		Labels: map[string]string{
			"moby.buildkit.frontend.network.none": "true",
			"moby.buildkit.frontend.caps":         "moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts",
		},
	}, nil, lf)
	if err != nil {
		return "", err
	}
	ref := e.Registry + "/dockerfile:" + version
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(r, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	return ref, nil
}

// ColdBuilder prunes the whole builder cache (layers, cache mounts, pulled
// images), then pulls bases again and loads each frontend image with small
// unrelated builds (FROM <base> + RUN true, in work): the first base once
// through each frontend image, the others through the built-in frontend.
// The builder is then as on a CI runner with an image cache and no build
// cache.
func (e *Env) ColdBuilder(ctx context.Context, work string, bases []string, frontends ...string) error {
	if _, stderr, err := e.Buildctl(ctx, "", "prune", "--all"); err != nil {
		return fmt.Errorf("%w\n%s", err, stderr)
	}
	for i, base := range bases {
		dir := filepath.Join(work, fmt.Sprintf("warmup-%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		// RUN makes BuildKit fetch and unpack the layers; a bare FROM
		// would be resolved lazily and leave nothing behind.
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+base+"\nRUN true\n"), 0o644); err != nil {
			return err
		}
		syntax := []string{""}
		if i == 0 && len(frontends) > 0 {
			syntax = frontends
		}
		for _, s := range syntax {
			args := []string{"build", "--progress=plain", "--output", "type=cacheonly"}
			if s != "" {
				args = append(args, "--build-arg", "BUILDKIT_SYNTAX="+s)
			}
			if _, stderr, err := e.Buildx(ctx, dir, append(args, ".")...); err != nil {
				through := "the built-in frontend"
				if s != "" {
					through = s
				}
				return fmt.Errorf("warm-up build of %s through %s: %w\n%s", base, through, err, tail(string(stderr), 3000))
			}
		}
	}
	return nil
}
