package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/tonistiigi/fsutil"
)

// Env is a running test bed.
type Env struct {
	// Registry is the local registry, 127.0.0.1:PORT. docker.io names
	// resolve to it through buildkitd's mirror configuration.
	Registry string
	// Socket is buildkitd's unix socket path.
	Socket string
	// Builder is the buildx remote builder's name in DockerConfig.
	Builder string
	// DockerConfig is the private DOCKER_CONFIG directory (buildx plugin
	// and builder state), never ~/.docker.
	DockerConfig string
	// HoistImage is the frontend image built from the checkout,
	// Registry/hoist:dev; use it in "# syntax=".
	HoistImage string
	// Dir is the temporary directory holding everything the Env made.
	Dir string
	// Repo is the hoist checkout.
	Repo string
	// Bins are the programs used.
	Bins *Binaries

	logf   func(string, ...any)
	reg    *Registry
	daemon *daemon
}

// Options change what Start does.
type Options struct {
	// Logf receives progress messages; nil discards them.
	Logf func(format string, args ...any)
	// FrontendOutput receives the output of the frontend image build.
	FrontendOutput io.Writer
}

// Start sets up a test bed: binaries, registry with base images, buildkitd,
// buildx builder, and the hoist frontend image. On error everything already
// started is stopped again.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if err := Check(); err != nil {
		return nil, err
	}
	e := &Env{logf: logf}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if e.Repo, err = RepoRoot(ctx); err != nil {
		return nil, err
	}
	step := func(what string, f func() error) error {
		start := time.Now()
		if err := f(); err != nil {
			return err
		}
		logf("%s: %s", what, time.Since(start).Round(100*time.Millisecond))
		return nil
	}
	if err := step("binaries", func() (err error) { e.Bins, err = EnsureBinaries(ctx, logf); return err }); err != nil {
		return nil, err
	}
	var images []BaseImage
	if err := step("base images", func() (err error) { images, err = EnsureImages(ctx, logf); return err }); err != nil {
		return nil, err
	}
	if e.Dir, err = os.MkdirTemp("", "hoist-testbed-"); err != nil {
		return nil, err
	}
	if e.reg, err = StartRegistry(); err != nil {
		return nil, err
	}
	e.Registry = e.reg.Addr
	if err := step("push base images", func() error { return PushImages(ctx, e.Registry, images) }); err != nil {
		return nil, err
	}
	if err := step("buildkitd", func() (err error) {
		e.daemon, e.Socket, err = startBuildkitd(ctx, e.Bins, e.Dir, e.Registry)
		return err
	}); err != nil {
		return nil, err
	}
	if err := step("buildx builder", func() error { return e.createBuilder(ctx) }); err != nil {
		return nil, err
	}
	e.HoistImage = e.Registry + "/hoist:dev"
	if err := step("hoist frontend image", func() error { return e.buildFrontend(ctx, opts.FrontendOutput) }); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Env) createBuilder(ctx context.Context) error {
	e.DockerConfig = filepath.Join(e.Dir, "docker-config")
	plugins := filepath.Join(e.DockerConfig, "cli-plugins")
	if err := os.MkdirAll(plugins, 0o700); err != nil {
		return err
	}
	if err := os.Symlink(e.Bins.Buildx, filepath.Join(plugins, "docker-buildx")); err != nil {
		return err
	}
	e.Builder = "hoist-testbed"
	if _, stderr, err := e.Docker(ctx, "", "buildx", "create", "--name", e.Builder, "--driver", "remote", "unix://"+e.Socket); err != nil {
		return fmt.Errorf("%w\n%s", err, stderr)
	}
	if _, stderr, err := e.Docker(ctx, "", "buildx", "inspect", "--bootstrap", e.Builder); err != nil {
		return fmt.Errorf("%w\n%s", err, stderr)
	}
	return nil
}

// buildFrontend builds the repo's Dockerfile with buildx and pushes it as
// HoistImage, so the image users get is the one tested.
func (e *Env) buildFrontend(ctx context.Context, w io.Writer) error {
	version := gitOut(ctx, e.Repo, "describe", "--tags", "--always", "--dirty")
	revision := gitOut(ctx, e.Repo, "rev-parse", "HEAD")
	args := []string{"buildx", "build", "--progress=plain", "--push", "-t", e.HoistImage,
		"--build-arg", "VERSION=" + version, "--build-arg", "REVISION=" + revision}
	if p := os.Getenv("GOPROXY"); p != "" {
		args = append(args, "--build-arg", "GOPROXY="+p)
	}
	args = append(args, ".")
	cmd := e.Command(ctx, e.Repo, "docker", args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if w != nil {
		cmd.Stdout, cmd.Stderr = io.MultiWriter(&buf, w), io.MultiWriter(&buf, w)
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("testbed: building the frontend image: %w\n%s", err, tail(buf.String(), 6000))
	}
	return nil
}

func gitOut(ctx context.Context, dir string, args ...string) string {
	out, err := output(ctx, dir, nil, "git", args...)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// Image is the local registry reference of a repository path, e.g.
// Image("library/busybox:latest").
func (e *Env) Image(ref string) string { return e.Registry + "/" + ref }

// Environ is the environment for docker/buildx/buildctl commands: the
// private DOCKER_CONFIG and builder, plain progress, and no default
// attestations (they record the frontend, which differs by design).
func (e *Env) Environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "BUILDX_BUILDER", "BUILDKIT_HOST", "BUILDX_CONFIG":
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"DOCKER_CONFIG="+e.DockerConfig,
		"BUILDX_BUILDER="+e.Builder,
		"BUILDKIT_HOST=unix://"+e.Socket,
		"BUILDX_NO_DEFAULT_ATTESTATIONS=1",
		"BUILDKIT_PROGRESS=plain",
		"DOCKER_CLI_HINTS=false",
		"DOCKER_CLI_PLUGIN_EXTRA_DIRS=",
	)
}

