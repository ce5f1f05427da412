// Package report renders what pipe found or did for each audience: the
// terminal (human text), machines (JSON), CI systems (annotations, job
// summaries) and, in later stages, pull-request comments and notifications.
// It formats values it is given; it runs nothing and decides nothing.
package report
