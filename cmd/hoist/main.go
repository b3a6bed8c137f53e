// Command hoist explains what the hoist frontend does to a Dockerfile,
// without a BuildKit daemon.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hoistbuild/hoist/internal/version"
	"github.com/hoistbuild/hoist/llbgen"
	_ "github.com/hoistbuild/hoist/llbgen/ecosystems" // registers Go and Node with llbgen
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

const usage = `usage: hoist explain [flags] [context]
       hoist version

explain prints the Dockerfile as hoist rewrites it, each change annotated
with the user's line and the reason.
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "hoist:", err)
		os.Exit(1)
	}
}

// toolImage is the hoist image a build of dt would run: BUILDKIT_SYNTAX,
// else the syntax directive (the frontend pins it by digest), else a name
// that says what belongs there.
func toolImage(dt []byte, bargs map[string]string) string {
	if s := strings.TrimSpace(bargs["BUILDKIT_SYNTAX"]); s != "" {
		return strings.Fields(s)[0]
	}
	if ref, _, _, ok := parser.DetectSyntax(dt); ok {
		return ref
	}
	return "hoist-frontend-image"
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "version", "--version", "-version":
		fmt.Fprintf(out, "hoist %s %s\n", version.Version, version.Revision)
		return nil
	case "explain":
	default:
		return fmt.Errorf("unknown command %q\n%s", args[0], usage)
	}
	fl := flag.NewFlagSet("explain", flag.ContinueOnError)
	fl.SetOutput(out)
	file := fl.String("f", "", "Dockerfile (default: <context>/Dockerfile)")
	diff := fl.Bool("diff", false, "print a unified diff instead of the annotated Dockerfile")
	target := fl.String("target", "", "target stage")
	platform := fl.String("platform", "", "target platform (default: this machine's)")
	resolve := fl.Bool("resolve", false, "with HOIST_MIRRORS: resolve each planned image for real from this machine")
	var cacheFrom multi
	fl.Var(&cacheFrom, "cache-from", "a layer cache the build imports, as buildx's --cache-from (repeatable): only whether there is one matters")
	var buildArgs, imageEnv multi
	fl.Var(&buildArgs, "build-arg", "build arg KEY=VALUE (repeatable); HOIST_* switches apply")
	fl.Var(&imageEnv, "image-env", "base image env IMAGE=KEY=VALUE (repeatable), e.g. golang:1.26=GOPATH=/go")
	if err := fl.Parse(args[1:]); err != nil {
		return err
	}
	if fl.NArg() > 1 {
		return errors.New(usage)
	}
	contextDir := "."
	if fl.NArg() == 1 {
		contextDir = fl.Arg(0)
	}
	if *file == "" {
		*file = filepath.Join(contextDir, "Dockerfile")
	}
	dt, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	bargs := map[string]string{}
	for _, kv := range buildArgs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			v, ok = os.LookupEnv(k)
			if !ok {
				continue
			}
		}
		bargs[k] = v
	}
	cfg, err := llbgen.ParseConfig(bargs)
	if err != nil {
		return err
	}
	for k := range bargs {
		if llbgen.IsHoistArg(k) {
			delete(bargs, k)
		}
	}
	images, err := newOfflineImages(imageEnv)
	if err != nil {
		return err
	}
	bctx, err := llbgen.NewDirContext(contextDir, *file)
	if err != nil {
		return err
	}
	tp := platforms.DefaultSpec()
	if *platform != "" {
		if tp, err = platforms.Parse(*platform); err != nil {
			return err
		}
	}
	bp := platforms.DefaultSpec()
	rw, err := llbgen.Rewrite(ctx, dt, llbgen.Options{
		Config:         cfg,
		BuildArgs:      bargs,
		Target:         *target,
		TargetPlatform: &tp,
		BuildPlatform:  &bp,
		Images:         images,
		Context:        bctx,
		LayerCache:     len(cacheFrom) > 0,
		Tool:           toolImage(dt, bargs),
	})
	if err != nil {
		return err
	}
	if *diff {
		return llbgen.WriteDiff(out, *file, dt, rw)
	}
	if err := llbgen.WriteExplained(out, rw); err != nil {
		return err
	}
	for _, n := range images.assumed {
		fmt.Fprintf(out, "# hoist: assumed %s\n", n)
	}
	if len(cfg.Mirrors) == 0 || !cfg.Resolve {
		return nil
	}
	plan, err := llbgen.Plan(dt, llbgen.PlanOptions{
		ImageOptions: llbgen.ImageOptions{BuildArgs: bargs, Target: *target, TargetPlatform: &tp, BuildPlatform: &bp},
		Mirrors:      cfg.Mirrors,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "# hoist: image resolution plan (candidates in order, %s each):\n", cfg.ResolveTimeout)
	for _, l := range strings.Split(strings.TrimSpace(llbgen.FormatPlan(plan)), "\n") {
		fmt.Fprintf(out, "#   %s\n", l)
	}
	if *resolve {
		resolvePlan(ctx, out, plan, cfg.ResolveTimeout)
	}
	return nil
}

// resolvePlan asks each candidate registry for each image's manifest from
// this machine, in the order the frontend would, and stops at the first
// that answers.
func resolvePlan(ctx context.Context, out io.Writer, plan []llbgen.PlannedImage, timeout time.Duration) {
	for _, p := range plan {
		for _, c := range p.Candidates {
			ref, err := name.ParseReference(c.Ref.String())
			if err != nil {
				fmt.Fprintf(out, "#   %s: %v\n", c.Ref, err)
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, timeout)
			start := time.Now()
			desc, err := remote.Head(ref, remote.WithContext(cctx), remote.WithPlatform(v1.Platform{OS: p.Platform.OS, Architecture: p.Platform.Architecture, Variant: p.Platform.Variant}))
			cancel()
			if err != nil {
				fmt.Fprintf(out, "#   %s: %v\n", c.Ref, err)
				continue
			}
			fmt.Fprintf(out, "#   %s: %s (%.1f s)\n", c.Ref, desc.Digest, time.Since(start).Seconds())
			break
		}
	}
}

// offlineImages answers image config lookups without a registry: from
// --image-env, else from the defaults of well-known official images. What
// it assumed is printed, so the explanation is honest about it.
type offlineImages struct {
	env     map[string][]string
	assumed []string
}

var defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

func newOfflineImages(kvs []string) (*offlineImages, error) {
	o := &offlineImages{env: map[string][]string{}}
	for _, kv := range kvs {
		img, env, ok := strings.Cut(kv, "=")
		if !ok || !strings.Contains(env, "=") {
			return nil, fmt.Errorf("--image-env %q: want IMAGE=KEY=VALUE", kv)
		}
		o.env[img] = append(o.env[img], env)
	}
	return o, nil
}

func (o *offlineImages) Config(_ context.Context, ref string, _ *ocispecs.Platform) (*llbgen.ImageConfig, error) {
	if env, ok := o.env[ref]; ok {
		return &llbgen.ImageConfig{Env: env}, nil
	}
	name := ref
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	name, _, _ = strings.Cut(name, ":")
	name, _, _ = strings.Cut(name, "@")
	var env []string
	switch name {
	case "golang":
		env = []string{"PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "GOPATH=/go", "GOTOOLCHAIN=local"}
	default:
		env = []string{defaultPath}
	}
	note := fmt.Sprintf("image %s has env %s, user root (not resolved; pass --image-env to correct)", ref, strings.Join(env, " "))
	if !slices.Contains(o.assumed, note) { // once per image, however many stages use it
		o.assumed = append(o.assumed, note)
	}
	return &llbgen.ImageConfig{Env: env}, nil
}

func (o *offlineImages) Passwd(context.Context, string, *ocispecs.Platform) ([]byte, error) {
	return nil, nil
}
