package config

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a Go duration string in YAML and JSON ("30s", "1h30m").
// Negative durations are rejected.
type Duration time.Duration

// Std returns the value as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// DecodeNode implements NodeDecoder.
func (d *Duration) DecodeNode(dec *Decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		dec.Errorf(n, path, `a Go duration such as "30s", "5m" or "1h30m"`, "expected a duration, got %s", kindName(n))
		return
	}
	if n.ShortTag() == "!!int" && n.Value == "0" {
		*d = 0
		return
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		hint := `a Go duration such as "30s", "5m" or "1h30m"`
		if _, nerr := strconv.ParseFloat(n.Value, 64); nerr == nil {
			hint = fmt.Sprintf("add a unit: %q or %q", n.Value+"s", n.Value+"m")
		} else if strings.HasSuffix(n.Value, "d") {
			hint = "days are not a unit; use hours, e.g. \"24h\""
		}
		dec.Errorf(n, path, hint, "invalid duration %q", truncate(n.Value, 40))
		return
	}
	if v < 0 {
		dec.Errorf(n, path, "", "duration %q must not be negative", n.Value)
		return
	}
	*d = Duration(v)
}

// String renders the duration as Go does.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON renders the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Percentage is a number between 0 and 100, written 10, "10" or "10%".
type Percentage struct {
	Number int
	// HasSuffix records that it was written with a % sign.
	HasSuffix bool
}

// DecodeNode implements NodeDecoder.
func (p *Percentage) DecodeNode(dec *Decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" || n.ShortTag() == "!!bool" {
		dec.Errorf(n, path, `write 10, "10" or "10%"`, "expected a percentage, got %s", kindName(n))
		return
	}
	s := strings.TrimSpace(n.Value)
	p.HasSuffix = strings.HasSuffix(s, "%")
	v, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(s, "%")))
	if err != nil {
		dec.Errorf(n, path, `a whole number from 0 to 100, written 10, "10" or "10%"`, "invalid percentage %q", truncate(n.Value, 40))
		return
	}
	if v < 0 || v > 100 {
		dec.Errorf(n, path, "a percentage is between 0 and 100", "percentage %d is out of range", v)
		return
	}
	p.Number = v
}

// MarshalJSON renders the percentage as a number.
func (p Percentage) MarshalJSON() ([]byte, error) { return json.Marshal(p.Number) }

// Replicas is a replica count: a number, or a percentage of the primary ("10%").
type Replicas struct {
	Number       int
	IsPercentage bool
}

// DecodeNode implements NodeDecoder.
func (r *Replicas) DecodeNode(dec *Decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" || n.ShortTag() == "!!bool" {
		dec.Errorf(n, path, `write a number (3) or a percentage of the primary ("20%")`, "expected replicas, got %s", kindName(n))
		return
	}
	s := strings.TrimSpace(n.Value)
	r.IsPercentage = strings.HasSuffix(s, "%")
	v, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(s, "%")))
	if err != nil {
		dec.Errorf(n, path, `write a number (3) or a percentage of the primary ("20%")`, "invalid replicas %q", truncate(n.Value, 40))
		return
	}
	if v < 0 {
		dec.Errorf(n, path, "", "replicas must not be negative, got %d", v)
		return
	}
	if r.IsPercentage && v > 100 {
		dec.Errorf(n, path, "a percentage is between 0 and 100", "replicas percentage %d%% is out of range", v)
		return
	}
	r.Number = v
}

// String renders the replicas as written.
func (r Replicas) String() string {
	if r.IsPercentage {
		return fmt.Sprintf("%d%%", r.Number)
	}
	return strconv.Itoa(r.Number)
}

// Calculate returns the replica count given the primary's count: a percentage
// is rounded up, so 10% of 3 is 1, never 0 (as PipeCD does).
func (r Replicas) Calculate(total, fallback int) int {
	if !r.IsPercentage {
		if r.Number == 0 {
			return fallback
		}
		return r.Number
	}
	if total <= 0 {
		return fallback
	}
	v := (total*r.Number + 99) / 100
	return v
}

// MarshalJSON renders replicas as a number or a "N%" string.
func (r Replicas) MarshalJSON() ([]byte, error) {
	if r.IsPercentage {
		return json.Marshal(r.String())
	}
	return json.Marshal(r.Number)
}
