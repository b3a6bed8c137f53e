package llbgen

// Shared helpers for tests that convert Dockerfiles without a BuildKit
// daemon: a deterministic image resolver, one function per pipeline (stock
// dockerfile2llb and hoist's Rewrite → Dockerfile2LLB → Marshal), and a
// comparison of everything the two produce.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/solver/pb"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/protobuf/proto"
)

// testResolver is an llb.ImageMetaResolver that answers every ref with a
// fixed, non-scratch image config, so conversions are deterministic and need
// no registry. The config's platform is the one asked for, so no platform
// mismatch warnings appear unless a ref asks for them. A few ref markers
// give other answers, for the corpus to exercise those code paths:
//   - "notfound" in the ref: resolution fails;
//   - "onbuild" in the ref: the image carries ONBUILD triggers;
//   - "amd64only" in the ref: the image is linux/amd64 whatever was asked.
type testResolver struct{}

var _ llb.ImageMetaResolver = testResolver{}

// testImageDiffID is the single layer of every resolved test image.
var testImageDiffID = digest.FromString("hoist test layer")

func (testResolver) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	if strings.Contains(ref, "notfound") {
		return "", "", nil, fmt.Errorf("%s: not found", ref)
	}
	p := platforms.DefaultSpec()
	p.OS, p.Architecture, p.Variant = "linux", "amd64", ""
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil && !strings.Contains(ref, "amd64only") {
		p = *opt.ImageOpt.Platform
	}
	var img dockerspec.DockerOCIImage
	img.Platform = p
	img.RootFS.Type = "layers"
	img.RootFS.DiffIDs = []digest.Digest{testImageDiffID}
	img.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	img.Config.Cmd = []string{"/bin/sh"}
	if strings.Contains(ref, "onbuild") {
		img.Config.OnBuild = []string{"RUN echo onbuild trigger", "COPY trigger.txt /trigger.txt"}
	}
	dt, err := json.Marshal(img)
	if err != nil {
		return "", "", nil, err
	}
	return ref, digest.FromString("hoist test image " + ref + " " + platforms.FormatAll(p)), dt, nil
}

// convertCase is one set of conversion options.
type convertCase struct {
	BuildArgs      map[string]string
	Target         string
	TargetPlatform *ocispecs.Platform
	// TargetPlatforms and MultiPlatform model a multi-platform request.
	TargetPlatforms []ocispecs.Platform
	MultiPlatform   bool
	BuildPlatform   ocispecs.Platform
}

// lintWarning is one warning dockerfile2llb reported.
type lintWarning struct {
	Rule, Description, URL, Message string
	Ranges                          []parser.Range
}

// convertOutput is everything a conversion produced.
type convertOutput struct {
	Def       *llb.Definition
	Image     []byte // res.Image as JSON
	BaseImage []byte // res.BaseImage as JSON
	Warnings  []lintWarning
	Err       error
}

// convertOpt builds the ConvertOpt for c. src is the user's text, which the
// source map always holds.
func (c convertCase) convertOpt(src []byte, out *convertOutput) dockerfile2llb.ConvertOpt {
	opt := dockerfile2llb.ConvertOpt{
		Config: dockerui.Config{
			BuildArgs:              maps.Clone(c.BuildArgs),
			Target:                 c.Target,
			TargetPlatforms:        slices.Clone(c.TargetPlatforms),
			BuildPlatforms:         []ocispecs.Platform{c.BuildPlatform},
			MultiPlatformRequested: c.MultiPlatform,
		},
		SourceMap:      llb.NewSourceMap(nil, "Dockerfile", "Dockerfile", src),
		TargetPlatform: c.TargetPlatform,
		MetaResolver:   testResolver{},
		Warn: func(rule, description, url, msg string, location []parser.Range) {
			out.Warnings = append(out.Warnings, lintWarning{rule, description, url, msg, slices.Clone(location)})
		},
	}
	if opt.BuildArgs == nil {
		opt.BuildArgs = map[string]string{}
	}
	// The frontend always has a client's caps; dockerfile2llb panics on
	// some mounts without them.
	caps := pb.Caps.CapSet(pb.Caps.All())
	opt.LLBCaps = &caps
	return opt
}

