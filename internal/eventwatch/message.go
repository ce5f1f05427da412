package eventwatch

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"unicode"
	"unicode/utf8"

	"github.com/gitops-pipe/pipe/internal/state"
)

// TraceTrailer is the commit trailer naming the commit that produced the
// event, PipeCD's, so that PipeCD's deployment trace and pipe read the same.
const TraceTrailer = "Pipecd-Dev-Trace-Trigger-Commit-Hash"

// ContextKey is the form of an event context's key (PipeCD's): it becomes a
// commit trailer's key.
var ContextKey = regexp.MustCompile(`^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$`)

// CheckValue refuses event values that are not one line of text: the value
// goes into files and commit messages, where a line break or a control
// character could add lines (a forged trailer, a new key).
func CheckValue(v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("the event's value is not valid UTF-8")
	}
	for _, r := range v {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\ufeff' {
			return fmt.Errorf("the event's value holds the control character %U: values are one line of text (a tag, a digest, a version)", r)
		}
	}
	return nil
}

// MessageData is what a commitMessage template sees: PipeCD's {{ .Value }}
// and {{ .EventName }}, and the event's labels, contexts and app.
type MessageData struct {
	Value     string
	EventName string
	Labels    map[string]string
	Contexts  map[string]string
	App       string
}

// ParseMessage checks a commitMessage template.
func ParseMessage(msg string) (*template.Template, error) {
	return template.New("commitMessage").Option("missingkey=error").Parse(msg)
}

// commitMessage is the message of the commit a watcher makes for ev:
// its template (PipeCD's default when empty), then a blank line and the
// trailers (the event's contexts and the trace of its source commit).
func commitMessage(w *Watcher, ev *state.RegisteredEvent) (string, error) {
	subject := fmt.Sprintf("Replace values with %q set by Event %q", ev.Value, ev.Name)
	if w.CommitMessage != "" {
		t, err := ParseMessage(w.CommitMessage)
		if err != nil {
			return "", fmt.Errorf("%s: commitMessage: %v", w.Source, err)
		}
		var b strings.Builder
		if err := t.Execute(&b, MessageData{Value: ev.Value, EventName: ev.Name, Labels: ev.Labels, Contexts: ev.Contexts, App: w.App}); err != nil {
			return "", fmt.Errorf("%s: commitMessage: %v", w.Source, err)
		}
		subject = strings.TrimSpace(b.String())
		if subject == "" {
			return "", fmt.Errorf("%s: commitMessage renders empty", w.Source)
		}
	}
	var trailers []string
	for _, k := range slices.Sorted(maps.Keys(ev.Contexts)) {
		if ContextKey.MatchString(k) { // `pipe event register` checks them; a note may not have
			trailers = append(trailers, k+": "+oneLine(ev.Contexts[k]))
		}
	}
	if ev.Commit != nil && ev.Commit.Hash != "" {
		trailers = append(trailers, TraceTrailer+": "+oneLine(ev.Commit.Hash))
	}
	if len(trailers) == 0 {
		return subject + "\n", nil
	}
	return subject + "\n\n" + strings.Join(trailers, "\n") + "\n", nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// prBranch is the branch of the pull request proposing an event's values:
// the same for every event of a name and labels, so a later one updates the
// open request.
func prBranch(w *Watcher) string {
	var b strings.Builder
	for _, r := range strings.ToLower(w.Name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-")
	if len(name) > 60 {
		name = name[:60]
	}
	return "pipe-event/" + name + "-" + w.Key()[:10]
}
