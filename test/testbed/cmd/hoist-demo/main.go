// Command hoist-demo shows hoist on a fresh machine (make demo): it sets up
// the test bed (registry, buildkitd, buildx builder, hoist image built from
// this checkout), builds examples/go-app through hoist with plain
// `docker buildx build`, prints the build output, and tears everything down.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hoistbuild/hoist/test/testbed"
)

func main() {
	example := flag.String("example", "examples/go-app", "build context (relative to the repo) whose Dockerfile is built through hoist")
	verbose := flag.Bool("v", false, "also print the frontend image build")
	flag.Parse()
	if err := run(*example, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "hoist-demo:", err)
		os.Exit(1)
	}
}

func run(example string, verbose bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "hoist-demo: "+format+"\n", args...)
	}
	opts := testbed.Options{Logf: logf}
	if verbose {
		opts.FrontendOutput = os.Stderr
	}
	start := time.Now()
	env, err := testbed.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		if err := env.Close(); err != nil {
			logf("teardown: %v", err)
		}
	}()
	logf("test bed ready in %s: registry %s, hoist image %s", time.Since(start).Round(time.Second), env.Registry, env.HoistImage)

	dir := filepath.Join(env.Repo, example)
	if _, err := os.Stat(filepath.Join(dir, "Dockerfile")); err != nil {
		return fmt.Errorf("no Dockerfile to build: %w", err)
	}
	out := filepath.Join(env.Dir, "out")
	args := []string{"buildx", "build", "--progress=plain",
		"--build-arg", "BUILDKIT_SYNTAX=" + env.HoistImage,
		"--output", "type=local,dest=" + out, "."}
	fmt.Printf("$ docker %s   (in %s)\n", joinArgs(args), example)
	cmd := env.Command(ctx, dir, "docker", args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
	buildStart := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build of %s through hoist failed: %w", example, err)
	}
	// The base image's files (busybox applets) would drown the result:
	// list the regular files at the top level, which is what the
	// Dockerfile produced (e.g. /app).
	fmt.Printf("\nbuilt %s through hoist in %s; exported to %s (removed on exit):\n", example, time.Since(buildStart).Round(100*time.Millisecond), out)
	entries, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	for _, ent := range entries {
		if info, err := ent.Info(); err == nil && info.Mode().IsRegular() {
			fmt.Printf("  /%s  %s  %d bytes\n", ent.Name(), info.Mode(), info.Size())
		}
	}
	return nil
}

func joinArgs(args []string) string {
	s := ""
	for i, a := range args {
		if i > 0 {
			s += " "
		}
		s += a
	}
	return s
}
