// Command cmd writes the JSON Schema of every configuration kind to
// DIR/<Kind>.json (`make schema` runs it on the repository's schema/):
//
//	go run ./internal/config/schemagen/cmd [-dir schema]
//
// Exit status: 0 written, 1 failed, 2 usage error.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gitops-pipe/pipe/internal/config/schemagen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("schemagen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "schema", "the directory to write <Kind>.json files into")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "schemagen: unexpected argument %q; usage: schemagen [-dir DIR]\n", fs.Arg(0))
		return 2
	}
	written, err := schemagen.Write(*dir)
	for _, p := range written {
		fmt.Fprintf(stderr, "wrote %s\n", p)
	}
	if err != nil {
		fmt.Fprintf(stderr, "schemagen: %v\n", err)
		return 1
	}
	return 0
}
