package execute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/redact"
)

// ScriptEnv is what SCRIPT_RUN scripts run with.
type ScriptEnv struct {
	// Dir is the application directory, where scripts run.
	Dir string
	// Environ is the environment scripts inherit (the stage's env and the
	// SR_* variables are added).
	Environ []string
	// RepoURL is the repository's URL (SR_REPOSITORY_URL).
	RepoURL string
	// Redact masks secrets in the scripts' output before it is emitted
	// (nil: nothing is masked).
	Redact *redact.Masker
	// Shell runs the script (default "/bin/sh"), as `Shell -c script`.
	Shell string
}

// scriptRun runs a SCRIPT_RUN stage's script, bounded by its timeout.
func (e *Engine) scriptRun(ctx context.Context, st *Stage) error {
	o, ok := st.Options().(*config.ScriptRunStageOptions)
	if !ok {
		return errors.New("SCRIPT_RUN has no options")
	}
	if t := o.Timeout.Std(); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, t, &timeoutError{fmt.Sprintf("the script timed out after %s (with.timeout)", t)})
		defer cancel()
	}
	return e.runScript(ctx, st, o.Run, o.Env, false)
}

// scriptRollback runs the onRollback script of the SCRIPT_RUN stage a
// SCRIPT_RUN_ROLLBACK stage belongs to.
func (e *Engine) scriptRollback(ctx context.Context, st *Stage) error {
	d := st.Deployment
	p := d.App.Spec.Generic().Pipeline
	for _, ps := range d.Plan.Stages {
		if ps.ID != st.Plan.RollbackOf || p == nil || ps.Index < 0 || ps.Index >= len(p.Stages) {
			continue
		}
		o, ok := p.Stages[ps.Index].With.(*config.ScriptRunStageOptions)
		if !ok {
			break
		}
		if t := o.Timeout.Std(); t > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, t)
			defer cancel()
		}
		return e.runScript(ctx, st, o.OnRollback, o.Env, true)
	}
	return fmt.Errorf("no SCRIPT_RUN stage %s", st.Plan.RollbackOf)
}

// outputPiece is the most of one line of a script's output one event
// carries: a longer line is emitted in pieces (masked across the cuts).
const outputPiece = 64 << 10

// runScript runs script with `sh -c` in the application directory, with
// the SR_* variables PipeCD defines, emitting its output line by line
// (redacted). Cancellation terminates the script's process group.
func (e *Engine) runScript(ctx context.Context, st *Stage, script string, env map[string]string, rollback bool) error {
	d := st.Deployment
	se := d.Script
	shell := se.Shell
	if shell == "" {
		shell = "/bin/sh"
	}
	cmd := exec.CommandContext(ctx, shell, "-c", script)
	cmd.Dir = se.Dir
	cmd.Env = append(append([]string(nil), se.Environ...), srEnv(d, se.RepoURL, rollback)...)
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	setProcessGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	// One writer for both streams: os/exec then writes to it from one
	// goroutine at a time, and Wait returns once it wrote everything.
	out := se.Redact.Lines(outputPiece, func(line string) {
		st.emit(Event{Stage: string(st.Plan.Name), StageID: st.Plan.ID, Message: line, Output: true})
	})
	cmd.Stdout, cmd.Stderr = out, out
	start := e.Now()
	err := cmd.Start()
	if err == nil {
		err = cmd.Wait()
	}
	_ = out.Close()
	st.SetMeta("duration", e.Now().Sub(start).Round(time.Millisecond).String())
	if cmd.ProcessState != nil {
		st.SetMeta("exitCode", strconv.Itoa(cmd.ProcessState.ExitCode()))
	}
	if ctx.Err() != nil {
		if c := context.Cause(ctx); isStageTimeout(c) {
			return c
		}
		return fmt.Errorf("the script was stopped: %w", context.Cause(ctx))
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("the script exited with code %d", exit.ExitCode())
	}
	if err != nil {
		return fmt.Errorf("run the script: %w", err)
	}
	return nil
}

// srEnv returns the SR_* context variables of PipeCD's SCRIPT_RUN.
func srEnv(d *Deployment, repoURL string, rollback bool) []string {
	rec := d.Record
	triggeredAt := rec.CreatedAt
	if triggeredAt.IsZero() {
		triggeredAt = rec.StartedAt
	}
	summary := rec.StrategyReason
	labels := map[string]string{}
	if d.App != nil {
		for k, v := range d.App.Labels {
			labels[k] = v
		}
	}
	raw, _ := json.Marshal(map[string]any{
		"deploymentID": rec.ID, "applicationID": rec.App, "applicationName": rec.App,
		"triggeredAt": triggeredAt.Unix(), "triggeredCommitHash": rec.Target.Hash,
		"repositoryURL": repoURL, "labels": labels, "isRollback": rollback,
	})
	out := []string{
		"SR_DEPLOYMENT_ID=" + rec.ID,
		"SR_APPLICATION_ID=" + rec.App,
		"SR_APPLICATION_NAME=" + rec.App,
		"SR_TRIGGERED_AT=" + strconv.FormatInt(triggeredAt.Unix(), 10),
		"SR_TRIGGERED_COMMIT_HASH=" + rec.Target.Hash,
		"SR_REPOSITORY_URL=" + repoURL,
		"SR_SUMMARY=" + summary,
		"SR_IS_ROLLBACK=" + strconv.FormatBool(rollback),
		"SR_CONTEXT_RAW=" + string(raw),
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, "SR_LABELS_"+strings.ToUpper(strings.NewReplacer("-", "_", ".", "_", "/", "_").Replace(k))+"="+labels[k])
	}
	return out
}
