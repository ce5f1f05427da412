package notify

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Colours of PipeCD's Slack messages, by outcome.
const (
	ColorInfo    = "#222429"
	ColorSuccess = "#629650"
	ColorError   = "#9C3C31"
	ColorWarn    = "#C1A337"
)

// Color is the colour of ev's message, as PipeCD colours it.
func Color(t Type) string {
	switch t {
	case DeploymentSucceeded, StageSucceeded, ApplicationSynced:
		return ColorSuccess
	case DeploymentFailed, DeploymentTriggerFailed, StageFailed, AnalysisFailed:
		return ColorError
	case DeploymentWaitApproval, DeploymentRollingBack, DeploymentCancelled, StageCancelled, ApplicationOutOfSync:
		return ColorWarn
	}
	return ColorInfo
}

// Escape escapes Slack's control characters (&, <, >) in text from records
// and configuration, so that it cannot form links or mentions (<!channel>).
func Escape(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Title is the one-line title of ev, as PipeCD words it.
func Title(ev Event) string {
	app := fmt.Sprintf("%q", ev.App.Name)
	stage := ""
	if ev.Stage != nil {
		stage = fmt.Sprintf("%q", ev.Stage.Name)
	}
	switch ev.Type {
	case DeploymentTriggered:
		return "Triggered a new deployment for " + app
	case DeploymentPlanned:
		return "Deployment for " + app + " was planned"
	case DeploymentStarted:
		return "Deployment for " + app + " was started"
	case DeploymentWaitApproval:
		return "Deployment for " + app + " is waiting for an approval"
	case DeploymentApproved:
		return "Deployment for " + app + " was approved"
	case DeploymentRollingBack:
		return "Deployment for " + app + " is rolling back"
	case DeploymentSucceeded:
		return "Deployment for " + app + " was completed successfully"
	case DeploymentFailed:
		return "Deployment for " + app + " failed"
	case DeploymentCancelled:
		return "Deployment for " + app + " was cancelled"
	case DeploymentTriggerFailed:
		return "Failed to trigger a new deployment for " + app
	case StageStarted:
		return "Stage " + stage + " of " + app + " started"
	case StageSkipped:
		return "Stage " + stage + " of " + app + " was skipped"
	case StageSucceeded:
		return "Stage " + stage + " of " + app + " succeeded"
	case StageFailed:
		return "Stage " + stage + " of " + app + " failed"
	case StageCancelled:
		return "Stage " + stage + " of " + app + " was cancelled"
	case ApplicationSynced:
		return app + " is in sync again"
	case ApplicationOutOfSync:
		return app + " is out of sync"
	case AnalysisFailed:
		return "Analysis failed for " + app
	}
	return string(ev.Type) + " for " + app
}

// Slack's limits (characters).
const (
	maxHeader  = 150
	maxSection = 3000
	maxField   = 2000
	maxFields  = 10
)

type renderer struct {
	now func() time.Time
}

// message is a rendered Slack message.
type message struct {
	title, mentions string
	// text is the top-level text: the mentions (which notify there; the
	// attachment's fallback is the notification's text otherwise).
	text       string
	attachment slack.Attachment
}

// message renders j in Block Kit, inside one attachment of the outcome's
// colour: a header, the mentions and the event's text, the fields, the
// stages of a final event, the analysis or the drift, and the time.
func (r renderer) message(j *job) message {
	ev := j.ev
	users, groups := Mentions(ev, j.rcv)
	m := message{title: Title(ev), mentions: SlackMentions(users, groups)}
	m.text = m.mentions

	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, cut(m.title, maxHeader), false, false)),
	}
	if body := body(ev); body != "" {
		blocks = append(blocks, section(body))
	}
	if fields := fieldsOf(ev); len(fields) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	}
	if st := stagesOf(ev); st != "" {
		blocks = append(blocks, section(st))
	}
	t := ev.Time
	if t.IsZero() {
		t = r.now()
	}
	blocks = append(blocks, slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType,
		fmt.Sprintf("%s · <!date^%d^{date_short_pretty} {time_secs}|%s>", Escape(string(ev.Type)), t.Unix(), t.UTC().Format(time.RFC3339)), false, false)))
	m.attachment = slack.Attachment{
		Color:    Color(ev.Type),
		Fallback: cut(m.title, maxHeader),
		Blocks:   slack.Blocks{BlockSet: blocks},
	}
	return m
}

func section(mrkdwn string) *slack.SectionBlock {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, mrkdwn, false, false), nil, nil)
}

