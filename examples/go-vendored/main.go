// Command go-vendored prints new request IDs. Its one dependency is
// committed under vendor/, so building it needs no network access.
package main

import (
	"flag"
	"fmt"

	"github.com/google/uuid"
)

func main() {
	n := flag.Int("n", 1, "how many IDs to print")
	flag.Parse()
	for i := 0; i < *n; i++ {
		fmt.Println(uuid.New())
	}
}
