package llbgen

import (
	"fmt"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// stageFrom is what one stage's FROM line resolves to.
type stageFrom struct {
	base     string             // the base name, args expanded
	parent   int                // index of the earlier stage base names, -1: an image
	platform *ocispecs.Platform // the line's --platform, nil when it has none
}

// resolveFroms resolves every FROM line as dockerfile2llb does: in the
// global scope (the automatic platform args, which build args override,
// then the ARGs before the first FROM in order), a base name matching an
// earlier stage's name as written (not an index) names that stage. It
// returns the global scope and each stage's FROM; the errors are
// dockerfile2llb's, at the FROM line. Both the image lookups and the
// analysis start from it.
func resolveFroms(stages []instructions.Stage, metaArgs []instructions.ArgCommand, lex *shell.Lex, bp, tp ocispecs.Platform, target string, buildArgs map[string]string) (map[string]string, []stageFrom, error) {
	if target == "" && len(stages) > 0 {
		target = stages[len(stages)-1].Name
	}
	args := globalArgs(bp, tp, target, buildArgs)
	for _, cmd := range metaArgs {
		for _, kv := range cmd.Args {
			if v, ok := buildArgs[kv.Key]; ok {
				args[kv.Key] = v
				continue
			}
			if kv.Value == nil {
				continue
			}
			res, err := lex.ProcessWordWithMatches(*kv.Value, imageEnv(args))
			if err != nil {
				return nil, nil, parser.WithLocation(err, cmd.Location())
			}
			args[kv.Key] = res.Result
		}
	}
	froms := make([]stageFrom, len(stages))
	byName := map[string]int{}
	for i, st := range stages {
		base, err := lex.ProcessWordWithMatches(st.BaseName, imageEnv(args))
		if err != nil {
			return nil, nil, parser.WithLocation(err, st.Location)
		}
		if base.Result == "" {
			return nil, nil, parser.WithLocation(fmt.Errorf("base name (%s) should not be blank", st.BaseName), st.Location)
		}
		f := stageFrom{base: base.Result, parent: -1}
		if st.Platform != "" {
			pv, err := lex.ProcessWordWithMatches(st.Platform, imageEnv(args))
			if err != nil {
				return nil, nil, parser.WithLocation(err, st.Location)
			}
			p, err := platforms.Parse(pv.Result)
			if err != nil {
				return nil, nil, parser.WithLocation(fmt.Errorf("failed to parse platform %s: %w", st.Platform, err), st.Location)
			}
			f.platform = &p
		}
		if j, ok := byName[f.base]; ok {
			f.parent = j
		}
		if st.Name != "" {
			byName[st.Name] = i // the parser lowercases stage names
		}
		froms[i] = f
	}
	return args, froms, nil
}

// globalArgs are the automatic platform args and TARGETSTAGE, as
// dockerfile2llb's defaultArgs makes them: build args override them.
func globalArgs(bp, tp ocispecs.Platform, target string, overrides map[string]string) map[string]string {
	if target == "" {
		target = "default"
	}
	args := map[string]string{
		"BUILDPLATFORM":   platforms.Format(bp),
		"BUILDOS":         bp.OS,
		"BUILDOSVERSION":  bp.OSVersion,
		"BUILDARCH":       bp.Architecture,
		"BUILDVARIANT":    bp.Variant,
		"TARGETPLATFORM":  platforms.FormatAll(tp),
		"TARGETOS":        tp.OS,
		"TARGETOSVERSION": tp.OSVersion,
		"TARGETARCH":      tp.Architecture,
		"TARGETVARIANT":   tp.Variant,
		"TARGETSTAGE":     target,
	}
	for k := range args {
		if v, ok := overrides[k]; ok {
			args[k] = v
		}
	}
	return args
}
