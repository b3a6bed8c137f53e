package frontend

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sync"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/hoistbuild/hoist/llbgen"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/util/flightcontrol"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

// gatewayImages resolves base image configs through the daemon, with the
// same options dockerfile2llb uses, so the client's cache answers its
// later lookups of the same images.
type gatewayImages struct {
	c       client.Client
	bc      *dockerui.Client
	configs flightcontrol.CachedGroup[*llbgen.ImageConfig]
}

func newGatewayImages(c client.Client, bc *dockerui.Client) *gatewayImages {
	g := &gatewayImages{c: c, bc: bc}
	g.configs.CacheError = true
	return g
}

// Config answers each (image, platform) once, so a prefetch and the
// rewrite's own lookup share one resolution.
func (g *gatewayImages) Config(ctx context.Context, ref string, platform *ocispecs.Platform) (*llbgen.ImageConfig, error) {
	// Normalized as dockerfile2llb does: the daemon may fail to parse a
	// short name ("golang:1.26"), and the same name and options let
	// hoistClient answer dockerfile2llb's own lookup. dockerui's named
	// contexts normalize the same way.
	if named, err := reference.ParseNormalizedNamed(ref); err == nil {
		ref = reference.TagNameOnly(named).String()
	}
	key := ref
	if platform != nil {
		key += " " + platforms.FormatAll(platforms.Normalize(*platform))
	}
	return g.configs.Do(ctx, key, func(ctx context.Context) (*llbgen.ImageConfig, error) {
		return g.config(ctx, ref, platform)
	})
}

func (g *gatewayImages) config(ctx context.Context, ref string, platform *ocispecs.Platform) (*llbgen.ImageConfig, error) {
	// A named context replaces the image for dockerfile2llb (--build-context,
	// or hoist's own pinning through mirrors): read the config it gives.
	nc, err := g.bc.NamedContext(ref, dockerui.ContextOpt{Platform: platform, ResolveMode: g.bc.ImageResolveMode.String()})
	if err != nil {
		return nil, err
	}
	if nc != nil {
		_, img, err := nc.Load(ctx)
		if err != nil {
			return nil, err
		}
		if img == nil {
			return &llbgen.ImageConfig{}, nil
		}
		return imageConfig(img), nil
	}
	prefix := "["
	if g.bc.MultiPlatformRequested && platform != nil {
		prefix += platforms.FormatAll(*platform) + " "
	}
	prefix += "internal]"
	_, _, dt, err := g.c.ResolveImageConfig(ctx, ref, sourceresolver.Opt{
		LogName: fmt.Sprintf("%s load metadata for %s", prefix, ref),
		ImageOpt: &sourceresolver.ResolveImageOpt{
			Platform:    platform,
			ResolveMode: g.bc.ImageResolveMode.String(),
		},
	})
	if err != nil {
		return nil, err
	}
	var img dockerspec.DockerOCIImage
	if err := json.Unmarshal(dt, &img); err != nil {
		return nil, errors.Wrap(err, "failed to parse image config")
	}
	return imageConfig(&img), nil
}

// prefetch starts the config lookups of every FROM image the build needs at
// once; the rewrite, which asks for them stage by stage, then finds them
// resolved or in flight. Errors are left for the rewrite's own lookup.
func (g *gatewayImages) prefetch(ctx context.Context, df *llbgen.Dockerfile, opt llbgen.ImageOptions) {
	uses, err := df.FindImages(opt)
	if err != nil {
		return
	}
	for _, u := range uses {
		if u.Kind != llbgen.UseFrom {
			continue
		}
		go g.Config(ctx, u.Name.String(), &u.Platform)
	}
}

func imageConfig(img *dockerspec.DockerOCIImage) *llbgen.ImageConfig {
	return &llbgen.ImageConfig{
		Env:        img.Config.Env,
		User:       img.Config.User,
		WorkingDir: img.Config.WorkingDir,
		Shell:      img.Config.Shell,
	}
}

