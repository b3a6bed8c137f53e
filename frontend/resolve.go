package frontend

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/distribution/reference"
	"github.com/hoistbuild/hoist/llbgen"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/util/grpcerrors"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"google.golang.org/grpc/codes"
)

// A frontend has no network of its own, so hoist drives the daemon's
// resolver and puller through the gateway, one candidate at a time under
// deadlines it controls. The daemon's mirror configuration is not used:
// each candidate is a plain image ref on the mirror's host.

// maxParallelResolves bounds concurrent image resolutions; each waits on
// the network, not on the CPU.
const maxParallelResolves = 16

// fetcher is what resolution needs from the daemon; gwFetcher is the real
// one, tests fake it.
type fetcher interface {
	// resolve returns the digest ref names and the image config for
	// platform p.
	resolve(ctx context.Context, ref string, p ocispecs.Platform) (digest.Digest, []byte, error)
	// pull fetches the manifest and layers of a digest-pinned ref.
	pull(ctx context.Context, ref string, p ocispecs.Platform) error
}

type gwFetcher struct {
	c           client.Client
	resolveMode string
}

func (f gwFetcher) resolve(ctx context.Context, ref string, p ocispecs.Platform) (digest.Digest, []byte, error) {
	_, dgst, cfg, err := f.c.ResolveImageConfig(ctx, ref, sourceresolver.Opt{
		LogName: "[hoist] resolve " + ref,
		ImageOpt: &sourceresolver.ResolveImageOpt{
			Platform:    &p,
			ResolveMode: f.resolveMode,
		},
	})
	return dgst, cfg, err
}

func (f gwFetcher) pull(ctx context.Context, ref string, p ocispecs.Platform) error {
	// BuildKit pulls layers lazily, when a snapshot is first mounted, so
	// solving the image alone would not fetch them. Copying a pattern that
	// matches nothing mounts the image (fetching every layer) and yields an
	// empty result.
	img := llb.Image(ref, llb.Platform(probePlatform(p, ref)), llb.WithCustomName("[hoist] pull "+ref))
	st := llb.Scratch().File(llb.Copy(img, "/.hoist-pull-probe-*", "/", &llb.CopyInfo{
		AllowWildcard:      true,
		AllowEmptyWildcard: true,
	}), llb.WithCustomName("[hoist] fetch layers of "+ref))
	def, err := st.Marshal(ctx, llb.Platform(p))
	if err != nil {
		return err
	}
	_, err = f.c.Solve(ctx, client.SolveRequest{Definition: def.ToPB(), Evaluate: true})
	return err
}

// probePlatform is p with an OS feature naming the candidate ref, so that
// each candidate's pull is its own vertex in the daemon. BuildKit keys an
// image source by manifest digest and platform only, not by registry
// (source/containerimage/pull.go, mainManifestKey), and for the rest of
// the build merges any vertex into an earlier one with the same key, even
// one whose solve was cancelled (solver/scheduler.go, edge index). Without
// this, the origin's pull of a digest that a slow mirror also serves was
// folded into the abandoned mirror pull and fetched from the mirror again;
// likewise the build's own FROM could be folded into a stalled pull. A
// requested OS feature that the image does not declare still matches
// (containerd platforms: an image's features must be a subset of the
// requested ones), so the same manifest is pulled.
func probePlatform(p ocispecs.Platform, ref string) ocispecs.Platform {
	p.OSFeatures = append(slices.Clone(p.OSFeatures), "hoist-probe-"+digest.FromString(ref).Encoded()[:16])
	return p
}

// imageResolver tries each image's candidates in order.
type imageResolver struct {
	f              fetcher
	resolveTimeout time.Duration
	pullTimeout    time.Duration
	// accept, if set, checks a candidate's image config before its pull; an
	// error rejects the candidate with that reason.
	accept func(config []byte) error
}

// failure is one candidate that did not serve the image.
type failure struct {
	cand   llbgen.Candidate
	reason string
	err    error
}

