package frontend

import (
	"context"
	"maps"
	"strings"

	"github.com/containerd/platforms"
	"github.com/hoistbuild/hoist/llbgen"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/util/flightcontrol"
	digest "github.com/opencontainers/go-digest"
)

// hoistClient is the gateway client hoist hands to dockerui and
// dockerfile2llb. It hides hoist's own build args, so they are never seen as
// unconsumed, and caches image config lookups across platforms and stages.
type hoistClient struct {
	client.Client
	opts client.BuildOpts
	g    flightcontrol.CachedGroup[*resolveResult]
}

// newClient splits hoist's build args off the client's options.
func newClient(c client.Client) (*hoistClient, map[string]string) {
	bopts := c.BuildOpts()
	own := map[string]string{}
	opts := maps.Clone(bopts.Opts)
	for k, v := range opts {
		name, ok := strings.CutPrefix(k, "build-arg:")
		if ok && llbgen.IsHoistArg(name) {
			own[name] = v
			delete(opts, k)
		}
	}
	bopts.Opts = opts
	return &hoistClient{Client: c, opts: bopts}, own
}

func (c *hoistClient) BuildOpts() client.BuildOpts {
	return c.opts
}

type resolveResult struct {
	ref  string
	dgst digest.Digest
	cfg  []byte
}

// ResolveImageConfig answers each (ref, platform, resolve mode) once. The
// log name only labels the daemon's progress, so lookups by dockerfile2llb,
// hoist's analysis and dockerui's named contexts share one answer whatever
// they call it. Options that change the answer (source policies, layouts,
// attestations, no config) are passed through uncached.
func (c *hoistClient) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	key, ok := imageKey(ref, opt)
	if !ok {
		return c.Client.ResolveImageConfig(ctx, ref, opt)
	}
	c.g.CacheError = true
	res, err := c.g.Do(ctx, key, func(ctx context.Context) (*resolveResult, error) {
		ref, dgst, cfg, err := c.Client.ResolveImageConfig(ctx, ref, opt)
		if err != nil {
			return nil, err
		}
		return &resolveResult{ref, dgst, cfg}, nil
	})
	if err != nil {
		return "", "", nil, err
	}
	return res.ref, res.dgst, res.cfg, nil
}

// imageKey is the cache key of a plain image config lookup; false for
// lookups whose answer depends on more than ref, platform and resolve mode.
func imageKey(ref string, opt sourceresolver.Opt) (string, bool) {
	io := opt.ImageOpt
	if io == nil || len(opt.SourcePolicies) > 0 || opt.OCILayoutOpt != nil || opt.GitOpt != nil || opt.HTTPOpt != nil ||
		io.NoConfig || io.AttestationChain || len(io.ResolveAttestations) > 0 {
		return "", false
	}
	p := "-"
	if io.Platform != nil {
		n := platforms.Normalize(*io.Platform)
		p = platforms.FormatAll(n) + "|" + n.OSVersion + "|" + strings.Join(n.OSFeatures, ",")
	}
	return ref + " " + p + " " + io.ResolveMode, true
}
