package e2e

import (
	"archive/tar"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hoistbuild/hoist/test/testbed"
	"golang.org/x/crypto/ssh"
)

// frontendKind is which frontend a build runs through.
type frontendKind int

const (
	stock frontendKind = iota
	// hoistDirective enables hoist with a "# syntax=" line prepended to a
	// copy of the Dockerfile, as users do.
	hoistDirective
	// hoistArg enables hoist with --build-arg BUILDKIT_SYNTAX, keeping the
	// Dockerfile byte for byte (so line numbers and sources match stock).
	hoistArg
)

func (k frontendKind) String() string {
	return [...]string{"stock", "hoist (# syntax=)", "hoist (BUILDKIT_SYNTAX)"}[k]
}

type bxResult struct {
	stdout, stderr string
	err            error
}

// buildx runs `docker buildx build` of testdata/<name> with the frontend
// kind and extra args (outputs, secrets, ...), in the case's directory.
func buildx(t *testing.T, kind frontendKind, name string, args ...string) bxResult {
	t.Helper()
	e := needEnv(t)
	dir, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	full := []string{"build", "--progress=plain"}
	switch kind {
	case hoistDirective:
		src, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
		if err != nil {
			t.Fatal(err)
		}
		df := filepath.Join(t.TempDir(), "Dockerfile")
		if err := os.WriteFile(df, append([]byte("# syntax="+e.HoistImage+"\n"), src...), 0o644); err != nil {
			t.Fatal(err)
		}
		full = append(full, "-f", df)
	case hoistArg:
		full = append(full, "--build-arg", "BUILDKIT_SYNTAX="+e.HoistImage)
	}
	full = append(full, args...)
	full = append(full, ".")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	stdout, stderr, err := e.Buildx(ctx, dir, full...)
	res := bxResult{stdout: string(stdout), stderr: string(stderr), err: err}
	if kind != stock && !strings.Contains(res.stderr, "resolve image config for docker-image://"+e.HoistImage) {
		t.Fatalf("%s build of %s did not load the hoist image:\n%s", kind, name, tail(res.stderr))
	}
	return res
}

// mustBuild is buildx that fails the test when the build fails.
func mustBuild(t *testing.T, kind frontendKind, name string, args ...string) bxResult {
	t.Helper()
	res := buildx(t, kind, name, args...)
	if res.err != nil {
		t.Fatalf("%s build of %s: %v\n%s", kind, name, res.err, tail(res.stderr))
	}
	return res
}

// mustExport is mustBuild exporting the result into dest: through a tar
// export, since a type=local export of many files can stall (see
// testbed.Untar).
func mustExport(t *testing.T, kind frontendKind, name, dest string, args ...string) bxResult {
	t.Helper()
	file := filepath.Join(t.TempDir(), "export.tar")
	res := mustBuild(t, kind, name, append(args, "--output", "type=tar,dest="+file)...)
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := testbed.Untar(f, dest); err != nil {
		t.Fatalf("unpack the %s export of %s: %v", kind, name, err)
	}
	return res
}

func tail(s string) string {
	if len(s) > 8000 {
		return "...\n" + s[len(s)-8000:]
	}
	return s
}

// fileEntry is one exported path as the comparisons see it.
type fileEntry = testbed.FileEntry

// snapshot lists every path under dir with its mode, owner, symlink
// target and content hash.
func snapshot(t *testing.T, dir string) map[string]fileEntry {
	t.Helper()
	out, err := testbed.Tree(dir)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// diffSnapshots describes how stock's and hoist's exported trees differ
// ("" if not).
func diffSnapshots(a, b map[string]fileEntry) string {
	return testbed.DiffTrees(a, b, "stock", "hoist")
}

// ociImage is what an OCI layout tarball from `--output type=oci` holds.
type ociImage struct {
	ManifestDigest string
	Manifest       string
	Config         string
}

func readOCI(t *testing.T, file string) ociImage {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	blobs := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Name == "index.json" || strings.HasPrefix(hdr.Name, "blobs/sha256/") {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			blobs[hdr.Name] = data
		}
	}
	var idx struct {
		Manifests []struct {
			Digest    string `json:"digest"`
			MediaType string `json:"mediaType"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(blobs["index.json"], &idx); err != nil {
		t.Fatalf("%s: index.json: %v", file, err)
	}
	if len(idx.Manifests) != 1 {
		t.Fatalf("%s: %d manifests in index.json, want 1", file, len(idx.Manifests))
	}
	img := ociImage{ManifestDigest: idx.Manifests[0].Digest}
	img.Manifest = string(blobs["blobs/sha256/"+strings.TrimPrefix(img.ManifestDigest, "sha256:")])
	var man struct {
		Config struct {
			Digest string `json:"digest"`
		} `json:"config"`
	}
	if err := json.Unmarshal([]byte(img.Manifest), &man); err != nil {
		t.Fatalf("%s: manifest: %v", file, err)
	}
	img.Config = string(blobs["blobs/sha256/"+strings.TrimPrefix(man.Config.Digest, "sha256:")])
	return img
}

// sshKey writes a new ed25519 private key for --ssh default=KEY.
func sshKey(t *testing.T) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(p, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var dockerfileLoc = regexp.MustCompile(`^Dockerfile(\.\S+)?:\d+$`)

// errorReport is the part of buildx's stderr that reports a failed build:
// from the Dockerfile location (with its source excerpt) to the ERROR line.
// Step numbers and timings before it differ between runs.
func errorReport(stderr string) string {
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	start := -1
	for i, l := range lines {
		if dockerfileLoc.MatchString(strings.TrimSpace(l)) {
			start = i
			break
		}
	}
	if start < 0 {
		for i, l := range lines {
			if strings.HasPrefix(l, "ERROR:") {
				start = i
				break
			}
		}
	}
	if start < 0 {
		return ""
	}
	return strings.Join(lines[start:], "\n")
}

// appendEdit appends a comment line to the source file p: a one-line edit
// that invalidates every step copying it.
func appendEdit(t *testing.T, p string) {
	t.Helper()
	src, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, append(src, []byte("\n// edited\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
}
