package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/schema"
)

type schemaOptions struct {
	kind  string
	write string
}

func (a *app) schemaCommand() *cobra.Command {
	opts := &schemaOptions{}
	var kinds []string
	for _, k := range config.AllKinds() {
		kinds = append(kinds, string(k))
	}
	cmd := &cobra.Command{
		Use:   "schema [KIND]",
		Short: "Print the JSON Schema of a configuration kind",
		Long: `Print the JSON Schema (draft 2020-12) of a configuration kind, generated
from pipe's own types, for editors and linters. Kinds: ` + strings.Join(kinds, ", ") + `.
Without a kind, list the kinds. With --write DIR, write every kind's schema
to DIR/<Kind>.json.

Editors with the YAML language server pick it up from a first line such as:
  # yaml-language-server: $schema=` + config.SchemaBaseURL + `/KubernetesApp.json`,
		Example: `  pipe schema KubernetesApp > KubernetesApp.json
  pipe schema --write schema/`,
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: kinds,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := a.bind(cmd)
			opts.write = v.GetString("write")
			if len(args) == 1 {
				opts.kind = args[0]
			}
			return a.runSchema(opts, kinds)
		},
	}
	cmd.Flags().String("write", "", "write every kind's schema into this directory")
	return cmd
}

func (a *app) runSchema(opts *schemaOptions, kinds []string) error {
	if opts.write != "" {
		if err := os.MkdirAll(opts.write, 0o755); err != nil {
			return &Error{Code: ExitFailed, Summary: "cannot create the schema directory", Detail: err.Error()}
		}
		for _, k := range config.AllKinds() {
			b, err := embeddedSchema(k)
			if err != nil {
				return err
			}
			p := filepath.Join(opts.write, string(k)+".json")
			if err := os.WriteFile(p, b, 0o644); err != nil {
				return &Error{Code: ExitFailed, Summary: "cannot write " + p, Detail: err.Error()}
			}
			fmt.Fprintf(a.err, "wrote %s\n", p)
		}
		return nil
	}
	if opts.kind == "" {
		for _, k := range kinds {
			fmt.Fprintln(a.out, k)
		}
		return nil
	}
	k := config.Kind(opts.kind)
	for _, known := range config.AllKinds() {
		if strings.EqualFold(string(known), opts.kind) {
			k = known
		}
	}
	if !slices.Contains(config.AllKinds(), k) {
		return usageError("unknown kind %q; kinds: %s", opts.kind, strings.Join(kinds, ", "))
	}
	b, err := embeddedSchema(k)
	if err != nil {
		return err
	}
	_, err = a.out.Write(b)
	return err
}

// embeddedSchema returns the schema of a kind that the binary embeds (the
// committed schema/<Kind>.json, generated at build time by `make schema`).
func embeddedSchema(k config.Kind) ([]byte, error) {
	b, ok := schema.JSON(string(k))
	if !ok {
		return nil, &Error{Code: ExitFailed, Summary: "this pipe binary has no schema for " + string(k),
			Detail: "schema/" + string(k) + ".json was missing when it was built", Hint: "run `make schema` and build pipe again"}
	}
	return b, nil
}
