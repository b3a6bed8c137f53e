package llbgen

// Rule is one kind of decision hoist reports. Every note names its rule,
// as BuildKit's linter names its checks, so a user can tell what decided
// and look the rule up (README, "Rules").
type Rule struct {
	Name        string
	Description string
}

// The rules. README lists the same names and meanings.
var (
	RuleCacheMount = Rule{"hoist/cache-mount",
		"cache mounts added to a RUN that runs a tool hoist has rules for"}
	RuleNoCacheMount = Rule{"hoist/no-cache-mount",
		"a RUN that runs such a tool gets no cache mount: its cache path or script cannot be followed"}
	RuleOff = Rule{"hoist/off",
		"the instruction is under # hoist:off and left alone"}
	RuleDownloadHoisted = Rule{"hoist/download-hoisted",
		"a dependency download or install inserted before the source COPY, copying only the manifests"}
	RuleDownloadInLayer = Rule{"hoist/download-in-layer",
		"a Go module download inserted before the source COPY with no cache mount: the stage is exported, so its module cache stays in the image, now holding every module go.mod requires"}
	RuleNotHoisted = Rule{"hoist/not-hoisted",
		"no download inserted: what the RUN reads could differ from what the manifests alone give"}
	RuleInstallDropped = Rule{"hoist/install-dropped",
		"the user's install after the source COPY removed: the hoisted install did the same"}
	RuleInstallKept = Rule{"hoist/install-kept",
		"the user's install stays after the source COPY and installs from the warm cache"}
	RuleKeptInLayer = Rule{"hoist/cache-kept-in-layer",
		"a cache whose content the image or a later step reads stays in the layer, unmounted"}
	RuleCacheDestroyer = Rule{"hoist/cache-destroyer",
		"the RUN removes the cache directory or a parent of it (rm -rf, go clean -cache, npm cache clean): no shared mount"}
	RuleCacheWriter = Rule{"hoist/cache-writer",
		"the RUN changes files inside the cache (sed -i, patch, cp/mv into it, a redirection): no shared mount"}
	RuleOpaqueStep = Rule{"hoist/opaque-step",
		"a step hoist cannot see into (make, a script, an unknown program) may use a cache: it gets the same mounts, or the cache stays in the layer"}
	RuleUserMount = Rule{"hoist/user-mount",
		"the RUN already mounts the cache path or a parent of it: hoist adds no mount below it"}
	RuleCacheFrom = Rule{"hoist/cache-from",
		"cache mounts seeded from HOIST_CACHE_FROM"}
	RuleCacheExport = Rule{"hoist/cache-export",
		"what the synthetic hoist-cache target exports"}
	RuleInternal = Rule{"hoist/internal-error",
		"hoist failed to analyse the Dockerfile and built it unchanged"}
)

// Rules are all rules, in README order.
var Rules = []Rule{RuleCacheMount, RuleNoCacheMount, RuleOff, RuleDownloadHoisted, RuleDownloadInLayer, RuleNotHoisted,
	RuleInstallDropped, RuleInstallKept, RuleKeptInLayer, RuleCacheDestroyer, RuleCacheWriter,
	RuleOpaqueStep, RuleUserMount, RuleCacheFrom, RuleCacheExport, RuleInternal}
