package main

import _ "example.invalid/nothere"

func main() {}
