// Command pipe is a serverless GitOps continuous-delivery tool for CI jobs.
package main

import (
	"os"

	"github.com/gitops-pipe/pipe/internal/cli"
)

func main() { os.Exit(cli.Main(cli.System())) }
