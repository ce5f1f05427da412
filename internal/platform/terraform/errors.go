package terraform

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gitops-pipe/pipe/internal/lazyre"
)

// Kinds of failure, matched with errors.Is on the errors this package
// returns (besides ErrStalePlan, ErrBinaryNotFound, ErrVersionMismatch).
var (
	// ErrInvalidConfig: terraform rejected the configuration (syntax or
	// semantic error, failed precondition at plan time).
	ErrInvalidConfig = errors.New("invalid terraform configuration")
	// ErrMissingVariable: a required input variable has no value.
	ErrMissingVariable = errors.New("required terraform variable not set")
	// ErrStateLocked: another operation holds the state lock.
	ErrStateLocked = errors.New("terraform state is locked")
	// ErrNoWorkspace: input.workspace does not exist.
	ErrNoWorkspace = errors.New("terraform workspace does not exist")
	// ErrNoConfig: the directory has no .tf/.tofu files.
	ErrNoConfig = errors.New("no terraform configuration files")
	// ErrApplyFailed: apply started and failed (the state may have changed
	// partially; plan again to see what is left).
	ErrApplyFailed = errors.New("terraform apply failed")
)

// Diagnostic is one error or warning terraform reported.
type Diagnostic struct {
	// Severity is "error" or "warning".
	Severity string
	// Summary is terraform's one-line summary ("Unsupported block type").
	Summary string
	// File and Line locate it when terraform says where ("main.tf", 3).
	File string
	Line int
	// Detail is terraform's explanation, trimmed.
	Detail string
}

// String renders "main.tf line 3: Summary: Detail".
func (d Diagnostic) String() string {
	var b strings.Builder
	if d.File != "" {
		fmt.Fprintf(&b, "%s line %d: ", d.File, d.Line)
	}
	b.WriteString(d.Summary)
	if d.Detail != "" {
		b.WriteString(": ")
		b.WriteString(d.Detail)
	}
	return b.String()
}

// Error is a failed terraform command.
type Error struct {
	// Command is the terraform command ("plan", "apply", "init",
	// "workspace select"...).
	Command string
	// Dir is the application directory.
	Dir string
	// Kind is one of the Err* sentinels, or nil.
	Kind error
	// Message says what went wrong and what to do.
	Message string
	// Diagnostics are the errors terraform printed (secrets removed).
	Diagnostics []Diagnostic
	// Variables are the variables missing (ErrMissingVariable).
	Variables []string
	// LockID, LockWho and LockOperation describe the lock holder
	// (ErrStateLocked), when terraform says.
	LockID, LockWho, LockOperation string

	ctxErr error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s in %s: %s", e.Command, e.Dir, e.Message)
	if e.Kind != ErrMissingVariable && e.Kind != ErrStateLocked && e.Kind != ErrStalePlan {
		// When terraform located problems, its unlocated preface ("...
		// encountered problems during initialisation") adds nothing.
		var show []Diagnostic
		for _, d := range e.Diagnostics {
			if d.Severity == "error" && d.File != "" {
				show = append(show, d)
			}
		}
		if len(show) == 0 {
			for _, d := range e.Diagnostics {
				if d.Severity == "error" {
					show = append(show, d)
				}
			}
		}
		for i, d := range show {
			if i == 5 {
				fmt.Fprintf(&b, "\n  (%d more)", len(show)-i)
				break
			}
			b.WriteString("\n  ")
			b.WriteString(d.String())
		}
	}
	return b.String()
}

// Unwrap lets errors.Is match Kind and context cancellation.
func (e *Error) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.ctxErr != nil {
		out = append(out, e.ctxErr)
	}
	return out
}

var (
	onLine    = lazyre.New(`^\s*on (.+?) line (\d+)(?:, in .*)?:$`)
	lockID    = lazyre.New(`(?m)^\s*ID:\s+(\S+)`)
	lockWho   = lazyre.New(`(?m)^\s*Who:\s+(\S+)`)
	lockOp    = lazyre.New(`(?m)^\s*Operation:\s+(\S+)`)
	varNotSet = lazyre.New(`variable "([^"]+)" is not set`)
)