func (c convertCase) withDefaults() convertCase {
	if c.BuildPlatform.OS == "" {
		c.BuildPlatform = ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	}
	return c
}

// marshalOpts pins the unique ID llb gives local sources that have no
// session, which is random per Marshal. With a client (as in the frontend)
// local sources carry the session ID instead.
var marshalOpts = []llb.ConstraintsOpt{llb.LocalUniqueID("hoist-test-local")}

// convertStock converts dt exactly as the stock frontend does.
func convertStock(ctx context.Context, dt []byte, c convertCase) *convertOutput {
	c = c.withDefaults()
	out := &convertOutput{}
	res, err := dockerfile2llb.Dockerfile2LLB(ctx, dt, c.convertOpt(dt, out))
	if err != nil {
		out.Err = err
		return out
	}
	def, err := res.State.Marshal(ctx, marshalOpts...)
	if err != nil {
		out.Err = err
		return out
	}
	out.finish(def, res)
	return out
}

// convertHoist converts dt through hoist's pipeline with the options
// passed exactly as frontend.Build passes them: Rewrite sees the very
// build-arg map dockerfile2llb gets, so a rewrite mutating it shows here.
func convertHoist(ctx context.Context, dt []byte, c convertCase) (*convertOutput, *Result) {
	c = c.withDefaults()
	out := &convertOutput{}
	opt := c.convertOpt(dt, out)
	rw, err := Rewrite(ctx, dt, Options{
		Config:         DefaultConfig(),
		BuildArgs:      opt.BuildArgs,
		Target:         opt.Target,
		TargetPlatform: opt.TargetPlatform,
		BuildPlatform:  &opt.BuildPlatforms[0],
	})
	if err != nil {
		out.Err = fmt.Errorf("hoist rewrite: %w", err)
		return out, nil
	}
	return convertRewrittenOpt(ctx, rw, opt, out), rw
}

// convertRewritten converts an already rewritten Dockerfile of the user's
// text src through llbgen.Dockerfile2LLB and llbgen.Marshal.
func convertRewritten(ctx context.Context, src []byte, rw *Result, c convertCase) *convertOutput {
	c = c.withDefaults()
	out := &convertOutput{}
	return convertRewrittenOpt(ctx, rw, c.convertOpt(src, out), out)
}

func convertRewrittenOpt(ctx context.Context, rw *Result, opt dockerfile2llb.ConvertOpt, out *convertOutput) *convertOutput {
	res, err := Dockerfile2LLB(ctx, rw, opt)
	if err != nil {
		out.Err = err
		return out
	}
	def, err := Marshal(ctx, rw, res.State, marshalOpts...)
	if err != nil {
		out.Err = err
		return out
	}
	out.finish(def, res)
	return out
}

func (out *convertOutput) finish(def *llb.Definition, res *dockerfile2llb.Result) {
	out.Def = def
	var err error
	if out.Image, err = json.Marshal(res.Image); err != nil {
		out.Err = err
	}
	if out.BaseImage, err = json.Marshal(res.BaseImage); err != nil {
		out.Err = err
	}
}

// locationRanges returns the ranges of the first parser.LocationError in
// err's chain, or nil.
func locationRanges(err error) [][]parser.Range {
	var le *parser.LocationError
	if errors.As(err, &le) {
		return le.Locations
	}
	return nil
}

// lintViolation starts the error of a Dockerfile with check=error=true; the
// linter lists the rules in map order, so they are sorted for comparison.
const lintViolation = "lint violation found for rules: "

func canonicalError(err error) string {
	msg := err.Error()
	if rules, ok := strings.CutPrefix(msg, lintViolation); ok {
		l := strings.Split(rules, ", ")
		slices.Sort(l)
		msg = lintViolation + strings.Join(l, ", ")
	}
	return msg
}

