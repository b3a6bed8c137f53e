package main

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestPairRatios(t *testing.T) {
	row := map[string][]sample{
		"naive-stock": {{Rep: 1, Secs: 10}, {Rep: 2, Secs: 20}, {Rep: 3, Err: "failed"}},
		"naive-hoist": {{Rep: 1, Secs: 11}, {Rep: 2, Secs: 19}, {Rep: 3, Secs: 5}, {Rep: 4, Secs: 7}},
	}
	// Repetitions where either build failed or did not run have no ratio.
	got := pairRatios(row, "naive-hoist", "naive-stock")
	if want := []float64{1.1, 0.95}; !reflect.DeepEqual(got, want) {
		t.Errorf("pairRatios = %v, want %v", got, want)
	}
	if got := pairRatios(row, "naive-hoist", "naive-stock-image"); got != nil {
		t.Errorf("pairRatios with a variant not run = %v, want nil", got)
	}
}

func TestOutsideRuns(t *testing.T) {
	log := filepath.Join(t.TempDir(), "build.log")
	progress := `#7 [internal] hoist: load manifests
#7 DONE 0.1s

#12 [build 3/6] COPY package-lock.json package.json /app/
#12 DONE 0.2s

#13 [build 4/6] RUN --mount=type=cache,target=/root/.npm npm ci
#13 1.20 added 270 packages in 13s
#13 DONE 14.4s

#14 [build 5/6] RUN true
#14 CACHED

#15 [build 6/6] RUN npm run build
#15 DONE 5.9s
`
	if err := os.WriteFile(log, []byte(progress), 0o644); err != nil {
		t.Fatal(err)
	}
	got, ok := outsideRuns(sample{Secs: 21.5, Log: log})
	// 21.5 - 14.4 - 5.9: the cached RUN and the other steps count as outside.
	if !ok || math.Abs(got-1.2) > 1e-9 {
		t.Errorf("outsideRuns = %v, %v; want 1.2, true", got, ok)
	}
	if _, ok := outsideRuns(sample{Secs: 3, Log: log, Err: "failed"}); ok {
		t.Error("outsideRuns of a failed build: ok")
	}
}
