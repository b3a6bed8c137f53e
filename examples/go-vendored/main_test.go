package main

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
)

func TestHashFiles(t *testing.T) {
	dir := t.TempDir()
	var names []string
	for _, s := range []string{"a", "bb", "ccc", "", "eeeee"} {
		p := filepath.Join(dir, "f"+s)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, p)
	}
	sums, err := hashFiles(names, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range []string{"a", "bb", "ccc", "", "eeeee"} {
		if want := sha256.Sum256([]byte(s)); string(sums[i]) != string(want[:]) {
			t.Errorf("sum %d = %x, want %x", i, sums[i], want)
		}
	}
	if _, err := hashFiles(append(names, filepath.Join(dir, "missing")), 2); err == nil {
		t.Error("missing file: want an error")
	}
}
