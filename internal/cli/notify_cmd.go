package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/notify"
)

func (a *app) notifyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Check the notification setup",
		Args:  cobra.NoArgs,
	}
	test := &cobra.Command{
		Use:   "test",
		Short: "Send a sample event to the receivers of .pipe/config.yaml",
		Long: `Send a sample DEPLOYMENT_SUCCEEDED event to every receiver of the
repository's notifications (or the one named with --receiver), at once and
without routing, and say what each answered: a way to check a webhook URL,
a token, a channel or a signature before a deployment needs them.`,
		Example: `  pipe notify test
  pipe notify test --receiver slack-ops`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := a.bind(cmd)
			_, repo, err := a.openRepo()
			if err != nil {
				return err
			}
			if repo.Config == nil || len(repo.Config.Notifications.Receivers) == 0 {
				return &Error{Code: ExitUsage, Summary: "no notification receiver in " + config.RepoConfigFile,
					Hint: "add notifications.receivers and notifications.routes (docs/notifications.md)"}
			}
			n := repo.Config.Notifications
			// Every receiver is tested, routed or not.
			n.Routes = nil
			for _, r := range n.Receivers {
				n.Routes = append(n.Routes, config.NotificationRoute{Name: "test-" + r.Name, Receiver: r.Name})
			}
			d, err := notify.FromConfig(&n, notify.Options{Getenv: a.env.Getenv, UserAgent: "pipe/" + buildVersion().Version, Bound: 5 * time.Second,
				HTTPClient:  a.notifyHTTPClient(),
				Mask:        a.secrets.MaskBytes,
				SlackAPIURL: a.env.Getenv("PIPE_SLACK_API_URL"), Warn: func(string) {}})
			if err != nil {
				return &Error{Code: ExitUsage, Summary: "notifications: " + err.Error()}
			}
			names := d.Receivers()
			if want := v.GetString("receiver"); want != "" {
				names = []string{want}
			}
			ev := sampleEvent(a.env.Now())
			failed := 0
			for _, name := range names {
				if err := d.Send(cmd.Context(), name, ev); err != nil {
					failed++
					fmt.Fprintf(a.out, "%s: FAILED: %v\n", name, err)
					continue
				}
				fmt.Fprintf(a.out, "%s: sent\n", name)
			}
			if failed > 0 {
				return &Error{Code: ExitFailed, Summary: fmt.Sprintf("%d of %d receivers could not be sent to", failed, len(names)), Quiet: true}
			}
			return nil
		},
	}
	test.Flags().String("receiver", "", "send only to this receiver")
	cmd.AddCommand(test)
	return cmd
}

// sampleEvent is a made-up successful deployment.
func sampleEvent(now time.Time) notify.Event {
	start := now.Add(-3 * time.Minute)
	return notify.Event{
		Type: notify.DeploymentSucceeded, Group: notify.GroupDeployment, Time: now,
		App:     notify.App{Name: "pipe-notify-test", Kind: "KubernetesApp"},
		Actor:   "pipe notify test",
		Summary: "a sample event sent by `pipe notify test`",
		Deployment: &notify.Deployment{ID: "01J0000000000000000000TEST", Status: "SUCCEEDED", Strategy: "PIPELINE",
			Commit: notify.Commit{Hash: "0000000000000000000000000000000000000000", Subject: "a sample commit"}, StartedAt: start, EndedAt: now,
			Stages: []notify.StageSummary{
				{Name: "K8S_CANARY_ROLLOUT", Status: "SUCCEEDED", Duration: 40 * time.Second},
				{Name: "ANALYSIS", Status: "SUCCEEDED", Duration: 2 * time.Minute},
				{Name: "K8S_PRIMARY_ROLLOUT", Status: "SUCCEEDED", Duration: 20 * time.Second},
			}},
	}
}
