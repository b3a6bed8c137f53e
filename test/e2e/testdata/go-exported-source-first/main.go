package main

import (
	"fmt"

	"github.com/google/uuid"
)

func id() string { return uuid.NewSHA1(uuid.NameSpaceURL, []byte("hoist")).String() }

func main() { fmt.Println(id()) }
