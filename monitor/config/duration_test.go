package config

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestParseDurationAcceptsOnlyGoDurationStrings(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     time.Duration
		fragment string // "" means no error
	}{
		{"seconds are accepted", "15s", 15 * time.Second, ""},
		{"milliseconds are accepted", "500ms", 500 * time.Millisecond, ""},
		{"compound durations are accepted", "1h30m", 90 * time.Minute, ""},
		{"a lone zero is accepted as zero", "0", 0, ""},
		{"a bare integer asks for a unit", "15", 0, `15 is a bare number; durations need a unit, write it like "15s"`},
		{"a bare fraction asks for a unit", "1.5", 0, `write it like "1.5s"`},
		{"a negative bare number gets a positive example", "-5", 0, `write it like "5s"`},
		{"a negative duration is refused", "-1s", 0, `"-1s" is negative; write a positive duration like "1s"`},
		{"an unknown unit is refused with an example", "5 parsecs", 0, `"5 parsecs" is not a duration; write it like "15s" or "500ms"`},
		{"an empty string is refused", "", 0, `"" is not a duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.fragment == "" {
				if err != nil || got.D() != tt.want {
					t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.fragment) {
				t.Fatalf("ParseDuration(%q) error = %v; want it to say %q", tt.in, err, tt.fragment)
			}
		})
	}
}

type durationHolder struct {
	D Duration `yaml:"d" json:"d"`
}

func TestDurationDecodesFromYAMLStringsOnly(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     time.Duration
		fragment string
	}{
		{"a duration string decodes", "d: 90s\n", 90 * time.Second, ""},
		{"a quoted duration string decodes", "d: \"250ms\"\n", 250 * time.Millisecond, ""},
		{"null leaves it unset", "d:\n", 0, ""},
		{"a bare integer is refused with its line", "x: 1\nd: 15\n", 0, `line 2: 15 is a bare number`},
		{"a list is refused", "d: [1s]\n", 0, `a list is not a duration`},
		{"a boolean is refused", "d: true\n", 0, `true is not a duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h durationHolder
			err := yaml.Unmarshal([]byte(tt.in), &h)
			if tt.fragment == "" {
				if err != nil || h.D.D() != tt.want {
					t.Fatalf("got %v, %v; want %v", h.D, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.fragment) {
				t.Fatalf("error = %v; want it to say %q", err, tt.fragment)
			}
		})
	}
}

func TestDurationDecodesFromJSONStringsOnly(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     time.Duration
		fragment string
	}{
		{"a duration string decodes", `{"d":"2m"}`, 2 * time.Minute, ""},
		{"null leaves it unset", `{"d":null}`, 0, ""},
		{"a bare number is refused with an example", `{"d":15}`, 0, `15 is a bare number; durations need a unit, write it like "15s"`},
		{"a boolean is refused", `{"d":true}`, 0, `a duration must be a string like "15s"`},
		{"an unparsable string is refused", `{"d":"soon"}`, 0, `"soon" is not a duration`},
		{"a negative duration is refused", `{"d":"-3s"}`, 0, `"-3s" is negative`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h durationHolder
			err := json.Unmarshal([]byte(tt.in), &h)
			if tt.fragment == "" {
				if err != nil || h.D.D() != tt.want {
					t.Fatalf("got %v, %v; want %v", h.D, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.fragment) {
				t.Fatalf("error = %v; want it to say %q", err, tt.fragment)
			}
		})
	}
}

func TestDurationMarshalsAsAGoDurationString(t *testing.T) {
	h := durationHolder{D: Duration(90 * time.Second)}
	y, err := yaml.Marshal(h)
	if err != nil || string(y) != "d: 1m30s\n" {
		t.Fatalf("YAML = %q, %v", y, err)
	}
	j, err := json.Marshal(h)
	if err != nil || string(j) != `{"d":"1m30s"}` {
		t.Fatalf("JSON = %s, %v", j, err)
	}
}
