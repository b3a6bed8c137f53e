package frontend

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/hoistbuild/hoist/llbgen"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// checkCacheFrom checks HOIST_CACHE_FROM before the rewrite, for one
// platform. A cache mount seeded from an image that does not resolve would
// fail the build, and one whose directory is missing fails its RUN; a cache
// is an optimisation, so anything wrong with it is a warning and the build
// goes on without seeding. It resolves the config as dockerfile2llb will
// (same options, so hoistClient answers dockerfile2llb's lookup), and seeds
// only the ids the image's label lists.
func checkCacheFrom(ctx context.Context, c client.Client, bc *dockerui.Client, ref string, platform *ocispecs.Platform) (*llbgen.CacheImage, string) {
	if ref == "" {
		return nil, ""
	}
	fail := func(format string, args ...any) (*llbgen.CacheImage, string) {
		return nil, fmt.Sprintf("hoist: %s=%s not used, building without seeded caches: %s", llbgen.ArgCacheFrom, ref, fmt.Sprintf(format, args...))
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return fail("not an image reference: %v", err)
	}
	name := reference.TagNameOnly(named).String()
	p := platforms.DefaultSpec()
	if platform != nil {
		p = *platform
	} else if len(bc.BuildPlatforms) > 0 {
		p = bc.BuildPlatforms[0]
	}
	prefix := "["
	if bc.MultiPlatformRequested {
		prefix += platforms.FormatAll(p) + " "
	}
	prefix += "internal]"
	_, dgst, dt, err := c.ResolveImageConfig(ctx, name, sourceresolver.Opt{
		LogName: fmt.Sprintf("%s load metadata for %s", prefix, name),
		ImageOpt: &sourceresolver.ResolveImageOpt{
			Platform:    &p,
			ResolveMode: bc.ImageResolveMode.String(),
		},
	})
	if err != nil {
		return fail("%v", err)
	}
	var img dockerspec.DockerOCIImage
	if err := json.Unmarshal(dt, &img); err != nil {
		return fail("image config: %v", err)
	}
	label, ok := img.Config.Labels[llbgen.CacheIDsLabel]
	if !ok {
		return fail("the image has no %s label: build it with --target %s", llbgen.CacheIDsLabel, llbgen.CacheTarget)
	}
	return &llbgen.CacheImage{Ref: name, Digest: dgst.String(), IDs: llbgen.CacheIDs(label)}, ""
}

// cacheEpoch is a value that differs in every build: the copy steps of
// --target hoist-cache declare it, so they never come from the build cache
// (see llbgen.exportCaches).
func cacheEpoch() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
