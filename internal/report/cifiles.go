package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Output is one named value a CI step exposes to later steps.
type Output struct {
	Name, Value string
}

// PlanOutputs are the step outputs of `pipe plan`: has_changes (true or
// false), apps (a JSON array of the applications that change), strategies
// (a JSON object from those applications to QUICK_SYNC or PIPELINE) and
// errors (a JSON array of the applications that could not be planned).
func PlanOutputs(r *PlanReport) []Output {
	apps := []string{}
	strategies := map[string]string{}
	for _, p := range r.Changed() {
		apps = append(apps, p.App.Name)
		strategies[p.App.Name] = string(p.Strategy)
	}
	failed := []string{}
	for _, e := range r.Errors {
		failed = append(failed, e.App)
	}
	return []Output{
		{"has_changes", fmt.Sprint(r.HasChanges())},
		{"apps", mustJSON(apps)},
		{"strategies", mustJSON(strategies)},
		{"errors", mustJSON(failed)},
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// WriteGitHubOutputs appends outputs to the $GITHUB_OUTPUT file in the
// runner's format: name=value, or a heredoc with a delimiter that the value
// does not contain when the value has several lines.
func WriteGitHubOutputs(path string, outs []Output) error {
	var b strings.Builder
	for _, o := range outs {
		if strings.ContainsAny(o.Value, "\r\n") {
			sum := sha256.Sum256([]byte(o.Value))
			delim := "pipe_EOF_" + hex.EncodeToString(sum[:8])
			fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", o.Name, delim, o.Value, delim)
			continue
		}
		fmt.Fprintf(&b, "%s=%s\n", o.Name, o.Value)
	}
	return appendFile(path, b.String())
}

// WriteDotenv writes outputs as a GitLab dotenv report (artifacts:
// reports: dotenv): PIPE_<NAME>=value lines. GitLab takes single-line
// values only, so line breaks are replaced by spaces.
func WriteDotenv(path string, outs []Output) error {
	var b strings.Builder
	for _, o := range outs {
		v := strings.NewReplacer("\r", "", "\n", " ").Replace(o.Value)
		fmt.Fprintf(&b, "PIPE_%s=%s\n", strings.ToUpper(o.Name), v)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// AppendStepSummary appends markdown to the $GITHUB_STEP_SUMMARY file. The
// runner refuses a step summary over 1 MiB, so what was already written by
// the step is counted and content that does not fit is cut with a note.
func AppendStepSummary(path, markdown string) error {
	used := int64(0)
	if st, err := os.Stat(path); err == nil {
		used = st.Size()
	}
	room := StepSummaryLimit - int(used) - 1
	if len(markdown) > room {
		note := "\n\n> [!WARNING]\n> The job summary limit (1 MiB) was reached; the rest is cut. Run `pipe plan` locally for everything.\n"
		if room <= len(note) {
			return nil
		}
		cut := room - len(note)
		// Cut on a line boundary; close an open code fence.
		s := markdown[:cut]
		if i := strings.LastIndexByte(s, '\n'); i > 0 {
			s = s[:i+1]
		}
		if strings.Count(s, "\n```")%2 == 1 {
			s += "```\n"
		}
		markdown = s + note
	}
	if !strings.HasSuffix(markdown, "\n") {
		markdown += "\n"
	}
	return appendFile(path, markdown)
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = io.WriteString(f, s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// StepSummaryRoom is how many bytes the step may still add to its job
// summary file at path.
func StepSummaryRoom(path string) int {
	used := int64(0)
	if st, err := os.Stat(path); err == nil {
		used = st.Size()
	}
	return max(StepSummaryLimit-int(used)-1, 0)
}

// GitHubAnnotation writes one GitHub Actions annotation (::error or
// ::warning) on file, when given, with a title.
func GitHubAnnotation(w io.Writer, severity, file, title, msg string) {
	props := []string{}
	if file != "" {
		props = append(props, "file="+escapeProperty(file))
	}
	props = append(props, "title="+escapeProperty(title))
	fmt.Fprintf(w, "::%s %s::%s\n", severity, strings.Join(props, ","), escapeData(msg))
}