// body is the event's text: who approved or cancelled, the summary (plan
// summary, failure reason), the stage's reason, the analysis and the drift.
func body(ev Event) string {
	var lines []string
	switch ev.Type {
	case DeploymentApproved:
		if ev.Actor != "" {
			lines = append(lines, "Approved by "+Escape(cut(ev.Actor, 200)))
		}
	case DeploymentCancelled:
		if ev.Actor != "" {
			lines = append(lines, "Cancelled by "+Escape(cut(ev.Actor, 200)))
		}
	}
	if ev.Summary != "" {
		lines = append(lines, Escape(cut(ev.Summary, 1500)))
	}
	if ev.Stage != nil && ev.Stage.Reason != "" && ev.Stage.Reason != ev.Summary {
		lines = append(lines, "*Reason:* "+Escape(cut(ev.Stage.Reason, 800)))
	}
	if a := ev.Analysis; a != nil {
		s := "*Metric* `" + Escape(cut(a.Metric, 200)) + "`"
		if a.Value != "" {
			s += ": value " + Escape(cut(a.Value, 100))
		}
		if a.Threshold != "" {
			s += ", threshold " + Escape(cut(a.Threshold, 100))
		}
		lines = append(lines, s)
		if a.Reason != "" && a.Reason != ev.Summary {
			lines = append(lines, Escape(cut(a.Reason, 500)))
		}
	}
	if ev.Drift != "" {
		lines = append(lines, "*Drift:* "+Escape(cut(ev.Drift, 500)))
	}
	return cut(strings.Join(lines, "\n"), maxSection)
}

func fieldsOf(ev Event) []*slack.TextBlockObject {
	var fs []*slack.TextBlockObject
	add := func(label, value string) {
		if value != "" && len(fs) < maxFields {
			fs = append(fs, slack.NewTextBlockObject(slack.MarkdownType, cut("*"+label+"*\n"+value, maxField), false, false))
		}
	}
	add("Application", Escape(cut(ev.App.Name, 200)))
	add("Kind", Escape(cut(ev.App.Kind, 100)))
	if d := ev.Deployment; d != nil {
		if d.Commit.Hash != "" {
			short := d.Commit.Hash
			if len(short) > 7 {
				short = short[:7]
			}
			c := link(d.Commit.URL, short)
			if d.Commit.Subject != "" {
				c += " " + Escape(cut(d.Commit.Subject, 200))
			}
			add("Commit", c)
		}
		id := d.ID
		if len(id) > 12 {
			id = id[:12]
		}
		add("Deployment", Escape(id))
	}
	switch ev.Type {
	case DeploymentApproved, DeploymentCancelled:
		// The actor is in the text.
	default:
		add("Triggered by", Escape(cut(ev.Actor, 200)))
	}
	if ev.Stage != nil {
		add("Stage", Escape(cut(ev.Stage.Name, 200)))
	}
	add("CI run", link(ev.CIRunURL, "run"))
	add("Pull request", link(ev.PRURL, prLabel(ev.PRURL)))
	return fs
}

// stagesOf lists the stages and their durations, for final events.
func stagesOf(ev Event) string {
	d := ev.Deployment
	if d == nil || len(d.Stages) == 0 {
		return ""
	}
	switch ev.Type {
	case DeploymentSucceeded, DeploymentFailed, DeploymentCancelled, DeploymentRollingBack:
	default:
		return ""
	}
	var b strings.Builder
	b.WriteString("*Stages*")
	if !d.StartedAt.IsZero() && !d.EndedAt.IsZero() && d.EndedAt.After(d.StartedAt) {
		b.WriteString(" (" + duration(d.EndedAt.Sub(d.StartedAt)) + " in all)")
	}
	for _, s := range d.Stages {
		line := "\n" + stageIcon(s.Status) + " " + Escape(cut(s.Name, 100)) + " · " + Escape(cut(s.Status, 40))
		if s.Duration > 0 {
			line += " · " + duration(s.Duration)
		}
		if b.Len()+len(line) > maxSection-20 {
			b.WriteString("\n…")
			break
		}
		b.WriteString(line)
	}
	return b.String()
}

func stageIcon(status string) string {
	s := strings.ToUpper(status)
	switch {
	case strings.Contains(s, "SUCC"):
		return ":white_check_mark:"
	case strings.Contains(s, "FAIL"):
		return ":x:"
	case strings.Contains(s, "CANCEL"):
		return ":no_entry_sign:"
	case strings.Contains(s, "SKIP"):
		return ":fast_forward:"
	}
	return ":hourglass_flowing_sand:"
}

func duration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// link renders <url|label> for an http(s) URL, the escaped label alone
// otherwise (and "" for no URL).
func link(u, label string) string {
	if u == "" {
		return ""
	}
	l := strings.ToLower(u)
	if !strings.HasPrefix(l, "https://") && !strings.HasPrefix(l, "http://") || strings.ContainsAny(u, " \n\t") {
		return Escape(label)
	}
	return "<" + strings.ReplaceAll(Escape(u), "|", "%7C") + "|" + strings.ReplaceAll(Escape(label), "|", "¦") + ">"
}

// prLabel is "#N" for a pull request URL ending in its number.
func prLabel(u string) string {
	u = strings.TrimRight(u, "/")
	if i := strings.LastIndexByte(u, '/'); i >= 0 && i+1 < len(u) {
		n := u[i+1:]
		if strings.Trim(n, "0123456789") == "" {
			return "#" + n
		}
	}
	return "pull request"
}

// cut shortens s to max characters, ending with "…".
func cut(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}