// resolution is the outcome for one image on one platform.
type resolution struct {
	img    llbgen.PlannedImage
	chosen *llbgen.Candidate
	pinned reference.Canonical // chosen candidate's name @ digest
	took   time.Duration
	failed []failure
}

// resolveAll resolves every planned image, at most maxParallelResolves at a
// time. Results are in plan order.
func (r *imageResolver) resolveAll(ctx context.Context, plan []llbgen.PlannedImage) []*resolution {
	out := make([]*resolution, len(plan))
	sem := make(chan struct{}, maxParallelResolves)
	var wg sync.WaitGroup
	for i, p := range plan {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = r.resolveOne(ctx, p)
		}()
	}
	wg.Wait()
	return out
}

func (r *imageResolver) resolveOne(ctx context.Context, p llbgen.PlannedImage) *resolution {
	res := &resolution{img: p}
	start := time.Now()
	var want digest.Digest
	if d, ok := p.Name.(reference.Digested); ok {
		want = d.Digest()
	}
	for _, cand := range p.Candidates {
		for try := 0; ; try++ {
			pinned, err := r.try(ctx, cand, p.Platform, want)
			if err == nil {
				res.chosen, res.pinned, res.took = &cand, pinned, time.Since(start)
				return res
			}
			if ctx.Err() != nil {
				res.failed = append(res.failed, failure{cand, "cancelled", ctx.Err()})
				return res
			}
			reason, transient := classify(err)
			if transient && try == 0 {
				continue
			}
			if try > 0 {
				reason += " (after a retry)"
			}
			res.failed = append(res.failed, failure{cand, reason, err})
			break
		}
	}
	return res
}

// stageError is a failure at one step of an attempt; the step's deadline
// turns into "no answer".
type stageError struct {
	step    string
	timeout time.Duration
	err     error
}

func (e *stageError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

type mismatchError struct{ got, want digest.Digest }

// rejectError is a candidate whose config accept refused.
type rejectError struct{ err error }

func (e *rejectError) Error() string { return e.err.Error() }

func (e *mismatchError) Error() string {
	return fmt.Sprintf("serves %s, not the pinned %s", e.got, e.want)
}

// try resolves one candidate and pulls it, each step under its deadline.
func (r *imageResolver) try(ctx context.Context, cand llbgen.Candidate, p ocispecs.Platform, want digest.Digest) (reference.Canonical, error) {
	rctx, cancel := context.WithTimeout(ctx, r.resolveTimeout)
	dgst, cfg, err := r.f.resolve(rctx, cand.Ref.String(), p)
	if err != nil && ctx.Err() == nil && (rctx.Err() != nil || isDeadline(err)) {
		err = context.DeadlineExceeded
	}
	cancel()
	if err != nil {
		return nil, &stageError{"resolve", r.resolveTimeout, err}
	}
	if want != "" && dgst != want {
		return nil, &mismatchError{dgst, want}
	}
	if r.accept != nil {
		if err := r.accept(cfg); err != nil {
			return nil, &rejectError{err}
		}
	}
	pinned, err := reference.WithDigest(reference.TrimNamed(cand.Ref), dgst)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, r.pullTimeout)
	err = r.f.pull(pctx, pinned.String(), p)
	if err != nil && ctx.Err() == nil && (pctx.Err() != nil || isDeadline(err)) {
		err = context.DeadlineExceeded
	}
	cancel()
	if err != nil {
		return nil, &stageError{"pull", r.pullTimeout, err}
	}
	return pinned, nil
}

// isDeadline reports a deadline error, also when the daemon, which gets
// the deadline through gRPC, reports it before the local context expires.
// The daemon's error arrives as a gRPC status ("DeadlineExceeded: …" from
// grpcerrors) or, wrapped further, as text only.
func isDeadline(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || grpcerrors.Code(err) == codes.DeadlineExceeded {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "DeadlineExceeded") || strings.Contains(msg, "deadline exceeded")
}

var statusRe = regexp.MustCompile(`\b([45]\d\d) ([A-Z][A-Za-z]+(?: [A-Z][A-Za-z]+)*)`)