// Passwd reads the image's /etc/passwd. It is only asked for when a RUN
// runs as a named user (or one a RUN useradd creates, whose uid follows
// the image's users), and pulls and unpacks the whole image before the
// build is submitted: a gateway client can read a file only from a mounted
// snapshot, and a layer-limited or registry-side read could miss a later
// layer's change to /etc/passwd. The build runs on the same image and
// reuses the unpacked snapshot (image sources are keyed by content), so
// the cost is the lost overlap of that pull with the build's other first
// steps (context transfer, other stages' pulls); BenchmarkColdFirstStep in
// test/e2e measures it. Not reading it would take the uid out of the
// rewrite: e.g. a cache mount seeded `from=` a stage that creates the
// directory as the user, so BuildKit resolves the name in the build.
func (g *gatewayImages) Passwd(ctx context.Context, ref string, platform *ocispecs.Platform) ([]byte, error) {
	var st llb.State
	nc, err := g.bc.NamedContext(ref, dockerui.ContextOpt{Platform: platform, ResolveMode: g.bc.ImageResolveMode.String()})
	if err != nil {
		return nil, err
	}
	if nc != nil {
		s, _, err := nc.Load(ctx)
		if err != nil {
			return nil, err
		}
		st = *s
	} else {
		opts := []llb.ImageOption{llb.WithCustomName("[internal] hoist: read /etc/passwd of " + ref)}
		if platform != nil {
			opts = append(opts, llb.Platform(*platform))
		}
		st = llb.Image(ref, opts...)
	}
	def, err := st.Marshal(ctx)
	if err != nil {
		return nil, err
	}
	res, err := g.c.Solve(ctx, client.SolveRequest{Definition: def.ToPB()})
	if err != nil {
		return nil, err
	}
	r, err := res.SingleRef()
	if err != nil {
		return nil, err
	}
	return r.ReadFile(ctx, client.ReadRequest{Filename: "/etc/passwd"})
}

// buildContext reads the manifests hoisting needs from the main build
// context. Only files matching llbgen.ContextPatterns are transferred, and
// only once, on start or the first read.
type buildContext struct {
	c    client.Client
	bc   *dockerui.Client
	once sync.Once
	done chan struct{}
	ref  client.Reference
	err  error

	ignoreOnce sync.Once
	ignore     []string
	ignoreErr  error
}

func newBuildContext(c client.Client, bc *dockerui.Client) *buildContext {
	return &buildContext{c: c, bc: bc, done: make(chan struct{})}
}

// start begins the transfer in the background; reads wait for it.
func (b *buildContext) start(ctx context.Context) {
	b.once.Do(func() {
		go func() {
			defer close(b.done)
			b.load(ctx)
		}()
	})
}

func (b *buildContext) wait(ctx context.Context) error {
	b.start(ctx)
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (b *buildContext) load(ctx context.Context) {
	// MainContext's own excludes are .dockerignore's; the option given
	// here replaces them, so they are repeated.
	ignore, err := b.bc.DockerIgnorePatterns(ctx)
	if err != nil {
		b.err = err
		return
	}
	st, err := b.bc.MainContext(ctx,
		llb.IncludePatterns(llbgen.ContextPatterns),
		llb.ExcludePatterns(append(append([]string(nil), ignore...), llbgen.ContextExcludes...)),
		llb.SharedKeyHint("hoist-manifests"),
		dockerui.WithInternalName("hoist: load manifests"),
	)
	if err != nil {
		b.err = err
		return
	}
	def, err := st.Marshal(ctx)
	if err != nil {
		b.err = err
		return
	}
	res, err := b.c.Solve(ctx, client.SolveRequest{Definition: def.ToPB()})
	if err != nil {
		b.err = err
		return
	}
	b.ref, b.err = res.SingleRef()
}

func (b *buildContext) ReadFile(ctx context.Context, p string) ([]byte, error) {
	if err := b.wait(ctx); err != nil {
		return nil, err
	}
	p = path.Clean(p)
	if _, err := b.ref.StatFile(ctx, client.StatRequest{Path: p}); err != nil {
		return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	return b.ref.ReadFile(ctx, client.ReadRequest{Filename: p})
}

func (b *buildContext) ReadDir(ctx context.Context, p string) ([]string, error) {
	if err := b.wait(ctx); err != nil {
		return nil, err
	}
	p = path.Clean(p)
	st, err := b.ref.StatFile(ctx, client.StatRequest{Path: p})
	if err != nil || !fs.FileMode(st.Mode).IsDir() {
		return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	entries, err := b.ref.ReadDir(ctx, client.ReadDirRequest{Path: p})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		n := path.Base(e.Path)
		if fs.FileMode(e.Mode).IsDir() {
			n += "/"
		}
		names = append(names, n)
	}
	return names, nil
}

// Ignored matches p against the context's .dockerignore, as the build's
// COPY instructions see it.
func (b *buildContext) Ignored(ctx context.Context, p string) (bool, error) {
	b.ignoreOnce.Do(func() {
		b.ignore, b.ignoreErr = b.bc.DockerIgnorePatterns(ctx)
	})
	if b.ignoreErr != nil {
		return false, b.ignoreErr
	}
	return llbgen.IgnoredPath(b.ignore, p)
}
