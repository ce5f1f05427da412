package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

type versionOptions struct{ output string }

type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	Date      string `json:"date,omitempty"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// buildVersion returns the release version, or for `go install` builds the
// module version and VCS revision that the Go toolchain recorded.
func buildVersion() versionInfo {
	v := versionInfo{Version: Version, Commit: Commit, Date: Date, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && v.Commit == "":
				v.Commit = s.Value
			case s.Key == "vcs.time" && v.Date == "":
				v.Date = s.Value
			}
		}
	}
	return v
}

func versionString() string {
	v := buildVersion()
	s := v.Version
	if v.Commit != "" {
		c := v.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		s += " (" + c
		if v.Date != "" {
			s += ", " + v.Date
		}
		s += ")"
	}
	return s
}

func (a *app) versionCommand() *cobra.Command {
	opts := &versionOptions{}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print pipe's version, commit and build date",
		Example: `  pipe version
  pipe version -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := a.bind(cmd)
			var err error
			if opts.output, err = outputFormat(v, "text", "json"); err != nil {
				return err
			}
			info := buildVersion()
			if opts.output == "json" {
				return writeJSON(a.out, info)
			}
			_, err = fmt.Fprintf(a.out, "pipe %s\n", versionString())
			return err
		},
	}
	addOutputFlag(cmd, "text", "json")
	return cmd
}