// diffOutputs lists every difference between two conversions: errors and
// their locations, warnings, image configs, and the marshalled definitions
// op by op (bytes, digests, metadata) and their source maps.
func diffOutputs(want, got *convertOutput) []string {
	var d []string
	if (want.Err == nil) != (got.Err == nil) {
		return append(d, fmt.Sprintf("error: stock %v, hoist %v", want.Err, got.Err))
	}
	if want.Err != nil {
		if canonicalError(want.Err) != canonicalError(got.Err) {
			d = append(d, fmt.Sprintf("error text:\n stock %q\n hoist %q", want.Err, got.Err))
		}
		if w, g := locationRanges(want.Err), locationRanges(got.Err); !equalJSON(w, g) {
			d = append(d, fmt.Sprintf("error locations: stock %v, hoist %v", w, g))
		}
	}
	if !equalJSON(want.Warnings, got.Warnings) {
		d = append(d, fmt.Sprintf("warnings:\n stock %+v\n hoist %+v", want.Warnings, got.Warnings))
	}
	if want.Err != nil {
		return d
	}
	if !bytes.Equal(want.Image, got.Image) {
		d = append(d, fmt.Sprintf("image config:\n stock %s\n hoist %s", want.Image, got.Image))
	}
	if !bytes.Equal(want.BaseImage, got.BaseImage) {
		d = append(d, fmt.Sprintf("base image config:\n stock %s\n hoist %s", want.BaseImage, got.BaseImage))
	}
	return append(d, diffDefinitions(want.Def, got.Def)...)
}

func diffDefinitions(want, got *llb.Definition) []string {
	var d []string
	if len(want.Def) != len(got.Def) {
		d = append(d, fmt.Sprintf("op count: stock %d, hoist %d", len(want.Def), len(got.Def)))
	}
	for i := range min(len(want.Def), len(got.Def)) {
		if !bytes.Equal(want.Def[i], got.Def[i]) {
			d = append(d, fmt.Sprintf("op %d: stock %s, hoist %s", i, digest.FromBytes(want.Def[i]), digest.FromBytes(got.Def[i])))
		}
	}
	if !slices.Equal(sortedKeys(want.Metadata), sortedKeys(got.Metadata)) {
		d = append(d, fmt.Sprintf("metadata digests: stock %v, hoist %v", sortedKeys(want.Metadata), sortedKeys(got.Metadata)))
	}
	wantMeta, gotMeta := canonicalMetadata(want.Metadata), canonicalMetadata(got.Metadata)
	for dgst, wm := range wantMeta {
		if gm, ok := gotMeta[dgst]; ok && !proto.Equal(wm, gm) {
			d = append(d, fmt.Sprintf("metadata of %s:\n stock %v\n hoist %v", dgst, wm, gm))
		}
	}
	if !proto.Equal(want.Source, got.Source) {
		d = append(d, fmt.Sprintf("source map:\n stock %v\n hoist %v", want.Source, got.Source))
	}
	return d
}

// canonicalMetadata returns the op metadata with progress group IDs, which
// dockerfile2llb draws at random (COPY --link), renamed in order of first
// use over the sorted op digests, so grouping is still compared.
func canonicalMetadata(m map[digest.Digest]llb.OpMetadata) map[digest.Digest]*pb.OpMetadata {
	ids := map[string]string{}
	out := make(map[digest.Digest]*pb.OpMetadata, len(m))
	for _, dgst := range sortedKeys(m) {
		// ToPB shares pointers with the definition: clone before renaming.
		md := proto.Clone(m[dgst].ToPB()).(*pb.OpMetadata)
		if pg := md.GetProgressGroup(); pg != nil {
			id, ok := ids[pg.Id]
			if !ok {
				id = fmt.Sprintf("progress-group-%d", len(ids))
				ids[pg.Id] = id
			}
			pg.Id = id
		}
		out[dgst] = md
	}
	return out
}

func sortedKeys(m map[digest.Digest]llb.OpMetadata) []digest.Digest {
	return slices.Sorted(maps.Keys(m))
}

func equalJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// requireSame fails t with every difference between two conversions.
func requireSame(t *testing.T, want, got *convertOutput) {
	t.Helper()
	for _, d := range diffOutputs(want, got) {
		t.Error(d)
	}
}
