package testbed

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Base images the test bed provides under docker.io names through the
// registry mirror. They are built here because no public registry can be
// reached; each is cached under $HOIST_CACHE/images keyed by its inputs.
const (
	DebianSuite = "bookworm"
	// GoVersion is the toolchain in the golang:1.26 image.
	GoVersion = "1.26.8"
	// NodeMajor is the Node.js major of the node:20 image (the host's Node.js).
	NodeMajor = "20"
	caBundle  = "/etc/ssl/certs/ca-certificates.crt"
	// recipe changes whenever the way images are made changes, to
	// invalidate the cache.
	recipe  = "hoist-testbed-images-v2"
	stdPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// BaseImage is one image of the test bed and the tags it is pushed as
// (repository paths under the registry, e.g. "library/golang:1.26").
type BaseImage struct {
	Name string
	Tags []string
	// Layout is the OCI layout directory caching it.
	Layout string
}

type imageMaker struct {
	logf   func(string, ...any)
	cache  string
	caHash string
	debian v1.Image
}

// EnsureImages builds the base images missing from the cache and returns all.
func EnsureImages(ctx context.Context, logf func(string, ...any)) ([]BaseImage, error) {
	ca, err := os.ReadFile(caBundle)
	if err != nil {
		return nil, fmt.Errorf("testbed: the machine's CA bundle is needed in every test image: %w", err)
	}
	m := &imageMaker{logf: logf, cache: filepath.Join(CacheDir(), "images"), caHash: hashOf(string(ca))}
	if err := os.MkdirAll(m.cache, 0o755); err != nil {
		return nil, err
	}
	var out []BaseImage

	bb, err := m.ensure(ctx, "busybox", []string{"library/busybox:latest"}, []string{}, m.busybox)
	if err != nil {
		return nil, err
	}
	out = append(out, bb)

	mirror, err := debianMirror()
	if err != nil {
		return nil, err
	}
	deb, err := m.ensure(ctx, "debian", []string{"library/debian:" + DebianSuite}, []string{mirror, DebianSuite}, func(ctx context.Context, dir string) (v1.Image, error) {
		return m.debianImage(ctx, dir, mirror)
	})
	if err != nil {
		return nil, err
	}
	out = append(out, deb)
	if m.debian, err = loadImage(deb.Layout); err != nil {
		return nil, err
	}
	debKey := filepath.Base(deb.Layout)

	goTags := []string{"library/golang:1.26", "library/golang:" + GoVersion, "library/golang:1.26-" + DebianSuite}
	g, err := m.ensure(ctx, "golang", goTags, []string{debKey, GoVersion, "make"}, m.golang)
	if err != nil {
		return nil, err
	}
	out = append(out, g)

	// The Go toolchain on a minimal userland (busybox) and with no shell at
	// all: CI caches must export and seed with neither cp -a nor find.
	goKey := filepath.Base(g.Layout)
	gb, err := m.ensure(ctx, "golang-busybox", []string{"library/golang:1.26-busybox"}, []string{goKey, filepath.Base(bb.Layout)}, func(ctx context.Context, dir string) (v1.Image, error) {
		return goOn(g.Layout, bb.Layout, []string{"sh"})
	})
	if err != nil {
		return nil, err
	}
	out = append(out, gb)
	gn, err := m.ensure(ctx, "golang-noshell", []string{"library/golang:1.26-noshell"}, []string{goKey}, func(ctx context.Context, dir string) (v1.Image, error) {
		return m.goNoShell(dir, g.Layout)
	})
	if err != nil {
		return nil, err
	}
	out = append(out, gn)

	node, npmDir, nodeVersion, err := hostNode(ctx)
	if err != nil {
		return nil, err
	}
	nodeHash, err := fileHash(node)
	if err != nil {
		return nil, err
	}
	npmPkg, err := os.ReadFile(filepath.Join(npmDir, "package.json"))
	if err != nil {
		return nil, err
	}
	nodeTags := []string{"library/node:" + NodeMajor, "library/node:" + NodeMajor + "-" + DebianSuite}
	n, err := m.ensure(ctx, "node", nodeTags, []string{debKey, nodeHash, hashOf(string(npmPkg))}, func(ctx context.Context, dir string) (v1.Image, error) {
		return m.node(ctx, dir, node, npmDir, nodeVersion)
	})
	if err != nil {
		return nil, err
	}
	out = append(out, n)
	return out, nil
}

// PushImages pushes the cached images to the registry at addr.
func PushImages(ctx context.Context, addr string, images []BaseImage) error {
	for _, im := range images {
		img, err := loadImage(im.Layout)
		if err != nil {
			return err
		}
		for _, tag := range im.Tags {
			ref, err := name.ParseReference(addr+"/"+tag, name.Insecure)
			if err != nil {
				return err
			}
			if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
				return fmt.Errorf("testbed: push %s: %w", ref, err)
			}
		}
	}
	return nil
}

