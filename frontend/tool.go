package frontend

import (
	"os"
	"strings"

	"github.com/moby/buildkit/frontend"
	"github.com/moby/buildkit/solver/pb"
)

// frontendDefinition is where BuildKit's gateway mounts the LLB definition
// of the image it started the frontend from.
const frontendDefinition = "/run/config/buildkit/metadata/frontend.bin"

// toolImage is hoist's own image, which the cache export and seeding steps
// run (llbgen.Options.Tool): the image this frontend runs from, pinned by
// the digest the gateway resolved, whether it was named by a syntax
// directive, BUILDKIT_SYNTAX, a digest or --opt source; the source option
// as given when the definition is not there to read.
func toolImage(opts map[string]string) string {
	if dt, err := os.ReadFile(frontendDefinition); err == nil {
		if ref := imageOfDefinition(dt); ref != "" {
			return ref
		}
	}
	return opts[frontend.KeySource]
}

// imageOfDefinition returns the image reference of a definition that is a
// single registry image, and "" for anything else (a named context, say).
func imageOfDefinition(dt []byte) string {
	var def pb.Definition
	if err := def.UnmarshalVT(dt); err != nil {
		return ""
	}
	ref := ""
	for _, d := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(d); err != nil {
			return ""
		}
		src := op.GetSource()
		if src == nil {
			continue
		}
		r, ok := strings.CutPrefix(src.Identifier, "docker-image://")
		if !ok || ref != "" {
			return ""
		}
		ref = r
	}
	return ref
}
