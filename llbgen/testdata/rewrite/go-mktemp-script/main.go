package main

import _ "github.com/google/uuid"

func main() {}