// parseDiagnostics reads terraform's -no-color diagnostics.
func parseDiagnostics(text string) []Diagnostic {
	var diags []Diagnostic
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i := range lines {
		l := lines[i]
		l = strings.TrimPrefix(l, "╷")
		l = strings.TrimPrefix(l, "╵")
		l = strings.TrimPrefix(l, "│ ")
		l = strings.TrimPrefix(l, "│")
		lines[i] = strings.TrimRight(l, " \t")
	}
	var cur *Diagnostic
	var detail []string
	state := 0 // 0 after summary, 1 in snippet, 2 in detail
	flush := func() {
		if cur != nil {
			cur.Detail = trimDetail(strings.Join(detail, "\n"))
			diags = append(diags, *cur)
		}
		cur, detail, state = nil, nil, 0
	}
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "Error: "):
			flush()
			cur = &Diagnostic{Severity: "error", Summary: strings.TrimSpace(strings.TrimPrefix(l, "Error: "))}
			continue
		case strings.HasPrefix(l, "Warning: "):
			flush()
			cur = &Diagnostic{Severity: "warning", Summary: strings.TrimSpace(strings.TrimPrefix(l, "Warning: "))}
			continue
		}
		if cur == nil {
			continue
		}
		if state == 0 {
			if m := onLine().FindStringSubmatch(l); m != nil && cur.File == "" {
				cur.File = m[1]
				fmt.Sscan(m[2], &cur.Line)
				state = 1
				continue
			}
			if strings.TrimSpace(l) == "" {
				continue
			}
			state = 2
		}
		if state == 1 {
			// Source snippet and expression values: indented lines.
			if strings.TrimSpace(l) == "" || strings.HasPrefix(l, " ") {
				continue
			}
			state = 2
		}
		detail = append(detail, l)
	}
	flush()
	// terraform may report one problem once per phase: keep the first.
	seen := map[Diagnostic]bool{}
	out := diags[:0]
	for _, d := range diags {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// trimDetail joins terraform's wrapped paragraphs and caps the length.
func trimDetail(s string) string {
	s = strings.TrimSpace(s)
	paras := strings.Split(s, "\n\n")
	for i, p := range paras {
		ls := strings.Split(p, "\n")
		for j := range ls {
			ls[j] = strings.TrimSpace(ls[j])
		}
		paras[i] = strings.Join(ls, " ")
	}
	s = strings.Join(paras, " ")
	if len(s) > 600 {
		s = s[:600] + "..."
	}
	return s
}

// translate turns a terraform-exec error into an *Error with terraform's
// diagnostics and advice. Secrets are removed.
func (w *Workspace) translate(command string, err error) error {
	text := w.redact.apply(err.Error())
	e := &Error{Command: w.bin.Flavor + " " + command, Dir: w.dir}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if errors.Is(err, context.Canceled) {
			e.ctxErr = context.Canceled
		} else {
			e.ctxErr = context.DeadlineExceeded
		}
		e.Message = fmt.Sprintf("interrupted (%v): %s was asked to stop gracefully; if it was killed instead, the state lock may still be held (the next plan says so, with the lock ID to force-unlock)", e.ctxErr, w.bin.Flavor)
		if command == cmdApply {
			e.Kind = ErrApplyFailed
		}
		return e
	}
	e.Diagnostics = parseDiagnostics(text)
	var errs []Diagnostic
	for _, d := range e.Diagnostics {
		if d.Severity == "error" {
			errs = append(errs, d)
		}
	}
	has := func(substr string) *Diagnostic {
		for i := range errs {
			if strings.Contains(errs[i].Summary, substr) {
				return &errs[i]
			}
		}
		return nil
	}
	switch {
	case has("Saved plan is stale") != nil:
		e.Kind = ErrStalePlan
		e.Message = "the saved plan is stale: the state changed since it was made (another apply ran); make a new plan, review it, and apply that one"
	case has("Error acquiring the state lock") != nil || has("Error locking state") != nil:
		e.Kind = ErrStateLocked
		if m := lockID().FindStringSubmatch(text); m != nil {
			e.LockID = m[1]
		}
		if m := lockWho().FindStringSubmatch(text); m != nil {
			e.LockWho = m[1]
		}
		if m := lockOp().FindStringSubmatch(text); m != nil {
			e.LockOperation = m[1]
		}
		holder := ""
		if e.LockWho != "" || e.LockOperation != "" {
			holder = fmt.Sprintf(" by %s", strings.TrimSpace(e.LockWho+" "+e.LockOperation))
		}
		if e.LockID != "" {
			e.Message = fmt.Sprintf("the state is locked%s (lock ID %s); wait for that operation to finish (or set -lock-timeout=5m in input.commandFlags.shared), or if it died, unlock with `%s force-unlock %s` in %s",
				holder, e.LockID, w.bin.Flavor, e.LockID, w.dir)
		} else {
			e.Message = fmt.Sprintf("the state is locked%s: wait for the other operation to finish (or set -lock-timeout=5m in input.commandFlags.shared), or if it died, unlock with `%s force-unlock LOCK_ID`", holder, w.bin.Flavor)
		}
	case has("No value for required variable") != nil:
		e.Kind = ErrMissingVariable
		for _, d := range errs {
			if m := varNotSet().FindStringSubmatch(d.Detail); m != nil {
				e.Variables = append(e.Variables, m[1])
			}
		}
		names := strings.Join(e.Variables, ", ")
		if names == "" {
			names = "(see terraform's message)"
		}
		e.Message = fmt.Sprintf("required variable %s has no value: set it in input.vars (\"%s=...\") or in a file of input.varFiles, or give it a default", names, firstOr(e.Variables, "name"))
	case has("No configuration files") != nil:
		e.Kind = ErrNoConfig
		e.Message = fmt.Sprintf("no .tf files in %s: check the application's path", w.dir)
	default:
		var located []string
		for _, d := range errs {
			if d.File != "" {
				loc := fmt.Sprintf("%s line %d", d.File, d.Line)
				if !slices.Contains(located, loc) {
					located = append(located, loc)
				}
			}
		}
		switch {
		case command == cmdApply:
			e.Kind = ErrApplyFailed
			e.Message = "apply failed; some changes may have been made: plan again to see what is left, fix the cause, and apply a new plan"
		case len(located) > 0:
			e.Kind = ErrInvalidConfig
			e.Message = fmt.Sprintf("%s rejected the configuration at %s; fix it and run again", w.bin.Flavor, strings.Join(located, ", "))
		case len(errs) > 0:
			e.Message = fmt.Sprintf("%s failed: %s", w.bin.Flavor, errs[0].Summary)
		default:
			e.Message = fmt.Sprintf("%s failed: %s", w.bin.Flavor, lastLines(text, 6))
		}
	}
	return e
}

func firstOr(l []string, d string) string {
	if len(l) > 0 {
		return l[0]
	}
	return d
}

func lastLines(s string, n int) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if strings.TrimSpace(l) != "" {
			keep = append(keep, strings.TrimSpace(l))
		}
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	return strings.Join(keep, " / ")
}
