package drift

// Field change kinds, from the cluster's point of view.
const (
	// FieldChanged: the field holds another value live than Git gives it.
	FieldChanged = "changed"
	// FieldLiveOnly: the field exists live but not in Git (removed from
	// Git while pipe still owns it, or added by another field manager).
	FieldLiveOnly = "live-only"
	// FieldMissing: Git sets the field but it is absent live (removed by
	// hand or by another tool).
	FieldMissing = "missing"
)

// Mask replaces Secret and ConfigMap values in reports.
const Mask = "***"

// FieldDiff is one drifted field of an object.
type FieldDiff struct {
	// Path is the field, dotted; list items are named by their key
	// fields when they have them (containers[name=web]), else by index.
	Path string `json:"path"`
	Op   string `json:"op"`
	// Git is the value a sync would leave, Live the value in the cluster;
	// absent on the side where the field does not exist. Secret and
	// ConfigMap values are masked.
	Git  any `json:"git,omitempty"`
	Live any `json:"live,omitempty"`
	// Managers are the field managers (other than pipe) owning the field
	// live: who changed it.
	Managers []string `json:"managers,omitempty"`
}
