// Package frontend is hoist's BuildKit gateway frontend. Its Build follows
// the stock Dockerfile frontend's (frontend/dockerfile/builder) step by step,
// with one addition: the Dockerfile is rewritten by llbgen before
// dockerfile2llb converts it, and every location is mapped back to the
// user's lines.
package frontend

import (
	"context"
	"maps"
	"strings"
	"sync"

	"github.com/containerd/platforms"
	"github.com/hoistbuild/hoist/llbgen"
	_ "github.com/hoistbuild/hoist/llbgen/ecosystems" // registers Go and Node with llbgen
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend"
	"github.com/moby/buildkit/frontend/attestations/sbom"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/frontend/subrequests/convertllb"
	"github.com/moby/buildkit/frontend/subrequests/lint"
	"github.com/moby/buildkit/frontend/subrequests/outline"
	"github.com/moby/buildkit/frontend/subrequests/targets"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/solver/result"
	"github.com/moby/buildkit/util/bkmaps"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

const keySyntaxArg = "build-arg:BUILDKIT_SYNTAX"

// Build is the gateway entrypoint.
func Build(ctx context.Context, gw client.Client) (_ *client.Result, err error) {
	c, hoistArgs := newClient(gw)
	cfg, err := llbgen.ParseConfig(hoistArgs)
	if err != nil {
		return nil, err
	}
	bc, err := dockerui.NewClient(c)
	if err != nil {
		return nil, err
	}
	opts := bc.BuildOpts().Opts
	allowForward, capsError := validateCaps(opts["frontend.caps"])
	if !allowForward && capsError != nil {
		return nil, capsError
	}

	src, err := bc.ReadEntrypoint(ctx, "Dockerfile")
	if err != nil {
		return nil, err
	}

	// A syntax directive or BUILDKIT_SYNTAX naming another frontend is
	// honoured as the stock frontend does, unless we were forwarded to.
	if _, ok := opts["cmdline"]; !ok {
		if cmdline, ok := opts[keySyntaxArg]; ok {
			p := strings.SplitN(strings.TrimSpace(cmdline), " ", 2)
			res, err := forwardGateway(ctx, gw, p[0], cmdline)
			if err != nil && len(errdefs.Sources(err)) == 0 {
				return nil, errors.Wrapf(err, "failed with %s = %s", keySyntaxArg, cmdline)
			}
			return res, err
		} else if ref, cmdline, loc, ok := parser.DetectSyntax(src.Data); ok {
			res, err := forwardGateway(ctx, gw, ref, cmdline)
			if err != nil && len(errdefs.Sources(err)) == 0 {
				return nil, wrapSource(err, src.SourceMap, loc)
			}
			return res, err
		}
	}

	if capsError != nil {
		return nil, capsError
	}

	convertOpt := dockerfile2llb.ConvertOpt{
		Config:       bc.Config,
		Client:       bc,
		SourceMap:    src.SourceMap,
		MetaResolver: c,
		Warn: func(rulename, description, url, msg string, location []parser.Range) {
			startLine := 0
			if len(location) > 0 {
				startLine = location[0].Start.Line
			}
			msg = linter.LintFormatShort(rulename, msg, startLine)
			src.Warn(ctx, msg, warnOpts(location, [][]byte{[]byte(description)}, url))
		},
	}

	// Subrequests describe the user's Dockerfile, not hoist's rewrite of it:
	// outline, targets and lint run on the user's text as the stock frontend.
	if res, ok, err := bc.HandleSubrequest(ctx, dockerui.RequestHandler{
		Outline: func(ctx context.Context) (*outline.Outline, error) {
			return dockerfile2llb.Dockerfile2Outline(ctx, src.Data, convertOpt)
		},
		ListTargets: func(ctx context.Context) (*targets.List, error) {
			return dockerfile2llb.ListTargets(ctx, src.Data)
		},
		Lint: func(ctx context.Context) (*lint.LintResults, error) {
			return dockerfile2llb.DockerfileLint(ctx, src.Data, convertOpt)
		},
		ConvertLLB: func(ctx context.Context) (*convertllb.Result, error) {
			return dockerfile2llb.DockerfileConvertLLB(ctx, src.Data, convertOpt)
		},
	}); err != nil {
		return nil, err
	} else if ok {
		return res, nil
	}

	// The user's Dockerfile, parsed once for every analysis below;
	// dockerfile2llb parses the text it converts itself.
	df := llbgen.ParseDockerfile(src.Data)

	// hoist image resolution (resolve.go): with HOIST_MIRRORS set, fetch and
	// pin every image through mirrors; otherwise bc is returned unchanged.
	if bc, err = resolveImages(ctx, c, bc, src, df, cfg); err != nil {
		return nil, err
	}
	convertOpt.Config, convertOpt.Client = bc.Config, bc

	defer func() {
		var el *parser.LocationError
		if errors.As(err, &el) {
			for _, l := range el.Locations {
				err = wrapSource(err, src.SourceMap, l)
			}
		}
	}()

	var scanner sbom.Scanner
	if bc.SBOM != nil {
		scannerPlatform := bc.BuildPlatforms[0]
		scanner, err = sbom.CreateSBOMScanner(ctx, c, bc.SBOM.Generator, scannerPlatform, sourceresolver.Opt{
			ImageOpt: &sourceresolver.ResolveImageOpt{
				ResolveMode: opts["image-resolve-mode"],
				Platform:    &scannerPlatform,
			},
		}, bc.SBOM.Parameters)
		if err != nil {
			return nil, err
		}
	}

	scanTargets := bkmaps.SyncMap[string, *dockerfile2llb.Result]{}
	images := newGatewayImages(c, bc)
	manifests := newBuildContext(c, bc)
	mayRewrite := df.MayRewrite(cfg)
	if mayRewrite {
		// The manifest transfer overlaps the image lookups and analysis
		// instead of following them.
		manifests.start(ctx)
	}
	epoch, err := cacheEpoch()
	if err != nil {
		return nil, err
	}
	var cacheWarned sync.Map // one warning per distinct message (platforms)
	tool := toolImage(opts)

	rb, err := bc.Build(ctx, func(ctx context.Context, platform *ocispecs.Platform, idx int) (*dockerui.BuildResult, error) {
		opt := convertOpt
		opt.BuildArgs = maps.Clone(opt.BuildArgs)
		opt.TargetPlatform = platform
		if idx != 0 {
			opt.Warn = nil
		}

		// CI caches (cachefrom.go): seed only from an image that was
		// pulled within the deadlines.
		var cacheFrom *llbgen.CacheImage
		if cfg.Enabled {
			var warn string
			f := gwFetcher{c: c.Client, resolveMode: bc.ImageResolveMode.String()}
			cacheFrom, warn = checkCacheFrom(ctx, f, bc, cfg, platform)
			if _, dup := cacheWarned.LoadOrStore(warn, true); warn != "" && !dup {
				src.Warn(ctx, warn, warnOpts(nil, nil, ""))
			}
		}
		if mayRewrite {
			images.prefetch(ctx, df, llbgen.ImageOptions{
				BuildArgs:      opt.BuildArgs,
				Target:         opt.Target,
				TargetPlatform: platform,
				BuildPlatform:  &bc.BuildPlatforms[0],
			})
		}
		rw, err := df.Rewrite(ctx, llbgen.Options{
			Config:         cfg,
			BuildArgs:      opt.BuildArgs,
			Target:         opt.Target,
			TargetPlatform: platform,
			BuildPlatform:  &bc.BuildPlatforms[0],
			Images:         images,
			Context:        manifests,
			CacheFrom:      cacheFrom,
			LayerCache:     len(bc.CacheImports) > 0,
			Tool:           tool,
		})
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(opt.Target, llbgen.CacheTarget) {
			if opt.BuildArgs == nil {
				opt.BuildArgs = map[string]string{}
			}
			opt.BuildArgs[llbgen.ArgCacheEpoch] = epoch
		}
		if idx == 0 {
			reportNotes(ctx, src, rw.Notes, skippedRules(bc, src.Data))
		}

		dfRes, err := llbgen.Dockerfile2LLB(ctx, rw, opt)
		if err != nil {
			return nil, err
		}

		def, err := llbgen.Marshal(ctx, rw, dfRes.State)
		if err != nil {
			return nil, err
		}

		r, err := c.Solve(ctx, client.SolveRequest{
			Definition:   def.ToPB(),
			CacheImports: bc.CacheImports,
		})
		if err != nil {
			return nil, err
		}

		ref, err := r.SingleRef()
		if err != nil {
			return nil, err
		}

		var p ocispecs.Platform
		if platform != nil {
			p = *platform
		} else {
			p = platforms.DefaultSpec()
		}
		id := platforms.FormatAll(platforms.Normalize(p))
		scanTargets.Store(id, dfRes)
		return &dockerui.BuildResult{
			Reference: ref,
			Image:     dfRes.Image,
			BaseImage: dfRes.BaseImage,
			Epoch:     dfRes.Epoch,
		}, nil
	})
	if err != nil {
		return nil, err
	}

	if scanner != nil {
		if err := rb.EachPlatform(ctx, func(ctx context.Context, id string, p ocispecs.Platform) error {
			target, ok := scanTargets.Load(id)
			if !ok {
				return errors.Errorf("no scan targets for %s", id)
			}

			var opts []llb.ConstraintsOpt
			if target.IsIgnoreCache {
				opts = append(opts, llb.IgnoreCache)
			}
			att, err := scanner(ctx, id, target.SBOM.Core, target.SBOM.Extras, opts...)
			if err != nil {
				return err
			}

			attSolve, err := result.ConvertAttestation(&att, func(st *llb.State) (client.Reference, error) {
				def, err := st.Marshal(ctx)
				if err != nil {
					return nil, err
				}
				r, err := c.Solve(ctx, frontend.SolveRequest{
					Definition: def.ToPB(),
				})
				if err != nil {
					return nil, err
				}
				return r.Ref, nil
			})
			if err != nil {
				return err
			}
			rb.AddAttestation(id, *attSolve)
			return nil
		}); err != nil {
			return nil, err
		}
	}

	return rb.Finalize()
}

// reportNotes shows each rewrite as a build warning on the user's line,
// except those of the rules the user skipped.
func reportNotes(ctx context.Context, src *dockerui.Source, notes []llbgen.Note, skip map[string]bool) {
	for _, n := range notes {
		if skip[n.Rule] {
			continue
		}
		loc := []parser.Range{{Start: parser.Position{Line: n.Line}, End: parser.Position{Line: n.Line}}}
		src.Warn(ctx, llbgen.FormatNote(n), warnOpts(loc, nil, ""))
	}
}

// skippedRules are the hoist rules named where BuildKit's own checks are
// skipped: BUILDKIT_DOCKERFILE_CHECK, else the Dockerfile's `# check=`
// directive, as dockerfile2llb reads them. Only names count: skip=all
// silences BuildKit's checks, and a rewrite is not a check, so hoist still
// reports it. A malformed directive is left for conversion to report.
func skippedRules(bc *dockerui.Client, dt []byte) map[string]bool {
	cfg := bc.LinterConfig
	if cfg == nil {
		v, _, _, _ := parser.ParseDirective("check", dt)
		var err error
		if cfg, err = linter.ParseLintOptions(v); err != nil {
			return nil
		}
	}
	skip := map[string]bool{}
	for _, r := range cfg.SkipRules {
		skip[r] = true
	}
	return skip
}

func forwardGateway(ctx context.Context, c client.Client, ref string, cmdline string) (*client.Result, error) {
	opts := maps.Clone(c.BuildOpts().Opts)
	if opts == nil {
		opts = map[string]string{}
	}
	opts["cmdline"] = cmdline
	opts["source"] = ref

	gwcaps := c.BuildOpts().Caps
	var frontendInputs map[string]*pb.Definition
	if (&gwcaps).Supports(gwpb.CapFrontendInputs) == nil {
		inputs, err := c.Inputs(ctx)
		if err != nil {
			return nil, errors.Wrapf(err, "failed to get frontend inputs")
		}

		frontendInputs = make(map[string]*pb.Definition)
		for name, state := range inputs {
			def, err := state.Marshal(ctx)
			if err != nil {
				return nil, err
			}
			frontendInputs[name] = def.ToPB()
		}
	}

	return c.Solve(ctx, client.SolveRequest{
		Frontend:       "gateway.v0",
		FrontendOpt:    opts,
		FrontendInputs: frontendInputs,
	})
}

func warnOpts(r []parser.Range, detail [][]byte, url string) client.WarnOpts {
	opts := client.WarnOpts{Level: 1, Detail: detail, URL: url}
	if r == nil {
		return opts
	}
	opts.Range = pbRanges(r)
	return opts
}

func wrapSource(err error, sm *llb.SourceMap, ranges []parser.Range) error {
	if sm == nil {
		return err
	}
	s := &errdefs.Source{
		Info: &pb.SourceInfo{
			Data:       sm.Data,
			Filename:   sm.Filename,
			Language:   sm.Language,
			Definition: sm.Definition.ToPB(),
		},
		Ranges: pbRanges(ranges),
	}
	return errdefs.WithSource(err, s)
}

func pbRanges(ranges []parser.Range) []*pb.Range {
	out := make([]*pb.Range, 0, len(ranges))
	for _, r := range ranges {
		out = append(out, &pb.Range{
			Start: &pb.Position{Line: int32(r.Start.Line), Character: int32(r.Start.Character)},
			End:   &pb.Position{Line: int32(r.End.Line), Character: int32(r.End.Character)},
		})
	}
	return out
}
