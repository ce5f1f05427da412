// Package notify sends deployment, stage, drift and analysis events to the
// receivers of .pipe/config.yaml (Slack, signed webhooks) by PipeCD's
// routes and mentions, without ever failing or holding up a deployment
// beyond a bound.
package notify

import "time"

// Group is an event group, as routes name them.
type Group string

// Groups.
const (
	GroupDeployment      Group = "DEPLOYMENT"
	GroupStage           Group = "STAGE"
	GroupApplicationSync Group = "APPLICATION_SYNC"
	GroupAnalysis        Group = "ANALYSIS"
)

// Type is an event type, as routes and mentions name them (PipeCD's,
// without their EVENT_ prefix, plus ANALYSIS_FAILED).
type Type string

// Event types.
const (
	DeploymentTriggered     Type = "DEPLOYMENT_TRIGGERED"
	DeploymentPlanned       Type = "DEPLOYMENT_PLANNED"
	DeploymentStarted       Type = "DEPLOYMENT_STARTED"
	DeploymentWaitApproval  Type = "DEPLOYMENT_WAIT_APPROVAL"
	DeploymentApproved      Type = "DEPLOYMENT_APPROVED"
	DeploymentRollingBack   Type = "DEPLOYMENT_ROLLING_BACK"
	DeploymentSucceeded     Type = "DEPLOYMENT_SUCCEEDED"
	DeploymentFailed        Type = "DEPLOYMENT_FAILED"
	DeploymentCancelled     Type = "DEPLOYMENT_CANCELLED"
	DeploymentTriggerFailed Type = "DEPLOYMENT_TRIGGER_FAILED"
	StageStarted            Type = "STAGE_STARTED"
	StageSkipped            Type = "STAGE_SKIPPED"
	StageSucceeded          Type = "STAGE_SUCCEEDED"
	StageFailed             Type = "STAGE_FAILED"
	StageCancelled          Type = "STAGE_CANCELLED"
	ApplicationSynced       Type = "APPLICATION_SYNCED"
	ApplicationOutOfSync    Type = "APPLICATION_OUT_OF_SYNC"
	AnalysisFailed          Type = "ANALYSIS_FAILED"
)

// GroupOf is the group of an event type.
func GroupOf(t Type) Group {
	switch {
	case len(t) > 6 && t[:6] == "STAGE_":
		return GroupStage
	case t == ApplicationSynced || t == ApplicationOutOfSync:
		return GroupApplicationSync
	case t == AnalysisFailed:
		return GroupAnalysis
	}
	return GroupDeployment
}

// Event is one notification. It marshals to the JSON a webhook receives.
type Event struct {
	Type  Type      `json:"type"`
	Group Group     `json:"group"`
	Time  time.Time `json:"time"`
	App   App       `json:"app"`
	// Deployment is set for deployment, stage and analysis events.
	Deployment *Deployment `json:"deployment,omitempty"`
	// Stage is set for stage and analysis events.
	Stage *Stage `json:"stage,omitempty"`
	// Analysis is set for ANALYSIS_FAILED.
	Analysis *Analysis `json:"analysis,omitempty"`
	// Drift is set for APPLICATION_* events: what differs, in one line.
	Drift string `json:"drift,omitempty"`
	// Actor is who did it: approved or cancelled by, or who triggered.
	Actor string `json:"actor,omitempty"`
	// Summary is the event's text: the plan summary, the failure reason.
	Summary string `json:"summary,omitempty"`
	// CI links the run and the pull request, when known.
	CIRunURL string `json:"ciRunURL,omitempty"`
	PRURL    string `json:"prURL,omitempty"`
}

// App is the application an event is about.
type App struct {
	Name   string            `json:"name"`
	Kind   string            `json:"kind,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	// Mentions are the app's notification.mentions (config), matched
	// against the event's type by the router.
	Mentions []Mention `json:"-"`
}

// Mention is one entry of an app's notification.mentions.
type Mention struct {
	Event       string // an event type or "*"
	SlackUsers  []string
	SlackGroups []string
}

// Deployment is the deployment an event is about.
type Deployment struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	Strategy  string    `json:"strategy,omitempty"`
	Commit    Commit    `json:"commit"`
	StartedAt time.Time `json:"startedAt,omitzero"`
	EndedAt   time.Time `json:"endedAt,omitzero"`
	// Stages are the deployment's stages with their outcome (final events).
	Stages []StageSummary `json:"stages,omitempty"`
}

// Commit is a commit, with a link when the CI system gives one.
type Commit struct {
	Hash    string `json:"hash"`
	Subject string `json:"subject,omitempty"`
	URL     string `json:"url,omitempty"`
}

// Stage is the stage an event is about.
type Stage struct {
	ID     string `json:"id,omitempty"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// StageSummary is a stage in a final event.
type StageSummary struct {
	Name     string        `json:"name"`
	Status   string        `json:"status"`
	Duration time.Duration `json:"durationNanos,omitempty"`
}

// Analysis says which metric failed an ANALYSIS stage.
type Analysis struct {
	Metric    string `json:"metric"`
	Value     string `json:"value,omitempty"`
	Threshold string `json:"threshold,omitempty"`
	Reason    string `json:"reason,omitempty"`
}
