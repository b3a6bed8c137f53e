package testbed

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/moby/buildkit/client"
	"golang.org/x/sys/unix"
)

// ErrUnsupported marks a machine that cannot run the test bed (not Linux,
// not root, or no overlayfs). Tests skip on it, except under CI=true.
var ErrUnsupported = errors.New("testbed: unsupported machine")

// Check tells whether buildkitd can run here as the test bed runs it: as
// root with the overlayfs snapshotter.
func Check() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("%w: buildkitd needs Linux, this is %s", ErrUnsupported, runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: buildkitd with the OCI worker needs root (euid %d)", ErrUnsupported, os.Geteuid())
	}
	dir, err := os.MkdirTemp("", "hoist-overlay-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var opts []string
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
		if d != "merged" {
			opts = append(opts, d+"dir="+filepath.Join(dir, d))
		}
	}
	merged := filepath.Join(dir, "merged")
	if err := unix.Mount("overlay", merged, "overlay", 0, strings.Join(opts, ",")); err != nil {
		return fmt.Errorf("%w: cannot mount overlayfs under %s: %v", ErrUnsupported, os.TempDir(), err)
	}
	return unix.Unmount(merged, 0)
}

// daemon is a running buildkitd.
type daemon struct {
	cmd  *exec.Cmd
	log  string
	root string
	done chan error
	// debugAddr serves buildkitd's pprof, read when a build stalls.
	debugAddr string
}

func buildkitdConfig(registry string) string {
	return fmt.Sprintf(`# written by hoist's test bed
[worker.oci]
  enabled = true
  snapshotter = "overlayfs"
  gc = false
[worker.containerd]
  enabled = false

# Plain docker.io names (FROM golang:1.26) come from the local registry.
[registry."docker.io"]
  mirrors = [%q]

[registry.%q]
  http = true
  insecure = true
`, registry, registry)
}

func startBuildkitd(ctx context.Context, bins *Binaries, dir, registry string) (*daemon, string, error) {
	cfg := filepath.Join(dir, "buildkitd.toml")
	if err := os.WriteFile(cfg, []byte(buildkitdConfig(registry)), 0o644); err != nil {
		return nil, "", err
	}
	sock := filepath.Join(dir, "buildkitd.sock")
	d := &daemon{log: filepath.Join(dir, "buildkitd.log"), root: filepath.Join(dir, "root"), done: make(chan error, 1)}
	logf, err := os.Create(d.log)
	if err != nil {
		return nil, "", err
	}
	defer logf.Close()
	args := []string{
		"--config", cfg,
		"--root", d.root,
		"--addr", "unix://" + sock,
		"--oci-worker-net", "host",
		"--oci-worker-binary", bins.Runc,
	}
	if d.debugAddr = freeAddr(); d.debugAddr != "" {
		args = append(args, "--debugaddr", d.debugAddr)
	}
	// Not CommandContext: the daemon outlives the setup context and is
	// stopped by Close.
	d.cmd = exec.Command(bins.Buildkitd, args...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bins.Runc)+":"+os.Getenv("PATH"))
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := d.cmd.Start(); err != nil {
		return nil, "", err
	}
	go func() { d.done <- d.cmd.Wait() }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-d.done:
			d.done <- err
			return nil, "", fmt.Errorf("testbed: buildkitd exited: %v\n%s", err, d.logTail())
		case <-ctx.Done():
			d.stop()
			return nil, "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if err := pingBuildkitd(ctx, sock); err == nil {
			return d, sock, nil
		} else if time.Now().After(deadline) {
			d.stop()
			return nil, "", fmt.Errorf("testbed: buildkitd did not answer on %s: %v\n%s", sock, err, d.logTail())
		}
	}
}

// freeAddr is a 127.0.0.1 port free a moment ago, "" if none.
func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return ""
	}
	defer l.Close()
	return l.Addr().String()
}

func pingBuildkitd(ctx context.Context, sock string) error {
	if _, err := os.Stat(sock); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := client.New(ctx, "unix://"+sock)
	if err != nil {
		return err
	}
	defer c.Close()
	ws, err := c.ListWorkers(ctx)
	if err != nil {
		return err
	}
	if len(ws) == 0 {
		return errors.New("no workers yet")
	}
	return nil
}

func (d *daemon) logTail() string {
	data, _ := os.ReadFile(d.log)
	return "buildkitd log (" + d.log + "):\n" + tail(string(data), 3000)
}

// stop ends buildkitd by its PID: SIGTERM, then SIGKILL after 20s.
func (d *daemon) stop() error {
	if d.cmd.Process == nil {
		return nil
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(20 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
	return nil
}

// unmountUnder lazily unmounts whatever is left mounted below dir (in
// reverse order, deepest first), so that dir can be removed.
func unmountUnder(dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			mounts = append(mounts, f[4])
		}
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		_ = unix.Unmount(mounts[i], unix.MNT_DETACH)
	}
}
