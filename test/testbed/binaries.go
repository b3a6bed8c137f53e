// Package testbed sets up a real BuildKit environment for hoist's end-to-end
// tests and demo: a local registry holding self-built base images, a
// buildkitd with the OCI worker, a buildx "remote" builder pointing at it,
// and the hoist frontend image built from the checkout. Everything it starts
// is stopped by PID in Close.
package testbed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// BuildxVersion is the buildx release the test bed builds and uses.
const BuildxVersion = "v0.38.2"

// Binaries are the programs the test bed runs.
type Binaries struct {
	Buildkitd string
	Buildctl  string
	Buildx    string
	Docker    string
	Runc      string
}

// CacheDir is where built binaries and base images are kept between runs:
// $HOIST_CACHE, or ~/.cache/hoist.
func CacheDir() string {
	if d := os.Getenv("HOIST_CACHE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return filepath.Join(os.TempDir(), "hoist-cache")
	}
	return filepath.Join(home, ".cache", "hoist")
}

// RepoRoot is the directory of the hoist module the caller runs in.
func RepoRoot(ctx context.Context) (string, error) {
	out, err := output(ctx, "", nil, "go", "env", "GOMOD")
	if err != nil {
		return "", err
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("testbed: not inside a Go module (run from the hoist checkout)")
	}
	return filepath.Dir(gomod), nil
}

// BuildkitVersion is the github.com/moby/buildkit version hoist's go.mod requires.
func BuildkitVersion(ctx context.Context, repo string) (string, error) {
	out, err := output(ctx, repo, nil, "go", "list", "-m", "-f", "{{.Version}}", "github.com/moby/buildkit")
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(string(out))
	if !strings.HasPrefix(v, "v") {
		return "", fmt.Errorf("testbed: unexpected buildkit version %q from go list", v)
	}
	return v, nil
}

// EnsureBinaries builds (or finds in the cache) buildkitd and buildctl of the
// buildkit version in go.mod and buildx BuildxVersion, and installs runc and
// the docker CLI with apt-get when they are missing.
func EnsureBinaries(ctx context.Context, logf func(string, ...any)) (*Binaries, error) {
	repo, err := RepoRoot(ctx)
	if err != nil {
		return nil, err
	}
	bkVersion, err := BuildkitVersion(ctx, repo)
	if err != nil {
		return nil, err
	}
	cache := CacheDir()
	b := &Binaries{}

	bkDir := filepath.Join(cache, "bin-"+bkVersion)
	b.Buildkitd = filepath.Join(bkDir, "buildkitd")
	b.Buildctl = filepath.Join(bkDir, "buildctl")
	if !isFile(b.Buildkitd) || !isFile(b.Buildctl) {
		logf("building buildkitd and buildctl %s into %s", bkVersion, bkDir)
		if err := buildBuildkit(ctx, bkVersion, bkDir); err != nil {
			return nil, err
		}
	}

	bxDir := filepath.Join(cache, "buildx-"+BuildxVersion)
	b.Buildx = filepath.Join(bxDir, "buildx")
	if !isFile(b.Buildx) {
		logf("building buildx %s into %s", BuildxVersion, bxDir)
		if err := buildBuildx(ctx, bxDir); err != nil {
			return nil, err
		}
	}

	if b.Runc, err = ensureCommand(ctx, logf, "runc", "runc"); err != nil {
		return nil, err
	}
	if b.Docker, err = ensureCommand(ctx, logf, "docker", "docker-cli", "docker.io"); err != nil {
		return nil, err
	}
	return b, nil
}

// buildBuildkit builds from the module's source in the module cache, as
// `go install` of buildkitd does not work (its go.mod has replace directives).
func buildBuildkit(ctx context.Context, version, dst string) error {
	out, err := output(ctx, "", nil, "go", "mod", "download", "-json", "github.com/moby/buildkit@"+version)
	if err != nil {
		return err
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return fmt.Errorf("testbed: go mod download output: %w", err)
	}
	if mod.Error != "" || mod.Dir == "" {
		return fmt.Errorf("testbed: go mod download github.com/moby/buildkit@%s: %s", version, mod.Error)
	}
	tmp, err := buildDir(dst)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	env := []string{"GOFLAGS=-mod=mod -buildvcs=false", "CGO_ENABLED=0"}
	ldflags := "-X github.com/moby/buildkit/version.Version=" + version
	if _, err := output(ctx, mod.Dir, env, "go", "build", "-ldflags", ldflags, "-o", tmp+"/", "./cmd/buildkitd", "./cmd/buildctl"); err != nil {
		return err
	}
	return publishDir(tmp, dst)
}

func buildBuildx(ctx context.Context, dst string) error {
	tmp, err := buildDir(dst)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	env := []string{"GOBIN=" + tmp, "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false"}
	if _, err := output(ctx, "", env, "go", "install", "github.com/docker/buildx/cmd/buildx@"+BuildxVersion); err != nil {
		return err
	}
	return publishDir(tmp, dst)
}

// buildDir makes a temporary directory beside dst, creating dst's parent
// (the cache directory itself on a first run), so publishDir can rename it.
func buildDir(dst string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	return os.MkdirTemp(filepath.Dir(dst), ".build-")
}

// publishDir moves a finished build into place; a concurrent run that got
// there first wins.
func publishDir(tmp, dst string) error {
	if err := os.Rename(tmp, dst); err != nil {
		if _, statErr := os.Stat(dst); statErr == nil {
			return nil
		}
		return err
	}
	return nil
}

var aptUpdate struct {
	once sync.Once
	err  error
}

// AptInstall runs apt-get update (once per process) and installs pkgs.
func AptInstall(ctx context.Context, logf func(string, ...any), pkgs ...string) error {
	aptUpdate.once.Do(func() {
		logf("apt-get update")
		_, aptUpdate.err = output(ctx, "", nil, "apt-get", "update", "-q")
	})
	if aptUpdate.err != nil {
		return aptUpdate.err
	}
	logf("apt-get install %s", strings.Join(pkgs, " "))
	env := []string{"DEBIAN_FRONTEND=noninteractive"}
	_, err := output(ctx, "", env, "apt-get", append([]string{"install", "-y", "-q", "--no-install-recommends"}, pkgs...)...)
	return err
}

// ensureCommand finds cmd on PATH, or installs the first of pkgs that apt
// can install and looks again.
func ensureCommand(ctx context.Context, logf func(string, ...any), cmd string, pkgs ...string) (string, error) {
	if p, err := exec.LookPath(cmd); err == nil {
		return p, nil
	}
	var errs []string
	for _, pkg := range pkgs {
		if err := AptInstall(ctx, logf, pkg); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if p, err := exec.LookPath(cmd); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("testbed: %s is not installed and apt-get could not install it (%s): %s", cmd, strings.Join(pkgs, " or "), strings.Join(errs, "; "))
}

// output runs a command and returns its stdout; the error carries stderr.
func output(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("testbed: %s %s: %w\n%s", name, strings.Join(args, " "), err, tail(stderr.String(), 4000))
	}
	return stdout.Bytes(), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
