// Package e2e runs hoist against a real buildkitd through docker buildx,
// comparing it with the builder's built-in (stock) Dockerfile frontend.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hoistbuild/hoist/test/testbed"
)

// The package's test bed, started by the first test that needs it (so a
// -run selecting other tests starts none) and closed after all tests.
var (
	envOnce sync.Once
	env     *testbed.Env
	// skipReason is set when the machine cannot run the test bed; tests
	// then skip, unless CI=true, where they fail.
	skipReason string
	startErr   error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if env != nil {
		if err := env.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "testbed teardown:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

func startEnv() {
	if err := testbed.Check(); err != nil {
		if errors.Is(err, testbed.ErrUnsupported) {
			skipReason = err.Error()
		} else {
			startErr = err
		}
		return
	}
	// A first run (CI's, see .ci/run) builds buildkitd, buildx, the base
	// images and the frontend image from nothing: 28 minutes on a loaded
	// 2-core machine.
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "testbed: "+format+"\n", args...)
	}
	env, startErr = testbed.Start(ctx, testbed.Options{Logf: logf})
}

// needEnv returns the running test bed, or ends the test: a skip on a
// machine that cannot run it, a failure under CI=true or when setup failed.
func needEnv(t *testing.T) *testbed.Env {
	t.Helper()
	envOnce.Do(startEnv)
	if startErr != nil {
		t.Fatalf("test bed setup failed: %v", startErr)
	}
	if skipReason != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but the end-to-end tests cannot run here: %s", skipReason)
		}
		t.Skip(skipReason)
	}
	return env
}
