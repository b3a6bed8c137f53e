package frontend

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/gohugoio/hashstructure"
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

func (c *hoistClient) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	c.g.CacheError = true
	h, err := hashstructure.Hash(opt, nil)
	if err != nil {
		return "", "", nil, err
	}
	res, err := c.g.Do(ctx, fmt.Sprintf("%s,%d", ref, h), func(ctx context.Context) (*resolveResult, error) {
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