// classify turns an attempt's error into a short reason and whether one
// retry may help. Errors arrive as text through gRPC, so they are matched
// by their wording (containerd's resolver and Go's net package).
func classify(err error) (reason string, transient bool) {
	var mm *mismatchError
	if errors.As(err, &mm) {
		return "digest mismatch: " + mm.Error(), false
	}
	var rj *rejectError
	if errors.As(err, &rj) {
		return rj.Error(), false
	}
	step := ""
	var se *stageError
	if errors.As(err, &se) {
		if se.step == "pull" {
			step = "pull: "
		}
		if errors.Is(se.err, context.DeadlineExceeded) {
			return fmt.Sprintf("%sno answer within %s", step, se.timeout), false
		}
	}
	msg := err.Error()
	if se != nil {
		msg = se.err.Error()
	}
	switch {
	case strings.Contains(msg, "connection refused"):
		return step + "connection refused", false
	case strings.Contains(msg, "connection reset"):
		return step + "connection reset", true
	case strings.Contains(msg, "not found"):
		return step + "not found", false
	}
	if m := statusRe.FindStringSubmatch(msg); m != nil {
		code := m[1]
		transient := code == "500" || code == "502" || code == "503" || code == "504"
		return step + m[1] + " " + m[2], transient
	}
	switch {
	case strings.Contains(msg, "EOF"), strings.Contains(msg, "server closed"), strings.Contains(msg, "broken pipe"):
		return step + "connection closed", true
	}
	// Unknown: the message without gRPC's wrapping.
	if _, desc, ok := strings.Cut(msg, "desc = "); ok {
		msg = desc
	}
	if len(msg) > 240 {
		msg = msg[:240] + "…"
	}
	return step + msg, false
}

// familiar is how an image is named in reports: golang:1.26, not
// docker.io/library/golang:1.26.
func familiar(n reference.Named) string {
	return reference.FamiliarString(n)
}

func shortDigest(d digest.Digest) string {
	s := d.String()
	if i := strings.IndexByte(s, ':'); i >= 0 && len(s) > i+13 {
		return s[:i+13]
	}
	return s
}

// message is the report of one resolved image:
//
//	golang:1.26 from mirror.internal:5000 (sha256:0123456789ab, 0.2 s)
//	node:20 from docker.io (sha256:…, 1.1 s) after mirror.internal:5000: not found
func (r *resolution) message(multiPlatform bool) string {
	var b strings.Builder
	b.WriteString(familiar(r.img.Name))
	if multiPlatform {
		fmt.Fprintf(&b, " [%s]", llbgen.PlatformKey(r.img.Platform))
	}
	fmt.Fprintf(&b, " from %s (%s, %.1f s)", r.chosen.Host, shortDigest(r.pinned.Digest()), r.took.Seconds())
	if len(r.failed) > 0 {
		b.WriteString(" after ")
		for i, f := range r.failed {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s: %s", f.cand.Host, f.reason)
		}
	}
	return b.String()
}

// ResolveError is returned when no candidate served an image.
type ResolveError struct {
	Image    string // familiar name
	Platform string
	Tried    []string // "candidate ref: reason"
	Location []parser.Range
}

func (e *ResolveError) Error() string {
	return fmt.Sprintf("hoist: no registry served %s (%s):\n  %s", e.Image, e.Platform, strings.Join(e.Tried, "\n  "))
}

func (r *resolution) err() *ResolveError {
	e := &ResolveError{Image: familiar(r.img.Name), Platform: llbgen.PlatformKey(r.img.Platform), Location: r.img.Location}
	for _, f := range r.failed {
		e.Tried = append(e.Tried, f.cand.Ref.String()+": "+f.reason)
	}
	return e
}

// userContext reports whether the user gave a named context for name, for
// all platforms or for p; theirs wins over hoist's.
func userContext(opts map[string]string, name string, p ocispecs.Platform) bool {
	_, all := opts["context:"+name]
	_, one := opts["context:"+name+"::"+llbgen.PlatformKey(p)]
	return all || one
}

