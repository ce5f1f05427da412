// Command pipe is a serverless GitOps continuous-delivery tool for CI jobs.
package main

import (
	"os"

	"github.com/gitops-pipe/pipe/internal/cli"
	"github.com/gitops-pipe/pipe/internal/initgc"
)

func main() {
	initgc.Done()
	os.Exit(cli.Main(cli.System()))
}
