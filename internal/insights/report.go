// Package insights computes the four DORA metrics of a repository's
// deployments from pipe's deployment records (Git notes) and its commit
// history, with no server: deployment frequency, change failure rate, lead
// time for changes and time to restore service, per application and
// overall, each with the counts behind it and the DORA performance band it
// falls in. See docs/insights.md for the definitions.
package insights

import "time"

// SchemaVersion is the version of the Report JSON (`pipe insights -o
// json`). Fields are only added within a version.
const SchemaVersion = 1

// Period is the width of the buckets of the time series.
type Period string

// Periods.
const (
	Day   Period = "day"
	Week  Period = "week"
	Month Period = "month"
)

// Band is a DORA performance band.
type Band string

// Bands, best first. BandNone is a metric without data (no deployment).
const (
	BandElite  Band = "elite"
	BandHigh   Band = "high"
	BandMedium Band = "medium"
	BandLow    Band = "low"
	BandNone   Band = ""
)

// Report is the result of Compute.
type Report struct {
	SchemaVersion int `json:"schemaVersion"`
	// Since and Until bound the window (records completed in [Since, Until)).
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	By    Period    `json:"by"`
	// Buckets are the start times of the series' buckets, in order (UTC;
	// weeks start on Monday).
	Buckets []time.Time `json:"buckets"`
	Overall Metrics     `json:"overall"`
	Apps    []AppReport `json:"apps"`
	// Notes state what the numbers leave out (records folded by pipe gc,
	// commits not in the clone...).
	Notes []string `json:"notes,omitempty"`
}

// AppReport is one application's metrics.
type AppReport struct {
	App     string            `json:"app"`
	Kind    string            `json:"kind,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	Metrics Metrics           `json:"metrics"`
}

// Metrics are the four metrics of a set of deployments.
type Metrics struct {
	DeploymentFrequency DeploymentFrequency `json:"deploymentFrequency"`
	ChangeFailureRate   ChangeFailureRate   `json:"changeFailureRate"`
	LeadTime            Durations           `json:"leadTimeForChanges"`
	TimeToRestore       TimeToRestore       `json:"timeToRestore"`
}

// DeploymentFrequency counts successful deployments.
type DeploymentFrequency struct {
	// Successful deployments completed in the window.
	Successful int `json:"successful"`
	// PerDay is Successful over the window's days.
	PerDay float64 `json:"perDay"`
	// DeployDays is how many distinct days (UTC) had a successful one.
	DeployDays int  `json:"deployDays"`
	Band       Band `json:"band"`
	// Series is the successful deployments per bucket (Report.Buckets).
	Series []int `json:"series"`
}

// ChangeFailureRate is failed (or rolled back) over completed deployments.
type ChangeFailureRate struct {
	// Completed deployments: succeeded, failed or cancelled.
	Completed int `json:"completed"`
	// Failed deployments, rolled back or not; RolledBack of them were.
	Failed     int     `json:"failed"`
	RolledBack int     `json:"rolledBack"`
	Cancelled  int     `json:"cancelled"`
	Rate       float64 `json:"rate"`
	Band       Band    `json:"band"`
	// Series is the rate per bucket; -1 where no deployment completed.
	Series []float64 `json:"series"`
}

// Durations summarise a set of durations (lead time of each deployed
// commit).
type Durations struct {
	// Count is how many durations (commits) there are; Deployments how
	// many successful deployments brought them.
	Count       int `json:"count"`
	Deployments int `json:"deployments"`
	// Clamped counts durations that were negative (a commit time after
	// the deployment: clock skew) and counted as 0.
	Clamped int `json:"clamped,omitempty"`
	// Median and P90, in seconds.
	MedianSeconds float64 `json:"medianSeconds"`
	P90Seconds    float64 `json:"p90Seconds"`
	Band          Band    `json:"band"`
	// Series is the median per bucket in seconds; -1 where none.
	Series []float64 `json:"series"`
}

// TimeToRestore summarises incidents: from the start of a failed
// deployment to the end of its successful rollback, or else to the end of
// the next successful deployment of the app.
type TimeToRestore struct {
	// Incidents that started in the window; Restored of them were
	// restored by its end, the others are Open (not in the median).
	Incidents     int     `json:"incidents"`
	Restored      int     `json:"restored"`
	Open          int     `json:"open"`
	MedianSeconds float64 `json:"medianSeconds"`
	P90Seconds    float64 `json:"p90Seconds"`
	Band          Band    `json:"band"`
}
