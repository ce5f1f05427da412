package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Notifications says which events are sent where: each route matches events
// (by name, group, application and labels) and sends them to one receiver.
type Notifications struct {
	// The routes, each naming a receiver.
	Routes []NotificationRoute `json:"routes,omitempty"`
	// The receivers: Slack or a webhook.
	Receivers []NotificationReceiver `json:"receivers,omitempty"`
}

// NotificationRoute matches events and sends them to a receiver. Empty
// lists match everything; the ignore lists win.
type NotificationRoute struct {
	// The route name, unique among routes.
	Name string `json:"name" jsonschema:"required"`
	// The receiver the matched events are sent to.
	Receiver string `json:"receiver" jsonschema:"required"`
	// Event names to send, e.g. DEPLOYMENT_SUCCEEDED.
	Events []string `json:"events,omitempty"`
	// Event names not to send.
	IgnoreEvents []string `json:"ignoreEvents,omitempty"`
	// Event groups to send, e.g. DEPLOYMENT.
	Groups []string `json:"groups,omitempty"`
	// Event groups not to send.
	IgnoreGroups []string `json:"ignoreGroups,omitempty"`
	// Applications whose events are sent.
	Apps []string `json:"apps,omitempty"`
	// Applications whose events are not sent.
	IgnoreApps []string `json:"ignoreApps,omitempty"`
	// Labels the application must have.
	Labels map[string]string `json:"labels,omitempty"`
	// Labels of applications whose events are not sent.
	IgnoreLabels map[string]string `json:"ignoreLabels,omitempty"`
}

// NotificationReceiver is where notifications go: exactly one of slack and
// webhook.
type NotificationReceiver struct {
	// The receiver name, unique among receivers; routes refer to it.
	Name string `json:"name" jsonschema:"required"`
	// Send to Slack.
	Slack *SlackReceiver `json:"slack,omitempty"`
	// Send to an HTTP endpoint.
	Webhook *WebhookReceiver `json:"webhook,omitempty"`
}

// SlackReceiver sends to Slack through an incoming webhook (hookURL) or the
// Web API (oauthToken and channelID).
type SlackReceiver struct {
	// A file holding the incoming webhook URL.
	HookURLFile HostPath `json:"hookURLFile,omitempty"`
	// An environment variable holding the incoming webhook URL.
	HookURLEnv EnvVar `json:"hookURLEnv,omitempty"`
	// A file holding the OAuth token for the Web API.
	OAuthTokenFile HostPath `json:"oauthTokenFile,omitempty"`
	// An environment variable holding the OAuth token for the Web API.
	OAuthTokenEnv EnvVar `json:"oauthTokenEnv,omitempty"`
	// The channel the Web API posts to.
	ChannelID string `json:"channelID,omitempty"`
	// Slack accounts mentioned in every message.
	MentionedAccounts []string `json:"mentionedAccounts,omitempty"`
	// Slack user groups mentioned in every deployment message.
	MentionedGroups []string `json:"mentionedGroups,omitempty"`
}

func slackInlineSecrets() inlineSecrets {
	return inlineSecrets{
		"hookURL": secretInstead("hookURL"), "oauthToken": secretInstead("oauthToken"), "oauthTokenData": secretInstead("oauthToken"),
	}
}

// DecodeNode implements NodeDecoder: inline secrets are reported.
func (s *SlackReceiver) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	decodeWithoutInlineSecrets(d, n, reflect.ValueOf(s).Elem(), path, slackInlineSecrets())
}

func (*SlackReceiver) unknownFieldHint(key string) string {
	return inlineHint(slackInlineSecrets(), key)
}

// Validate implements validatable: a webhook URL, or a token and a channel.
func (s *SlackReceiver) Validate(c *Checker, path string) {
	c.checkSecret(path, "hookURL", s.HookURLFile, s.HookURLEnv, false)
	c.checkSecret(path, "oauthToken", s.OAuthTokenFile, s.OAuthTokenEnv, false)
	hook, token, channel := c.secretSourced(path, "hookURL"), c.secretSourced(path, "oauthToken"), s.ChannelID != ""
	switch {
	case hook && (token || channel):
		c.Errorf(path, "send either through the incoming webhook (hookURL) or through the Web API (oauthToken and channelID)",
			"both hookURL and the Web API (oauthToken, channelID) are set")
	case !hook && !token && !channel:
		c.Errorf(path, "set `hookURLEnv` or `hookURLFile` (incoming webhook), or an oauthToken and channelID (Web API)", "the Slack receiver has no destination")
	case !hook && !token:
		c.Errorf(path, "set `oauthTokenEnv` or `oauthTokenFile`", "channelID needs an oauthToken")
	case !hook && !channel:
		c.Errorf(path, "set `channelID`", "the Web API needs a channelID")
	}
}

// WebhookReceiver sends events as JSON to an HTTP endpoint.
type WebhookReceiver struct {
	// The endpoint URL.
	URL string `json:"url,omitempty"`
	// An environment variable holding the endpoint URL, when the URL itself
	// is a secret.
	URLEnv EnvVar `json:"urlEnv,omitempty"`
	// The HTTP header that also carries the static signature value, as
	// PipeCD sends it (PipeCD's is PipeCD-Signature), for receivers written
	// for PipeCD. Unset, only the HMAC signature (Pipe-Signature) is sent:
	// a static value in every request lets whoever sees one request forge
	// others.
	SignatureKey string `json:"signatureKey,omitempty"`
	// A file holding the signature value.
	SignatureValueFile HostPath `json:"signatureValueFile,omitempty"`
	// An environment variable holding the signature value.
	SignatureValueEnv EnvVar `json:"signatureValueEnv,omitempty"`
}

