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

// VerifyDownload is what the hoisted download step runs after go mod
// download when it mounts module cache m seeded from the cache image, or ""
// when it does not or verification is off. env is the GO* prefix of the
// download, which applies to one command only.
func (a *Analysis) VerifyDownload(m CacheMount, env string) string {
	ci := a.Opt.CacheFrom
	if !a.Opt.Config.CacheVerify || ci == nil || ci.Ref == "" || m.from != "" || !slices.Contains(ci.IDs, m.ID) {
		return ""
	}
	msg := "hoist: Go modules seeded from " + ci.Ref + " were modified after download (go mod verify above):" +
		" push a new cache image from a trusted build"
	return " && (" + env + "go mod verify || { echo " + ShellQuote(msg) + " >&2; exit 1; })"
}

// VerifiedDownload is a hoisted download that verifies its seeded module
// cache, for the steps after it.
type VerifiedDownload struct {
	Stage *Stage
	Line  int // the user line it is inserted at
	ID    string
}

// noteUnverifiedSeeds warns about each RUN that mounts a seeded module cache
// no verifying download runs before (in its stage or one it builds on):
// such a step reads the cache image's modules as they are.
func (a *Analysis) noteUnverifiedSeeds() {
	if !a.Opt.Config.CacheVerify || a.Opt.CacheFrom == nil {
		return
	}
	for _, rs := range a.Steps {
		for _, m := range a.Plan.mounts[rs.Line] {
			if m.from == "" || !verifiedKind(m.ID) {
				continue
			}
			covered := slices.ContainsFunc(a.Verified, func(v VerifiedDownload) bool {
				return v.ID == m.ID && v.Line <= rs.Line && IsAncestorOrSelf(v.Stage, rs.Stage)
			})
			if !covered {
				a.Note(RuleCacheFrom, rs.Line, false, "module cache %s seeded from %s is not verified before this step: hoist inserted no go mod download before it (%s=off silences this)",
					m.ID, a.Opt.CacheFrom.Ref, ArgCacheVerify)
			}
		}
	}
}

// verifiedKind reports a cache id whose kind asks for verification.
func verifiedKind(id string) bool {
	k, ok := cacheKindOf(id)
	return ok && k.Verify
}
