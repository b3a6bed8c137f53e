package llbgen

import (
	"context"
	"strings"
	"time"

	"github.com/hoistbuild/hoist/llbgen/shellscan"
)

// An Ecosystem is one language's package tooling as the rewrite sees it:
// Go modules, Node's package managers. rewrite (plan.go) runs the
// registered ecosystems in order and knows nothing of any of them; each
// starts a pass over the analysed Dockerfile.
type Ecosystem interface {
	Name() string
	// Enabled reports whether the user's configuration switches it on.
	Enabled(Config) bool
	// Caches are the cache kinds its mounts use (cache ids are hoist-*).
	Caches() []CacheKind
	// ContextFiles are the patterns of the context files it reads
	// (manifests), and of directories whose content it never reads
	// (installed dependencies), for ContextPatterns.
	ContextFiles() (files, dirs []string)
	// Tools are the command names that run it, for the cheap filter of
	// Dockerfiles hoist has nothing to do for (mayRunTools).
	Tools() []string
	// Knows reports whether the safety engine can follow call c as one of
	// the ecosystem's commands, and whether c may still run code hoist
	// cannot see (a package.json script): the safety engine's opaque.
	Knows(c shellscan.Call) (known, opaque bool)
	// QueriesPaths reports a call that prints the tool's cache paths
	// (go env): a later call whose name or arguments the shell analysis
	// cannot know may then use them.
	QueriesPaths(c shellscan.Call) bool
	// Offline says how a RUN with env and calls cannot fetch what the
	// ecosystem's caches lack ("runs with GOPROXY=off"), "" when it can.
	Offline(env map[string]string, calls []shellscan.Call) string
	Start(a *Analysis) Pass
}

// Pass is one ecosystem's work on one Dockerfile, in the order
// rewrite calls it.
type Pass interface {
	// Analyse finds the steps the ecosystem handles (its tools run there,
	// or may: an opaque step in a stage that has the tool) and the cache
	// paths each step's environment and user give. What makes a step
	// unsafe for a cache (a clean, a write) it records in the step's facts
	// (safety.go), which every ecosystem's verdicts then see.
	Analyse(ctx context.Context) error
	// Mount decides each handled step's cache mounts with the safety
	// engine (stepVerdict, contentVerdict) and notes why a cache gets none.
	Mount()
	// Hoist, when Config.Steps, moves the dependency download a stage's
	// steps need before the COPY of the sources, copying the manifests it
	// needs first.
	Hoist(ctx context.Context) error
	// Done returns the handled steps' final cache mounts, in step order,
	// and notes the mounts it has not noted yet (Node notes after
	// hoisting, which may drop an install and its mount; Go as it mounts).
	Done() []StepMounts
}

// StepMounts are the cache mounts one RUN gets.
type StepMounts struct {
	Step   *RunStep
	Mounts []CacheMount
}

// CacheKind is one kind of cache an ecosystem mounts.
type CacheKind struct {
	ID string // cache id; a per-user suffix may follow ("-1000", "-name")
	// Keep, when set, trims entries unused for that long when the cache
	// is exported, and seeds the cache with a fresh trim stamp
	// (cachefrom.go): the cache grows with every build otherwise.
	Keep time.Duration
	// Verify, for a cache seeded from a CI cache image, asks for a
	// download step to check it before any step uses it (cacheverify.go).
	Verify bool
}

// ecosystems are the registered ecosystems, in the order they rewrite:
// a later one's verdicts see what an earlier one recorded in the facts.
var ecosystems []Ecosystem

// Register adds ecosystems after those registered, in the order they are
// to rewrite. Package llbgen/ecosystems registers hoist's in its init:
// a program that rewrites imports it.
func Register(es ...Ecosystem) {
	ecosystems = append(ecosystems, es...)
	ContextPatterns, ContextExcludes = contextPatterns()
	tools = toolNames()
}

// cacheKindOf is the kind of the cache a mount id names, from the
// ecosystems' declarations: the longest id that matches, as one kind's id
// may extend another's (hoist-yarn-berry, hoist-yarn).
func cacheKindOf(id string) (CacheKind, bool) {
	var best CacheKind
	found := false
	for _, e := range ecosystems {
		for _, k := range e.Caches() {
			if (id == k.ID || strings.HasPrefix(id, k.ID+"-")) && len(k.ID) > len(best.ID) {
				best, found = k, true
			}
		}
	}
	return best, found
}

// NoteMounts is the note of a RUN getting cache mounts; opaque, when set,
// names the call that may run the ecosystem's tool (tool) unseen.
func (a *Analysis) NoteMounts(rs *RunStep, ms []CacheMount, opaque, tool string) {
	if opaque != "" {
		a.Note(RuleOpaqueStep, rs.Line, true, "cache mounts %s added to RUN %s: %s may run %s, which this stage has", targets(ms), runSummary(rs), opaque, tool)
		return
	}
	a.Note(RuleCacheMount, rs.Line, true, "cache mounts %s added to RUN %s", targets(ms), runSummary(rs))
}