// resolveImages resolves every image the Dockerfile needs through
// cfg.Mirrors, reports where each came from, and pins it with a named
// context (context:<name>::<platform>=docker-image://<candidate>@<digest>)
// so that the whole build uses exactly what was fetched. Without mirrors,
// or with HOIST=off or HOIST_RESOLVE=off, it does nothing and returns bc. The returned client is the one to convert
// with.
func resolveImages(ctx context.Context, c *hoistClient, bc *dockerui.Client, src *dockerui.Source, df *llbgen.Dockerfile, cfg llbgen.Config) (*dockerui.Client, error) {
	if !cfg.Enabled || !cfg.Resolve || len(cfg.Mirrors) == 0 {
		return bc, nil
	}
	opts := c.opts.Opts
	tps := bc.TargetPlatforms
	if len(tps) == 0 {
		tps = []ocispecs.Platform{bc.BuildPlatforms[0]}
	}
	plan, err := df.Plan(llbgen.PlanOptions{
		ImageOptions: llbgen.ImageOptions{
			BuildArgs:     bc.BuildArgs,
			Target:        bc.Target,
			BuildPlatform: &bc.BuildPlatforms[0],
			HasContext: func(name string, p ocispecs.Platform) bool {
				return userContext(opts, name, p)
			},
		},
		Mirrors:         cfg.Mirrors,
		TargetPlatforms: tps,
	})
	if err != nil {
		// dockerfile2llb reports an invalid Dockerfile as the stock
		// frontend does.
		return bc, nil
	}
	r := &imageResolver{
		f:              gwFetcher{c: c.Client, resolveMode: bc.ImageResolveMode.String()},
		resolveTimeout: cfg.ResolveTimeout,
		pullTimeout:    cfg.PullTimeout,
	}
	results := r.resolveAll(ctx, plan)

	added := map[string]string{}
	var errs []*ResolveError
	for _, res := range results {
		if res.chosen == nil {
			errs = append(errs, res.err())
			continue
		}
		loc := res.img.Location
		if src.Warn != nil {
			src.Warn(ctx, "hoist: "+res.message(len(tps) > 1), warnOpts(loc, nil, ""))
		}
		key := "context:" + res.img.ContextName() + "::" + llbgen.PlatformKey(res.img.Platform)
		added[key] = "docker-image://" + res.pinned.String()
	}
	if len(errs) > 0 {
		var lines []string
		for _, e := range errs {
			lines = append(lines, e.Error())
		}
		err := errors.New(strings.Join(lines, "\n"))
		if ctx.Err() != nil {
			err = errors.Wrap(ctx.Err(), err.Error())
		}
		return nil, wrapSource(err, src.SourceMap, errs[0].Location)
	}
	return withContexts(ctx, c, bc, added)
}

// withContexts returns a dockerui client that also sees the added named
// contexts. The options are cloned, not edited in place: the first client
// and hoistClient keep the options the build was started with. The new
// client reads the entrypoint again, as the first did, to learn the
// Dockerfile-specific .dockerignore (the read is the same solve, answered
// from the daemon's cache).
func withContexts(ctx context.Context, c *hoistClient, bc *dockerui.Client, added map[string]string) (*dockerui.Client, error) {
	if len(added) == 0 {
		return bc, nil
	}
	bopts := c.BuildOpts()
	bopts.Opts = maps.Clone(bopts.Opts)
	if bopts.Opts == nil {
		bopts.Opts = map[string]string{}
	}
	maps.Copy(bopts.Opts, added)
	nbc, err := dockerui.NewClient(&optsClient{hoistClient: c, opts: bopts})
	if err != nil {
		return nil, err
	}
	if _, err := nbc.ReadEntrypoint(ctx, "Dockerfile"); err != nil {
		return nil, err
	}
	return nbc, nil
}

// optsClient is hoistClient with other build options; image lookups still
// go through hoistClient's cache.
type optsClient struct {
	*hoistClient
	opts client.BuildOpts
}

func (c *optsClient) BuildOpts() client.BuildOpts { return c.opts }
