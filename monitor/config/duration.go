package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// String returns d as a Go duration string ("1m0s"), the form Marshal writes.
func (d Duration) String() string { return time.Duration(d).String() }

// ParseDuration parses a configuration duration: a Go duration string such
// as "15s" or "500ms", not negative. A bare number ("15") is refused because
// its unit would be a guess. The error shows how to write the value.
func ParseDuration(s string) (Duration, error) {
	v, err := time.ParseDuration(s)
	switch {
	case err != nil && isBareNumber(s):
		n := strings.TrimSpace(s)
		return 0, fmt.Errorf("%s is a bare number; durations need a unit, write it like %q",
			n, strings.TrimPrefix(n, "-")+"s")
	case err != nil:
		return 0, fmt.Errorf("%q is not a duration; write it like \"15s\" or \"500ms\" (units: ms, s, m, h)", s)
	case v < 0:
		return 0, fmt.Errorf("%q is negative; write a positive duration like %q", s, strings.TrimPrefix(s, "-"))
	}
	return Duration(v), nil
}

func isBareNumber(s string) bool {
	_, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil
}

// durationFromNode decodes a YAML scalar into a Duration. A null node is the
// zero Duration (unset). The error does not name the field; callers that know
// it add it.
func durationFromNode(n *yaml.Node) (Duration, error) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode {
		return 0, fmt.Errorf("a %s is not a duration; write a string like \"15s\"", kindName(n))
	}
	switch n.ShortTag() {
	case "!!null":
		return 0, nil
	case "!!int", "!!float":
		// Unquoted 15 or 1.5: say so even if a quoted "15" would say the same.
		return ParseDuration(n.Value)
	case "!!str":
		return ParseDuration(n.Value)
	default:
		return 0, fmt.Errorf("%s is not a duration; write it like \"15s\" or \"500ms\"", n.Value)
	}
}

// MarshalYAML writes d as a Go duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML accepts only Go duration strings ("15s"). Parse reports a bad
// duration with its field path before this runs; this error (for direct
// yaml.Unmarshal callers) carries the line.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := durationFromNode(n)
	if err != nil {
		// A *yaml.TypeError lets the decoder go on and report every problem.
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*d = v
	return nil
}

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON accepts only Go duration strings ("15s") and null (unset).
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var num json.Number
		if json.Unmarshal(b, &num) == nil {
			return fmt.Errorf("%s is a bare number; durations need a unit, write it like %q", b, string(b)+"s")
		}
		return errors.New(`a duration must be a string like "15s" or "500ms"`)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// kindName names a YAML node's shape for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.DocumentNode:
		return "document"
	case yaml.AliasNode:
		return "alias"
	default:
		return "single value"
	}
}
