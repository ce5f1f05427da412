package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/state"
)

type approveOptions struct {
	app    string
	by     string
	output string
}

func (a *app) approveCommand() *cobra.Command {
	opts := &approveOptions{}
	cmd := &cobra.Command{
		Use:   "approve APP",
		Short: "Approve the WAIT_APPROVAL stage an application's deployment is paused at",
		Long: `Record an approval of the WAIT_APPROVAL stage the app's unfinished
deployment is waiting at, in its deployment record (Git notes). The stage's
approvers (when listed) and minApproverNum (distinct approvers) are
honoured. Once enough approvals are recorded, continue the deployment with
` + "`pipe sync APP --resume`" + ` (a job running with --wait-approval continues by
itself).

The approver is --by, else the CI actor, else $PIPE_ACTOR or the user name.`,
		Example: `  pipe approve web
  pipe approve web --by alice && pipe sync web --resume`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := a.bind(cmd)
			opts.app = args[0]
			opts.by = strings.TrimSpace(v.GetString("by"))
			if opts.by == "" {
				opts.by = a.actor()
			}
			var err error
			if opts.output, err = outputFormat(v, "text", "json"); err != nil {
				return err
			}
			st, root, err := a.openStore(v, true)
			if err != nil {
				return err
			}
			defer st.Close()
			return a.runApprove(cmd, root, st, opts)
		},
	}
	addOutputFlag(cmd, "text", "json")
	addStoreFlags(cmd, true)
	cmd.Flags().String("by", "", "who approves (default: the CI actor or the user)")
	return cmd
}

func (a *app) runApprove(cmd *cobra.Command, root string, st *state.GitStore, opts *approveOptions) error {
	ctx := cmd.Context()
	recs, err := st.Running(ctx, opts.app)
	if err != nil {
		return stateError(err)
	}
	var rec *state.Record
	for _, r := range recs {
		if r.Status == state.StatusWaitingApproval || (r.Status == state.StatusRunning && waitingStage(r) != nil) {
			rec = r
			break
		}
	}
	if rec == nil {
		return &Error{Code: ExitFailed, Summary: fmt.Sprintf("%s has no deployment waiting for approval", opts.app),
			Hint: "`pipe status " + opts.app + "` shows its last deployment"}
	}
	repo, err := loadRepo(root)
	if err != nil {
		return err
	}
	ap, err := repo.App(opts.app)
	if err != nil {
		return &Error{Code: ExitUsage, Summary: err.Error()}
	}
	stage, done, err := execute.Approve(rec, approvalOptions(ap), opts.by)
	if err != nil {
		return &Error{Code: ExitFailed, Summary: "not approved: " + err.Error()}
	}
	done = a.addPRApprovals(ctx, rec, stage, approvalOptions(ap)(stage.ID)) || done // approval_source.go
	if err := st.Update(ctx, rec); err != nil {
		return stateError(err)
	}
	got := execute.Approvals(stage)
	if opts.output == "json" {
		return writeJSON(a.out, struct {
			App        string   `json:"app"`
			Deployment string   `json:"deployment"`
			Stage      string   `json:"stage"`
			Approvals  []string `json:"approvals"`
			Approved   bool     `json:"approved"`
		}{opts.app, rec.ID, stage.ID, got, done})
	}
	fmt.Fprintf(a.out, "%s: stage %s of deployment %s approved by %s (%s)\n", opts.app, stage.ID, rec.ID, opts.by, strings.Join(got, ", "))
	if done {
		fmt.Fprintf(a.out, "enough approvals: continue with `pipe sync %s --resume`\n", opts.app)
	} else {
		fmt.Fprintf(a.out, "more approvals are needed before the deployment continues\n")
	}
	return nil
}

// waitingStage is the WAIT_APPROVAL stage a deployment waits at, if any.
func waitingStage(r *state.Record) *state.Stage {
	for i := range r.Stages {
		if r.Stages[i].Name == string(config.StageWaitApproval) && r.Stages[i].Status == state.StageRunning {
			return &r.Stages[i]
		}
	}
	return nil
}

// approvalOptions returns the options of the app's WAIT_APPROVAL stages by
// stage id (the id, or stage-N as plans name them).
func approvalOptions(ap *config.App) func(string) *config.WaitApprovalStageOptions {
	return func(id string) *config.WaitApprovalStageOptions {
		p := ap.Spec.Generic().Pipeline
		if p == nil {
			return nil
		}
		for i, s := range p.Stages {
			sid := s.ID
			if sid == "" {
				sid = fmt.Sprintf("stage-%d", i)
			}
			if sid == id {
				o, _ := s.With.(*config.WaitApprovalStageOptions)
				return o
			}
		}
		return nil
	}
}
