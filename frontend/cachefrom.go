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
	"github.com/moby/buildkit/frontend/dockerui"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// checkCacheFrom checks HOIST_CACHE_FROM before the rewrite, for one
// platform. A cache is an optimisation: anything wrong with the image is
// one warning and the build goes on without seeding. The image is resolved
// and pulled as a FROM candidate is (resolve.go: same deadlines, retry and
// reasons), its config must carry the label listing its cache ids, and the
// seeded mounts name it by the digest just pulled. A mount pulls its image
// during the solve, where no hoist deadline applies: a registry that
// answered the config and then stalled or cut the layers would hang or
// fail the build there, and a tag moved since the check would bring
// content nobody checked.
func checkCacheFrom(ctx context.Context, f fetcher, bc *dockerui.Client, cfg llbgen.Config, platform *ocispecs.Platform) (*llbgen.CacheImage, string) {
	ref := cfg.CacheFrom
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
	named = reference.TagNameOnly(named)
	p := platforms.DefaultSpec()
	if platform != nil {
		p = *platform
	} else if len(bc.BuildPlatforms) > 0 {
		p = bc.BuildPlatforms[0]
	}
	var ids []string
	r := &imageResolver{
		f:              f,
		resolveTimeout: cfg.ResolveTimeout,
		pullTimeout:    cfg.PullTimeout,
		accept: func(dt []byte) error {
			var img dockerspec.DockerOCIImage
			if err := json.Unmarshal(dt, &img); err != nil {
				return fmt.Errorf("image config: %v", err)
			}
			label, ok := img.Config.Labels[llbgen.CacheIDsLabel]
			if !ok {
				return fmt.Errorf("the image has no %s label: build it with --target %s", llbgen.CacheIDsLabel, llbgen.CacheTarget)
			}
			ids = llbgen.CacheIDs(label)
			return nil
		},
	}
	res := r.resolveOne(ctx, llbgen.PlannedImage{
		ImageUse:   llbgen.ImageUse{Name: named, Platform: p, Kind: llbgen.UseMountFrom},
		Candidates: []llbgen.Candidate{{Ref: named, Host: reference.Domain(named)}},
	})
	if res.chosen == nil {
		reason := "cancelled"
		if n := len(res.failed); n > 0 {
			reason = res.failed[n-1].reason
		}
		return fail("%s", reason)
	}
	// The tag, if any, stays for the reader; the digest is what is used.
	pinned, err := reference.WithDigest(named, res.pinned.Digest())
	if err != nil {
		return fail("%v", err)
	}
	return &llbgen.CacheImage{Ref: pinned.String(), IDs: ids}, ""
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
