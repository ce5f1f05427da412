// Package deploy is the orchestrator of one run, and reads top to bottom as
// the pipeline of the design: configuration and source revisions in, the
// app rendered at head and at its last successful deployment, the live
// state observed, a plan decided; then, for a sync, the plan applied to the
// target with every transition recorded in the deployment records. It owns
// the order of those steps, not any of them: each lives in its own package
// (config, source, render, plan, target, state), and this package never
// prints; the CLI renders the events it emits.
package deploy
