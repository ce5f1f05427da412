// Package report renders what pipe found or did for each audience: the
// terminal (human text), machines (JSON), CI systems (annotations, job
// summaries, step outputs, GitLab dotenv reports), pull/merge requests
// (plan and result comments with size limits and sticky markers, labels,
// commit statuses, GitHub deployments) and notifications. It formats the
// values it is given and talks to the services it is handed clients for
// (GitHub through go-github, GitLab through its REST API); it never reads
// the environment: tokens and URLs come from the CLI.
package report