// ensure returns the cached image for key inputs, building it if needed.
func (m *imageMaker) ensure(ctx context.Context, nm string, tags, inputs []string, build func(context.Context, string) (v1.Image, error)) (BaseImage, error) {
	key := hashOf(strings.Join(append([]string{recipe, nm, m.caHash, runtime.GOARCH}, inputs...), "\n"))[:16]
	dir := filepath.Join(m.cache, nm+"-"+key)
	im := BaseImage{Name: nm, Tags: tags, Layout: dir}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err == nil {
		return im, nil
	}
	start := time.Now()
	m.logf("building base image %s (cache %s)", nm, dir)
	work, err := os.MkdirTemp(m.cache, ".work-"+nm+"-")
	if err != nil {
		return im, err
	}
	defer os.RemoveAll(work)
	img, err := build(ctx, work)
	if err != nil {
		return im, fmt.Errorf("testbed: base image %s: %w", nm, err)
	}
	lay := filepath.Join(work, "layout")
	p, err := layout.Write(lay, empty.Index)
	if err != nil {
		return im, err
	}
	if err := p.AppendImage(img); err != nil {
		return im, fmt.Errorf("testbed: base image %s: %w", nm, err)
	}
	if err := publishDir(lay, dir); err != nil {
		return im, err
	}
	m.logf("built base image %s in %s", nm, time.Since(start).Round(100*time.Millisecond))
	return im, nil
}

func loadImage(dir string) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	man, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(man.Manifests) != 1 {
		return nil, fmt.Errorf("testbed: %s holds %d images, want 1 (remove it to rebuild)", dir, len(man.Manifests))
	}
	return idx.Image(man.Manifests[0].Digest)
}

func newImage(cfg v1.Config, base v1.Image, layers ...string) (v1.Image, error) {
	img := base
	if img == nil {
		img = mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	}
	for _, file := range layers {
		l, err := tarball.LayerFromFile(file, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return nil, err
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			return nil, err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = runtime.GOARCH, "linux"
	cf.Config = cfg
	cf.Created = v1.Time{Time: layerTime}
	return mutate.ConfigFile(img, cf)
}

func (m *imageMaker) busybox(ctx context.Context, dir string) (v1.Image, error) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		return nil, fmt.Errorf("dpkg-deb is needed to unpack busybox-static: %w", err)
	}
	if _, err := output(ctx, dir, nil, "apt-get", "download", "busybox-static"); err != nil {
		m.logf("apt-get download failed; updating package lists")
		if err := AptInstall(ctx, m.logf); err != nil {
			return nil, err
		}
		if _, err := output(ctx, dir, nil, "apt-get", "download", "busybox-static"); err != nil {
			return nil, err
		}
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "busybox-static_*.deb"))
	if len(debs) != 1 {
		return nil, fmt.Errorf("apt-get download busybox-static gave %d packages", len(debs))
	}
	x := filepath.Join(dir, "x")
	if _, err := output(ctx, "", nil, "dpkg-deb", "-x", debs[0], x); err != nil {
		return nil, err
	}
	bin := filepath.Join(x, "bin", "busybox")
	list, err := output(ctx, "", nil, bin, "--list")
	if err != nil {
		return nil, err
	}
	lf := filepath.Join(dir, "layer.tar.gz")
	w, err := newLayerWriter(lf)
	if err != nil {
		return nil, err
	}
	w.File("bin/busybox", bin, 0o755)
	sc := bufio.NewScanner(strings.NewReader(string(list)))
	for sc.Scan() {
		if a := strings.TrimSpace(sc.Text()); a != "" && a != "busybox" && !strings.Contains(a, "/") {
			w.Symlink("bin/"+a, "busybox")
		}
	}
	w.Symlink("usr/bin/env", "/bin/env")
	w.Bytes("etc/passwd", []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"), 0o644)
	w.Bytes("etc/group", []byte("root:x:0:\nnobody:x:65534:\n"), 0o644)
	w.File("etc/ssl/certs/ca-certificates.crt", caBundle, 0o644)
	w.Dir("root", 0o700)
	w.Dir("home", 0o755)
	w.Dir("tmp", 0o1777)
	w.Dir("var/spool/mail", 0o755)
	if err := w.Close(); err != nil {
		return nil, err
	}
	return newImage(v1.Config{Env: []string{"PATH=" + stdPath}, Cmd: []string{"sh"}}, nil, lf)
}

