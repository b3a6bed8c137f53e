package main

import (
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