func webhookInlineSecrets() inlineSecrets {
	return inlineSecrets{"signatureValue": secretInstead("signatureValue")}
}

// DecodeNode implements NodeDecoder: inline secrets are reported.
func (w *WebhookReceiver) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	decodeWithoutInlineSecrets(d, n, reflect.ValueOf(w).Elem(), path, webhookInlineSecrets())
}

func (*WebhookReceiver) unknownFieldHint(key string) string {
	return inlineHint(webhookInlineSecrets(), key)
}

// Validate implements validatable.
func (w *WebhookReceiver) Validate(c *Checker, path string) {
	urlSet, envSet := c.Has(path+".url"), c.Has(path+".urlEnv")
	switch {
	case urlSet && envSet:
		c.Errorf(path+".urlEnv", "keep either `url` or `urlEnv`", "`url` and `urlEnv` are both set")
	case !urlSet && !envSet:
		c.Errorf(path, "set `url`, or `urlEnv` when the URL is a secret", "missing url")
	case urlSet:
		checkHTTPURL(c, path+".url", w.URL)
	}
	if c.Has(path+".signatureKey") && strings.TrimSpace(w.SignatureKey) == "" {
		c.Errorf(path+".signatureKey", "the name of an HTTP header, e.g. PipeCD-Signature, or remove the field", "signatureKey is empty")
	}
	c.checkSecret(path, "signatureValue", w.SignatureValueFile, w.SignatureValueEnv, false)
}

// Validate implements validatable.
func (r *NotificationReceiver) Validate(c *Checker, path string) {
	switch {
	case r.Slack == nil && r.Webhook == nil:
		c.Errorf(path, "add `slack:` or `webhook:`", "receiver %q has no destination", r.Name)
	case r.Slack != nil && r.Webhook != nil:
		c.Errorf(path+".webhook", "define a receiver per destination", "a receiver is either slack or webhook, not both")
	}
}

// notificationEvents are the event names of PipeCD's notifications (without
// its EVENT_ prefix); piped marks those pipe never sends, having no agent.
func notificationEvents() map[string]bool {
	return map[string]bool{
		"DEPLOYMENT_TRIGGERED": true, "DEPLOYMENT_PLANNED": true, "DEPLOYMENT_APPROVED": true,
		"DEPLOYMENT_ROLLING_BACK": true, "DEPLOYMENT_SUCCEEDED": true, "DEPLOYMENT_FAILED": true,
		"DEPLOYMENT_CANCELLED": true, "DEPLOYMENT_WAIT_APPROVAL": true, "DEPLOYMENT_TRIGGER_FAILED": true,
		"DEPLOYMENT_STARTED": true, "APPLICATION_SYNCED": true, "APPLICATION_OUT_OF_SYNC": true,
		"APPLICATION_HEALTHY": true, "PIPED_STARTED": false, "PIPED_STOPPED": false,
	}
}

func notificationGroups() map[string]bool {
	return map[string]bool{"DEPLOYMENT": true, "APPLICATION_SYNC": true, "APPLICATION_HEALTH": true, "PIPED": false}
}

// Validate implements validatable: route and receiver names are unique,
// routes name existing receivers, and event names are known.
func (n *Notifications) Validate(c *Checker, path string) {
	receivers := make([]string, len(n.Receivers))
	for i, r := range n.Receivers {
		receivers[i] = r.Name
	}
	routes := make([]string, len(n.Routes))
	for i, r := range n.Routes {
		routes[i] = r.Name
	}
	c.checkUnique(path+".receivers", "name", "receiver", receivers)
	c.checkUnique(path+".routes", "name", "route", routes)
	for i, r := range n.Routes {
		rp := indexPath(path+".routes", i)
		if c.Has(rp+".receiver") && !slices.Contains(receivers, r.Receiver) {
			hint := "define it under notifications.receivers"
			if len(receivers) > 0 {
				hint = strings.Replace(enumHint(r.Receiver, receivers), "allowed: ", "defined receivers: ", 1)
			}
			c.Errorf(rp+".receiver", hint, "route %q sends to receiver %q, which is not defined", r.Name, r.Receiver)
		}
		c.checkEventNames(rp+".events", r.Events, notificationEvents(), "event")
		c.checkEventNames(rp+".ignoreEvents", r.IgnoreEvents, notificationEvents(), "event")
		c.checkEventNames(rp+".groups", r.Groups, notificationGroups(), "event group")
		c.checkEventNames(rp+".ignoreGroups", r.IgnoreGroups, notificationGroups(), "event group")
	}
}

// checkEventNames warns about names pipe never sends: unknown ones (with a
// near miss) and PipeCD's piped lifecycle ones.
func (c *Checker) checkEventNames(path string, names []string, known map[string]bool, what string) {
	all := make([]string, 0, len(known))
	for k := range known {
		all = append(all, k)
	}
	slices.Sort(all)
	for i, name := range names {
		p := indexPath(path, i)
		sent, ok := known[name]
		switch {
		case !ok && known[strings.TrimPrefix(name, "EVENT_")]:
			c.Warnf(p, fmt.Sprintf("write %s", strings.TrimPrefix(name, "EVENT_")), "%s names are written without the EVENT_ prefix", what)
		case !ok:
			c.Warnf(p, enumHint(name, all), "unknown %s %q: it never matches", what, truncate(name, 60))
		case !sent:
			c.Warnf(p, "pipe has no long-running agent; remove it", "pipe never sends %s %s", what, name)
		}
	}
}
