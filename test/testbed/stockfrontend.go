package testbed

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// StockFrontendImage builds BuildKit's own Dockerfile frontend
// (frontend/dockerfile/cmd/dockerfile-frontend of the buildkit version in
// go.mod) as a frontend image, the way docker/dockerfile:1 is published,
// and pushes it to the test bed registry. Through it the stock frontend
// pays what hoist pays for being an image (buildx resolves it, BuildKit
// starts its container), which the built-in frontend does not.
func (e *Env) StockFrontendImage(ctx context.Context) (string, error) {
	repo := e.Repo
	version, err := BuildkitVersion(ctx, repo)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "hoist-bench-dockerfile-frontend-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "dockerfile-frontend")
	// go.mod pins buildkit, so this is the frontend of the buildkitd the
	// test bed runs. Upstream's image is built the same way (static, -s -w).
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin,
		"github.com/moby/buildkit/frontend/dockerfile/cmd/dockerfile-frontend")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOTOOLCHAIN=local", "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building BuildKit's dockerfile frontend: %w\n%s", err, out)
	}
	layer, err := binaryLayer(bin, "bin/dockerfile-frontend")
	if err != nil {
		return "", err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	if img, err = mutate.AppendLayers(img, layer); err != nil {
		return "", err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = runtime.GOARCH, "linux"
	// The labels of upstream's frontend image.
	cf.Config = v1.Config{
		Entrypoint: []string{"/bin/dockerfile-frontend"},
		Labels: map[string]string{
			"moby.buildkit.frontend.network.none": "true",
			"moby.buildkit.frontend.caps":         "moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts",
		},
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
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

// binaryLayer is a layer holding one executable file at path.
func binaryLayer(file, path string) (v1.Layer, error) {
	dt, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Typeflag: tar.TypeDir, Name: filepath.Dir(path) + "/", Mode: 0o755},
		{Typeflag: tar.TypeReg, Name: path, Mode: 0o755, Size: int64(len(dt))},
	} {
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
	}
	if _, err := tw.Write(dt); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	tb := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tb)), nil
	}, tarball.WithMediaType(types.OCILayer))
}
