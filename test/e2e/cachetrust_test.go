package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// A module with one small dependency, so the test's builds stay short.
const (
	trustGoMod = `module example.com/trust

go 1.26

require github.com/google/uuid v1.6.0
`
	trustGoSum = `github.com/google/uuid v1.6.0 h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=
github.com/google/uuid v1.6.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=
`
	trustMain = `package main

import (
	"fmt"

	"github.com/google/uuid"
)

func main() { fmt.Println(uuid.NewString()) }
`
	trustDockerfile = `FROM golang:1.26 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /out/app .

FROM busybox
COPY --from=build /out/app /app
`
	// tamperedFile is the module file the test changes in the cache image.
	tamperedFile = "hoist-go-mod/github.com/google/uuid@v1.6.0/uuid.go"
	tamperMark   = "TAMPERED-IN-CACHE-IMAGE"
)

// tamperCacheImage pushes to dst the cache image src plus a layer that
// changes one extracted module file: an init function is appended to it.
// The module's zip and .ziphash stay as go downloaded them.
func tamperCacheImage(t *testing.T, src, dst string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srcRef, err := name.ParseReference(src, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(srcRef, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("pull %s: %v", src, err)
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	var orig []byte
	var hdr *tar.Header
	dirs := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeDir {
			dirs[strings.Trim(h.Name, "/")] = h
		}
		if strings.TrimPrefix(h.Name, "/") == tamperedFile {
			if orig, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
			hdr = h
			break
		}
	}
	if hdr == nil {
		t.Fatalf("%s has no %s", src, tamperedFile)
	}
	changed := append(orig, []byte("\nfunc init() { println(\""+tamperMark+"\") }\n")...)
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	// The layer carries the file's directories as the image has them.
	parts := strings.Split(tamperedFile, "/")
	for i := 1; i < len(parts); i++ {
		if d := dirs[strings.Join(parts[:i], "/")]; d != nil {
			if err := tw.WriteHeader(d); err != nil {
				t.Fatal(err)
			}
		}
	}
	h := *hdr
	h.Size = int64(len(changed))
	if err := tw.WriteHeader(&h); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(changed); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := tarball.LayerFromReader(bytes.NewReader(layer.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	out, err := mutate.AppendLayers(img, l)
	if err != nil {
		t.Fatal(err)
	}
	dstRef, err := name.ParseReference(dst, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(dstRef, out, remote.WithContext(ctx)); err != nil {
		t.Fatalf("push %s: %v", dst, err)
	}
}

// TestCacheTampered seeds a build from a cache image in which one file of
// an extracted module was changed after download (its zip and hash left as
// they were). go itself does not notice: with HOIST_CACHE_VERIFY=off the
// changed code is in the binary. With verification (the default) the
// hoisted download fails the build, naming the module and the image.
func TestCacheTampered(t *testing.T) {
	e := needEnv(t)
	dir := t.TempDir()
	for f, dt := range map[string]string{"go.mod": trustGoMod, "go.sum": trustGoSum, "main.go": trustMain, "Dockerfile": trustDockerfile} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(dt), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cacheRef := e.Registry + "/trust-cache:main"
	badRef := e.Registry + "/trust-cache:tampered"
	hoist := []string{"--build-arg", "BUILDKIT_SYNTAX=" + e.HoistImage}

	wipeBuilder(t, e, "golang:1.26", "busybox")
	bx(t, e, dir, append(hoist, "--output", "type=cacheonly")...)
	bx(t, e, dir, append(hoist, "--target", "hoist-cache", "--output", "type=image,name="+cacheRef+",push=true")...)
	tamperCacheImage(t, cacheRef, badRef)

	// Without verification the changed module file is compiled in.
	wipeBuilder(t, e, "golang:1.26", "busybox")
	out := t.TempDir()
	off := bx(t, e, dir, append(hoist, "--build-arg", "HOIST_CACHE_FROM="+badRef, "--build-arg", "HOIST_CACHE_VERIFY=off",
		"--output", "type=local,dest="+out)...)
	if strings.Contains(off, "not used, building without seeded caches") {
		t.Fatalf("the tampered cache image was not used:\n%s", tail(off))
	}
	bin, err := os.ReadFile(filepath.Join(out, "app"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(bin, []byte(tamperMark)) {
		t.Fatalf("the unverified build did not compile the changed module file; the test shows nothing:\n%s", tail(off))
	}

	// With verification, the same build fails in the download step.
	wipeBuilder(t, e, "golang:1.26", "busybox")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	_, stderr, err := e.Buildx(ctx, dir, append(append([]string{"build", "--progress=plain"}, hoist...),
		"--build-arg", "HOIST_CACHE_FROM="+badRef, "--output", "type=cacheonly", ".")...)
	log := string(stderr)
	if err == nil {
		t.Fatalf("the build seeded from a tampered cache image passed:\n%s", tail(log))
	}
	for _, want := range []string{
		"github.com/google/uuid v1.6.0: dir has been modified",
		"hoist: Go modules seeded from " + badRef + "@sha256:", // the ref pinned to the digest pulled
		"were modified after download (go mod verify above)",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the failed build does not say %q:\n%s", want, tail(log))
		}
	}

	// The untampered image seeds and verifies.
	wipeBuilder(t, e, "golang:1.26", "busybox")
	good := bx(t, e, dir, append(hoist, "--build-arg", "HOIST_CACHE_FROM="+cacheRef, "--output", "type=cacheonly")...)
	if !strings.Contains(good, "all modules verified") {
		t.Errorf("the build seeded from the good cache image did not verify it:\n%s", tail(good))
	}
}
