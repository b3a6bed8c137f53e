// Command go-nonroot formats a count and a title for a given locale using
// golang.org/x/text; its image is built and run as a non-root user.
package main

import (
	"flag"
	"fmt"
	"os"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

func main() {
	lang := flag.String("lang", "en", "BCP 47 language tag")
	n := flag.Int("n", 1234567, "number to format")
	flag.Parse()
	tag, err := language.Parse(*lang)
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-nonroot: bad -lang %q: %v\n", *lang, err)
		os.Exit(2)
	}
	fmt.Println(cases.Title(tag).String("built without root"))
	message.NewPrinter(tag).Printf("%d builds\n", *n)
}
