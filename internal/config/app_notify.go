package config

import "strings"

// DeploymentNotification says who is mentioned in the notifications of an
// application.
type DeploymentNotification struct {
	// Users and groups mentioned for each event.
	Mentions []NotificationMention `json:"mentions,omitempty"`
}

// NotificationMention mentions users or groups in the notifications of one event.
type NotificationMention struct {
	// The event (e.g. DEPLOYMENT_FAILED), or "*" for every event.
	Event string `json:"event" jsonschema:"required"`
	// Deprecated: use slackUsers.
	Slack []string `json:"slack,omitempty" jsonschema_extras:"deprecated=true"`
	// Slack user IDs to mention.
	SlackUsers []string `json:"slackUsers,omitempty"`
	// Slack group IDs to mention.
	SlackGroups []string `json:"slackGroups,omitempty"`
	// Email addresses; accepted for compatibility, neither PipeCD nor pipe sends email mentions.
	Email []string `json:"email,omitempty"`
}

// AllEvents is the notification event that matches every event.
const AllEvents = "*"

// mentionEventNames lists PipeCD's notification event types (without their
// EVENT_ prefix), in PipeCD's order.
var mentionEventNames = []string{
	"DEPLOYMENT_TRIGGERED", "DEPLOYMENT_PLANNED", "DEPLOYMENT_APPROVED", "DEPLOYMENT_ROLLING_BACK",
	"DEPLOYMENT_SUCCEEDED", "DEPLOYMENT_FAILED", "DEPLOYMENT_CANCELLED", "DEPLOYMENT_WAIT_APPROVAL",
	"DEPLOYMENT_TRIGGER_FAILED", "DEPLOYMENT_STARTED",
	"APPLICATION_SYNCED", "APPLICATION_OUT_OF_SYNC", "APPLICATION_HEALTHY",
	"PIPED_STARTED", "PIPED_STOPPED",
}

// Matches reports whether the mention applies to an event (named without EVENT_).
func (m NotificationMention) Matches(event string) bool {
	return m.Event == AllEvents || m.Event == event
}

// Users returns the Slack users to mention: slackUsers and the deprecated slack.
func (m NotificationMention) Users() []string {
	return append(append([]string(nil), m.SlackUsers...), m.Slack...)
}

// Validate implements validatable.
func (m *NotificationMention) Validate(c *Checker, path string) {
	if m.Event != AllEvents && m.Event != "" && !containsString(mentionEventNames, m.Event) {
		hint := enumHint(m.Event, append([]string{`"*"`}, mentionEventNames...))
		if trimmed := strings.TrimPrefix(m.Event, "EVENT_"); trimmed != m.Event && containsString(mentionEventNames, trimmed) {
			hint = "drop the EVENT_ prefix: write " + trimmed
		}
		c.Errorf(path+".event", hint, "unknown notification event %q", m.Event)
	}
	if len(m.Slack) > 0 {
		c.Warnf(path+".slack", "rename `slack` to `slackUsers`", "`slack` is deprecated")
	}
	if len(m.Email) > 0 {
		c.Warnf(path+".email", "mention users with slackUsers or slackGroups", "email mentions are not sent (PipeCD does not send them either)")
	}
	if len(m.Slack)+len(m.SlackUsers)+len(m.SlackGroups)+len(m.Email) == 0 {
		c.Warnf(path, "add slackUsers or slackGroups", "the mention names nobody")
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
