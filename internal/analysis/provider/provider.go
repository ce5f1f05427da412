// Package provider queries the metrics backends ANALYSIS stages judge:
// Prometheus, Datadog and CloudWatch, each behind the one small Provider
// interface so that more can be added without touching the judges.
package provider

import (
	"context"
	"errors"
	"time"
)

// Window is the time range a query covers. Step is the resolution asked
// for (0 lets the provider choose).
type Window struct {
	Start, End time.Time
	Step       time.Duration
}

// Point is one sample of a series.
type Point struct {
	Time  time.Time
	Value float64
}

// Provider queries one metrics backend.
type Provider interface {
	// Type is the provider type of .pipe/config.yaml (PROMETHEUS, ...).
	Type() string
	// Query runs query over w and returns the points of the one series it
	// selects, in time order. A query that selects nothing returns an
	// error wrapping ErrNoData; one that selects several series is an
	// error that says how to aggregate them. Errors never contain
	// credentials.
	Query(ctx context.Context, query string, w Window) ([]Point, error)
}

// ErrNoData is wrapped by the error of a query that returned no points.
var ErrNoData = errors.New("the query returned no data")
