package cli

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"

	"github.com/gitops-pipe/pipe/internal/drift"
	"github.com/gitops-pipe/pipe/internal/report"
)

// driftOutputs are the outputs of a check: drifted (true/false),
// drifted_apps and failed_apps (JSON arrays of names), and how many
// applications were checked, in sync, drifted, failed and skipped (a kind
// without drift detection). Names are snake_case, as a dotenv report
// (PIPE_<NAME>) wants them; githubOutputNames gives the step outputs'.
func driftOutputs(rep *drift.Report) []report.Output {
	drifted, failed := []string{}, []string{}
	var inSync, skipped int
	for _, r := range rep.Apps {
		switch r.Status {
		case drift.OutOfSync:
			drifted = append(drifted, r.App)
		case drift.Failed:
			failed = append(failed, r.App)
		case drift.InSync:
			inSync++
		case drift.Skipped:
			skipped++
		}
	}
	d, _ := json.Marshal(drifted)
	f, _ := json.Marshal(failed)
	return []report.Output{
		{Name: "drifted", Value: strconv.FormatBool(len(drifted) > 0)},
		{Name: "drifted_apps", Value: string(d)},
		{Name: "failed_apps", Value: string(f)},
		{Name: "checked_count", Value: strconv.Itoa(len(rep.Apps))},
		{Name: "in_sync_count", Value: strconv.Itoa(inSync)},
		{Name: "drifted_count", Value: strconv.Itoa(len(drifted))},
		{Name: "failed_count", Value: strconv.Itoa(len(failed))},
		{Name: "skipped_count", Value: strconv.Itoa(skipped)},
	}
}

// githubOutputNames renames drift outputs for GitHub, where pipe drift's
// step outputs have always been kebab-case (drifted-apps).
func githubOutputNames(outs []report.Output) []report.Output {
	res := make([]report.Output, len(outs))
	for i, o := range outs {
		res[i] = report.Output{Name: strings.ReplaceAll(o.Name, "_", "-"), Value: o.Value}
	}
	return res
}

// appendDriftSummary appends s to the file at path (a CI job summary).
func appendDriftSummary(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
