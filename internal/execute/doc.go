// Package execute owns the stage engine: it runs the stages of a pipeline
// plan in order against a platform, enforces the deployment and stage
// timeouts, checkpoints every transition (and the stages' metadata) to the
// deployment record, pauses for approvals, rolls back automatically on
// failure, timeout or cancellation, and resumes a deployment from its
// record. It never prints and never exits: it emits events.
package execute