// debianMirror is the Debian archive this machine's apt uses.
func debianMirror() (string, error) {
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	files = append(files, "/etc/apt/sources.list")
	more, _ := filepath.Glob("/etc/apt/sources.list.d/*.list")
	files = append(files, more...)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			var urls []string
			switch {
			case strings.HasPrefix(line, "URIs:"):
				urls = strings.Fields(strings.TrimPrefix(line, "URIs:"))
			case strings.HasPrefix(line, "deb "):
				for _, f := range strings.Fields(line)[1:] {
					if strings.Contains(f, "://") {
						urls = append(urls, f)
						break
					}
				}
			}
			for _, u := range urls {
				u = strings.TrimRight(u, "/")
				if strings.HasSuffix(u, "/debian") {
					return u, nil
				}
			}
		}
	}
	return "", fmt.Errorf("testbed: no Debian archive found in /etc/apt/sources.list*; debootstrap needs one")
}

func (m *imageMaker) debianImage(ctx context.Context, dir, mirror string) (v1.Image, error) {
	if _, err := exec.LookPath("debootstrap"); err != nil {
		if err := AptInstall(ctx, m.logf, "debootstrap"); err != nil {
			return nil, err
		}
	}
	root := filepath.Join(dir, "rootfs")
	m.logf("debootstrap --variant=minbase %s from %s", DebianSuite, mirror)
	if _, err := output(ctx, "", nil, "debootstrap", "--variant=minbase", DebianSuite, root, mirror); err != nil {
		return nil, err
	}
	// Like the official image: no package cache or lists, and the machine's
	// CA bundle so that RUN steps reach TLS services.
	for _, glob := range []string{"var/cache/apt/archives/*.deb", "var/lib/apt/lists/*_*", "var/log/*.log", "var/log/apt/*"} {
		matches, _ := filepath.Glob(filepath.Join(root, glob))
		for _, f := range matches {
			os.RemoveAll(f)
		}
	}
	ca, err := os.ReadFile(caBundle)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(root, "etc/ssl/certs"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(root, "etc/ssl/certs/ca-certificates.crt"), ca, 0o644); err != nil {
		return nil, err
	}
	lf := filepath.Join(dir, "layer.tar.gz")
	w, err := newLayerWriter(lf)
	if err != nil {
		return nil, err
	}
	w.Tree(root, "", func(rel string) bool {
		return rel == "dev" || rel == "proc" || rel == "sys" || rel == "run" || rel == "debootstrap"
	}, nil)
	if err := w.Close(); err != nil {
		return nil, err
	}
	return newImage(v1.Config{Env: []string{"PATH=" + stdPath}, Cmd: []string{"bash"}}, nil, lf)
}

