package testbed

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestBaseImages(t *testing.T) {
	df := filepath.Join(t.TempDir(), "Dockerfile")
	dt := "ARG GO=golang:1.26\nFROM golang:1.26 AS build\nFROM build AS test\nFROM ${GO} AS other\nFROM scratch\nFROM busybox\nFROM golang:1.26\n"
	if err := os.WriteFile(df, []byte(dt), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := BaseImages(df)
	if err != nil || !slices.Equal(got, []string{"golang:1.26", "busybox"}) {
		t.Errorf("BaseImages = %v, %v", got, err)
	}
	if err := os.WriteFile(df, []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := BaseImages(df); err == nil {
		t.Error("no base image: want an error")
	}
}
