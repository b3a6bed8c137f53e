package llbgen

import (
	"context"
	"strings"
	"time"

	"github.com/hoistbuild/hoist/llbgen/shellscan"
)

// An ecosystem is one language's package tooling as the rewrite sees it:
// Go modules, Node's package managers. rewrite (plan.go) runs the
// registered ecosystems in order and knows nothing of any of them; each
// starts a pass over the analysed Dockerfile.
type ecosystem interface {
	name() string
	// enabled reports whether the user's configuration switches it on.
	enabled(Config) bool
	// caches are the cache kinds its mounts use (cache ids are hoist-*).
	caches() []cacheKind
	// contextFiles are the patterns of the context files it reads
	// (manifests), and of directories whose content it never reads
	// (installed dependencies), for ContextPatterns.
	contextFiles() (files, dirs []string)
	// tools are the command names that run it, for the cheap filter of
	// Dockerfiles hoist has nothing to do for (mayRunTools).
	tools() []string
	// knows reports whether the safety engine can follow call c as one of
	// the ecosystem's commands, and whether c may still run code hoist
	// cannot see (a package.json script): the safety engine's opaque.
	knows(c shellscan.Call) (known, opaque bool)
	// queriesPaths reports a call that prints the tool's cache paths
	// (go env): a later call whose name or arguments the shell analysis
	// cannot know may then use them.
	queriesPaths(c shellscan.Call) bool
	// offline says how a RUN with env and calls cannot fetch what the
	// ecosystem's caches lack ("runs with GOPROXY=off"), "" when it can.
	offline(env map[string]string, calls []shellscan.Call) string
	start(a *analysis) ecosystemPass
}

// ecosystemPass is one ecosystem's work on one Dockerfile, in the order
// rewrite calls it.
type ecosystemPass interface {
	// analyse finds the steps the ecosystem handles (its tools run there,
	// or may: an opaque step in a stage that has the tool) and the cache
	// paths each step's environment and user give. What makes a step
	// unsafe for a cache (a clean, a write) it records in the step's facts
	// (safety.go), which every ecosystem's verdicts then see.
	analyse(ctx context.Context) error
	// mount decides each handled step's cache mounts with the safety
	// engine (stepVerdict, contentVerdict) and notes why a cache gets none.
	mount()
	// hoist, when Config.Steps, moves the dependency download a stage's
	// steps need before the COPY of the sources, copying the manifests it
	// needs first.
	hoist(ctx context.Context) error
	// done returns the handled steps' final cache mounts, in step order,
	// and notes the mounts it has not noted yet (Node notes after
	// hoisting, which may drop an install and its mount; Go as it mounts).
	done() []stepMounts
}

// stepMounts are the cache mounts one RUN gets.
type stepMounts struct {
	step   *runStep
	mounts []cacheMount
}

// cacheKind is one kind of cache an ecosystem mounts.
type cacheKind struct {
	id string // cache id; a per-user suffix may follow ("-1000", "-name")
	// keep, when set, trims entries unused for that long when the cache
	// is exported, and seeds the cache with a fresh trim stamp
	// (cachefrom.go): the cache grows with every build otherwise.
	keep time.Duration
	// verify, for a cache seeded from a CI cache image, asks for a
	// download step to check it before any step uses it (cacheverify.go).
	verify bool
}

// ecosystems are the registered ecosystems, in the order they rewrite:
// a later one's verdicts see what an earlier one recorded in the facts.
var ecosystems = []ecosystem{goEcosystem{}, nodeEcosystem{}}

// cacheKindOf is the kind of the cache a mount id names, from the
// ecosystems' declarations: the longest id that matches, as one kind's id
// may extend another's (hoist-yarn-berry, hoist-yarn).
func cacheKindOf(id string) (cacheKind, bool) {
	var best cacheKind
	found := false
	for _, e := range ecosystems {
		for _, k := range e.caches() {
			if (id == k.id || strings.HasPrefix(id, k.id+"-")) && len(k.id) > len(best.id) {
				best, found = k, true
			}
		}
	}
	return best, found
}

// noteMounts is the note of a RUN getting cache mounts; opaque, when set,
// names the call that may run the ecosystem's tool (tool) unseen.
func (a *analysis) noteMounts(rs *runStep, ms []cacheMount, opaque, tool string) {
	if opaque != "" {
		a.note(RuleOpaqueStep, rs.line, true, "cache mounts %s added to RUN %s: %s may run %s, which this stage has", targets(ms), runSummary(rs), opaque, tool)
		return
	}
	a.note(RuleCacheMount, rs.line, true, "cache mounts %s added to RUN %s", targets(ms), runSummary(rs))
}