func (m *imageMaker) golang(ctx context.Context, dir string) (v1.Image, error) {
	mod := "golang.org/toolchain@v0.0.1-go" + GoVersion + ".linux-" + runtime.GOARCH
	out, err := output(ctx, "", []string{"GOFLAGS=-mod=mod"}, "go", "mod", "download", "-json", mod)
	if err != nil {
		return nil, err
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return nil, err
	}
	if info.Error != "" || info.Dir == "" {
		return nil, fmt.Errorf("go mod download %s: %s", mod, info.Error)
	}
	lf := filepath.Join(dir, "layer.tar.gz")
	w, err := newLayerWriter(lf)
	if err != nil {
		return nil, err
	}
	// The module zip keeps no exec bits (and the module cache is read
	// only): restore them where cmd/go's toolchain switch does.
	w.Tree(info.Dir, "usr/local/go", nil, func(rel string, mode int64) int64 {
		exec := false
		if d, _ := filepath.Split(rel); d == "bin/" {
			exec = true
		} else if strings.HasPrefix(rel, "pkg/tool/") && strings.Count(rel, "/") == 3 {
			exec = true
		}
		mode |= 0o200
		if exec {
			mode |= 0o111
		}
		return mode
	})
	// /go first: a parent written implicitly would get 0755.
	w.Dir("go", 0o1777)
	w.Dir("go/bin", 0o1777)
	w.Dir("go/src", 0o1777)
	if err := w.Close(); err != nil {
		return nil, err
	}
	// The official golang image has make (Go projects build through it);
	// its layer goes below the toolchain's, which goOn takes as the last.
	mk, err := m.debLayer(ctx, dir, "make")
	if err != nil {
		return nil, err
	}
	cfg := v1.Config{
		Env: []string{
			"PATH=/go/bin:/usr/local/go/bin:" + stdPath,
			"GOLANG_VERSION=" + GoVersion,
			"GOTOOLCHAIN=local",
			"GOPATH=/go",
		},
		WorkingDir: "/go",
		Cmd:        []string{"bash"},
	}
	return newImage(cfg, m.debian, mk, lf)
}

// debLayer writes a layer of the Debian package pkg's files, unpacked as
// dpkg would (its dependencies must be in the base image already).
func (m *imageMaker) debLayer(ctx context.Context, dir, pkg string) (string, error) {
	dl := filepath.Join(dir, "deb-"+pkg)
	if err := os.MkdirAll(dl, 0o755); err != nil {
		return "", err
	}
	if _, err := output(ctx, dl, nil, "apt-get", "download", pkg); err != nil {
		m.logf("apt-get download failed; updating package lists")
		if err := AptInstall(ctx, m.logf); err != nil {
			return "", err
		}
		if _, err := output(ctx, dl, nil, "apt-get", "download", pkg); err != nil {
			return "", err
		}
	}
	debs, _ := filepath.Glob(filepath.Join(dl, pkg+"_*.deb"))
	if len(debs) != 1 {
		return "", fmt.Errorf("apt-get download %s gave %d packages", pkg, len(debs))
	}
	x := filepath.Join(dl, "x")
	if _, err := output(ctx, "", nil, "dpkg-deb", "-x", debs[0], x); err != nil {
		return "", err
	}
	lf := filepath.Join(dir, pkg+"-layer.tar.gz")
	w, err := newLayerWriter(lf)
	if err != nil {
		return "", err
	}
	w.Tree(x, "", nil, nil)
	if err := w.Close(); err != nil {
		return "", err
	}
	return lf, nil
}

// goOn puts the Go toolchain layer of the golang image (its last) on the
// image at baseLayout ("" for none), with golang's config.
func goOn(goLayout, baseLayout string, cmd []string) (v1.Image, error) {
	g, err := loadImage(goLayout)
	if err != nil {
		return nil, err
	}
	layers, err := g.Layers()
	if err != nil {
		return nil, err
	}
	gcf, err := g.ConfigFile()
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	if baseLayout != "" {
		if img, err = loadImage(baseLayout); err != nil {
			return nil, err
		}
	}
	if img, err = mutate.AppendLayers(img, layers[len(layers)-1]); err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = runtime.GOARCH, "linux"
	cf.Config = gcf.Config
	cf.Config.Cmd = cmd
	cf.Created = v1.Time{Time: layerTime}
	return mutate.ConfigFile(img, cf)
}

