package llbgen

import (
	"slices"
)

// Verifying a seeded Go module cache. A cache image is an input to the
// build: go checks a module's recorded zip hash (.ziphash) and its .mod
// file against go.sum whenever it uses them, but compiles the extracted
// directory as it finds it, and extracts a zip it finds without hashing it.
// A file changed in either after download goes into the binary unnoticed;
// go mod verify hashes both against the recorded hash.
//
// It runs in hoist's own download step, once per manifest change or cache
// image (both are in the step's cache key), not in every edit rebuild. Go's
// build cache cannot be checked this way (its entries are trusted by action
// ID); the README's "CI caches" says what that means for who writes the
// image.

// verifyDownload is what the hoisted download step runs after go mod
// download when it mounts module cache m seeded from the cache image, or ""
// when it does not or verification is off. env is the GO* prefix of the
// download, which applies to one command only.
func (a *analysis) verifyDownload(m cacheMount, env string) string {
	ci := a.opt.CacheFrom
	if !a.opt.Config.CacheVerify || ci == nil || ci.Ref == "" || m.from != "" || !slices.Contains(ci.IDs, m.id) {
		return ""
	}
	msg := "hoist: Go modules seeded from " + ci.Ref + " were modified after download (go mod verify above):" +
		" push a new cache image from a trusted build"
	return " && (" + env + "go mod verify || { echo " + shellQuote(msg) + " >&2; exit 1; })"
}

// verifiedDownload is a hoisted download that verifies its seeded module
// cache, for the steps after it.
type verifiedDownload struct {
	stage *stage
	line  int // the user line it is inserted at
	id    string
}

// noteUnverifiedSeeds warns about each RUN that mounts a seeded module cache
// no verifying download runs before (in its stage or one it builds on):
// such a step reads the cache image's modules as they are.
func (a *analysis) noteUnverifiedSeeds() {
	if !a.opt.Config.CacheVerify || a.opt.CacheFrom == nil {
		return
	}
	for _, rs := range a.steps {
		for _, m := range a.plan.mounts[rs.line] {
			if m.from == "" || !verifiedKind(m.id) {
				continue
			}
			covered := slices.ContainsFunc(a.verified, func(v verifiedDownload) bool {
				return v.id == m.id && v.line <= rs.line && isAncestorOrSelf(v.stage, rs.stage)
			})
			if !covered {
				a.note(RuleCacheFrom, rs.line, false, "module cache %s seeded from %s is not verified before this step: hoist inserted no go mod download before it (%s=off silences this)",
					m.id, a.opt.CacheFrom.Ref, ArgCacheVerify)
			}
		}
	}
}

// verifiedKind reports a cache id whose kind asks for verification.
func verifiedKind(id string) bool {
	k, ok := cacheKindOf(id)
	return ok && k.verify
}