// Command prepares a command (docker, buildctl, ...) with Environ; buildctl
// and docker resolve to the test bed's binaries.
func (e *Env) Command(ctx context.Context, dir, name string, args ...string) *exec.Cmd {
	switch name {
	case "buildctl":
		name = e.Bins.Buildctl
	case "docker":
		name = e.Bins.Docker
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = e.Environ()
	return cmd
}

// Docker runs `docker args...` in dir and returns stdout and stderr.
func (e *Env) Docker(ctx context.Context, dir string, args ...string) (stdout, stderr []byte, err error) {
	return e.run(ctx, dir, "docker", args...)
}

// Buildx runs `docker buildx args...` in dir.
func (e *Env) Buildx(ctx context.Context, dir string, args ...string) (stdout, stderr []byte, err error) {
	return e.run(ctx, dir, "docker", append([]string{"buildx"}, args...)...)
}

// Buildctl runs buildctl against the test bed's buildkitd.
func (e *Env) Buildctl(ctx context.Context, dir string, args ...string) (stdout, stderr []byte, err error) {
	return e.run(ctx, dir, "buildctl", append([]string{"--addr", "unix://" + e.Socket}, args...)...)
}

func (e *Env) run(ctx context.Context, dir, name string, args ...string) ([]byte, []byte, error) {
	var stdout, stderr []byte
	var err error
	if name == "docker" && len(args) > 1 && args[0] == "buildx" && (args[1] == "build" || args[1] == "bake") && e.daemon != nil {
		mk := func() *exec.Cmd { return e.Command(ctx, dir, name, args...) }
		stdout, stderr, err = watched(mk, stallAfter, 30*time.Second, e.daemon.cpu, e.daemon.stallReport, os.Stderr)
	} else {
		cmd := e.Command(ctx, dir, name, args...)
		var o, s bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &s
		err = cmd.Run()
		stdout, stderr = o.Bytes(), s.Bytes()
	}
	if err != nil {
		err = fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return stdout, stderr, err
}

// Client connects to the test bed's buildkitd.
func (e *Env) Client(ctx context.Context) (*client.Client, error) {
	return client.New(ctx, "unix://"+e.Socket)
}

// LocalDirs makes the LocalMounts of a Dockerfile build: the build
// context and the directory holding the Dockerfile.
func LocalDirs(contextDir, dockerfileDir string) (map[string]fsutil.FS, error) {
	cfs, err := fsutil.NewFS(contextDir)
	if err != nil {
		return nil, err
	}
	dfs, err := fsutil.NewFS(dockerfileDir)
	if err != nil {
		return nil, err
	}
	return map[string]fsutil.FS{"context": cfs, "dockerfile": dfs}, nil
}

// Solve runs build (e.g. hoist's frontend.Build) in this process against
// the real buildkitd, as BuildKit's own integration tests run frontends.
// Progress is written in plain form to progress, if not nil.
func (e *Env) Solve(ctx context.Context, opt client.SolveOpt, build gateway.BuildFunc, progress io.Writer) (*client.SolveResponse, error) {
	c, err := e.Client(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if progress == nil {
		progress = io.Discard
	}
	d, err := progressui.NewDisplay(progress, progressui.PlainMode)
	if err != nil {
		return nil, err
	}
	ch := make(chan *client.SolveStatus)
	done := make(chan error, 1)
	go func() {
		_, err := d.UpdateFrom(context.WithoutCancel(ctx), ch)
		done <- err
	}()
	res, err := c.Build(ctx, opt, "hoist-testbed", build, ch)
	if derr := <-done; err == nil && derr != nil && !errors.Is(derr, context.Canceled) {
		err = derr
	}
	return res, err
}

// Close stops what Start started (buildkitd by PID, the registry) and
// removes the temporary directory.
func (e *Env) Close() error {
	var errs []error
	if e.daemon != nil {
		errs = append(errs, e.daemon.stop())
		e.daemon = nil
	}
	if e.reg != nil {
		errs = append(errs, e.reg.Close())
		e.reg = nil
	}
	if e.Dir != "" {
		unmountUnder(e.Dir)
		if err := os.RemoveAll(e.Dir); err != nil {
			errs = append(errs, err)
		}
		e.Dir = ""
	}
	return errors.Join(errs...)
}