// goNoShell is the Go toolchain with what a distroless base has (users,
// CA certificates, /tmp) and no shell or other program.
func (m *imageMaker) goNoShell(dir, goLayout string) (v1.Image, error) {
	lf := filepath.Join(dir, "layer.tar.gz")
	w, err := newLayerWriter(lf)
	if err != nil {
		return nil, err
	}
	w.Bytes("etc/passwd", []byte("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"), 0o644)
	w.Bytes("etc/group", []byte("root:x:0:\nnobody:x:65534:\n"), 0o644)
	w.File("etc/ssl/certs/ca-certificates.crt", caBundle, 0o644)
	w.Dir("root", 0o700)
	w.Dir("tmp", 0o1777)
	if err := w.Close(); err != nil {
		return nil, err
	}
	base, err := newImage(v1.Config{}, nil, lf)
	if err != nil {
		return nil, err
	}
	baseDir := filepath.Join(dir, "base")
	p, err := layout.Write(baseDir, empty.Index)
	if err != nil {
		return nil, err
	}
	if err := p.AppendImage(base); err != nil {
		return nil, err
	}
	return goOn(goLayout, baseDir, []string{"go", "version"})
}

// hostNode finds the machine's Node.js (it must be NodeMajor) and npm.
// The node:20 test image reuses them: Debian's own nodejs is 18.
func hostNode(ctx context.Context) (node, npmDir, version string, err error) {
	node, err = exec.LookPath("node")
	if err != nil {
		return "", "", "", fmt.Errorf("testbed: the node:%s test image is made from the machine's Node.js %s, and node is not on PATH", NodeMajor, NodeMajor)
	}
	if node, err = filepath.EvalSymlinks(node); err != nil {
		return "", "", "", err
	}
	out, err := output(ctx, "", nil, node, "--version")
	if err != nil {
		return "", "", "", err
	}
	version = strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	if !strings.HasPrefix(version, NodeMajor+".") {
		return "", "", "", fmt.Errorf("testbed: the node:%s test image is made from the machine's Node.js, which is %s", NodeMajor, version)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", "", "", fmt.Errorf("testbed: npm not found next to Node.js: %w", err)
	}
	cli, err := filepath.EvalSymlinks(npm)
	if err != nil {
		return "", "", "", err
	}
	npmDir = filepath.Dir(filepath.Dir(cli)) // .../node_modules/npm/bin/npm-cli.js
	if filepath.Base(npmDir) != "npm" {
		return "", "", "", fmt.Errorf("testbed: cannot find npm's package directory from %s", cli)
	}
	return node, npmDir, version, nil
}

func (m *imageMaker) node(ctx context.Context, dir, node, npmDir, version string) (v1.Image, error) {
	if out, err := exec.CommandContext(ctx, "ldd", node).Output(); err == nil {
		for _, lib := range strings.Fields(string(out)) {
			// The Debian rootfs has glibc and libstdc++ but no more.
			if strings.HasPrefix(lib, "lib") && strings.Contains(lib, ".so") && !strings.HasPrefix(lib, "libc.") &&
				!strings.HasPrefix(lib, "libm.") && !strings.HasPrefix(lib, "libdl.") && !strings.HasPrefix(lib, "libpthread.") &&
				!strings.HasPrefix(lib, "libstdc++.") && !strings.HasPrefix(lib, "libgcc_s.") && !strings.HasPrefix(lib, "librt.") {
				return nil, fmt.Errorf("the machine's node links %s, which the Debian minbase image lacks", lib)
			}
		}
	}
	lf := filepath.Join(dir, "layer.tar.gz")
	w, err := newLayerWriter(lf)
	if err != nil {
		return nil, err
	}
	w.File("usr/local/bin/node", node, 0o755)
	w.Tree(npmDir, "usr/local/lib/node_modules/npm", nil, nil)
	w.Symlink("usr/local/bin/npm", "../lib/node_modules/npm/bin/npm-cli.js")
	w.Symlink("usr/local/bin/npx", "../lib/node_modules/npm/bin/npx-cli.js")
	if err := w.Close(); err != nil {
		return nil, err
	}
	cfg := v1.Config{
		Env: []string{
			"PATH=" + stdPath,
			"NODE_VERSION=" + version,
			"NODE_EXTRA_CA_CERTS=" + caBundle,
		},
		Cmd: []string{"node"},
	}
	return newImage(cfg, m.debian, lf)
}

func hashOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func fileHash(p string) (string, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	return hashOf(string(data)), nil
}
