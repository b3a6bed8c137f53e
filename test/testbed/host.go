package testbed

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// HostCmd runs a Go or npm command on the host, in a copy of an example.
// GOWORK=off: the copy's own module is changed even inside a workspace
// example; GOFLAGS is cleared so the host's settings do not leak in.
func HostCmd(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOWORK=off", "GOFLAGS=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s (in %s): %w\n%s", name, strings.Join(args, " "), dir, err, stderr.String())
	}
	return out, nil
}

// PreviousRelease returns the entry before cur in a registry's ordered
// version list ("" if there is none): an older release is certain to build
// with the pinned toolchains, a newer one is not.
func PreviousRelease(versions []string, cur string) string {
	for i, v := range versions {
		if v == cur && i > 0 {
			return versions[i-1]
		}
	}
	return ""
}
