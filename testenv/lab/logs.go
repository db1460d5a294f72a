package lab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// LogLine is one JSON log line of nva-monitor (README "Logs"): the common
// attributes decoded, everything in Attrs.
type LogLine struct {
	Time     time.Time `json:"time"`
	Level    string    `json:"level"`
	Msg      string    `json:"msg"`
	Event    string    `json:"event"`
	Instance string    `json:"instance"`
	NVA      string    `json:"nva"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Reason   string    `json:"reason"`
	Failure  string    `json:"failure"`
	// Attrs holds every attribute of the line, decoded as JSON.
	Attrs map[string]any `json:"-"`
}

// Str returns a string attribute ("" when absent or not a string).
func (l LogLine) Str(key string) string {
	s, _ := l.Attrs[key].(string)
	return s
}

// ParseLogs decodes the JSON lines of a monitor's log; other lines (a panic,
// the race detector's report) are skipped.
func ParseLogs(b []byte) []LogLine {
	var out []LogLine
	for _, raw := range bytes.Split(b, []byte("\n")) {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || raw[0] != '{' {
			continue
		}
		var l LogLine
		if json.Unmarshal(raw, &l) != nil {
			continue
		}
		if json.Unmarshal(raw, &l.Attrs) != nil {
			continue
		}
		out = append(out, l)
	}
	return out
}

// Filter returns the lines of an event at or after a time, in order; nva
// "" matches any NVA.
func Filter(lines []LogLine, event, nva string, after time.Time) []LogLine {
	var out []LogLine
	for _, l := range lines {
		if l.Event == event && (nva == "" || l.NVA == nva) && !l.Time.Before(after) {
			out = append(out, l)
		}
	}
	return out
}

// First returns the first line of an event at or after a time.
func First(lines []LogLine, event, nva string, after time.Time) (LogLine, bool) {
	for _, l := range lines {
		if l.Event == event && (nva == "" || l.NVA == nva) && !l.Time.Before(after) {
			return l, true
		}
	}
	return LogLine{}, false
}

// String renders a line compactly for reports.
func (l LogLine) String() string {
	s := fmt.Sprintf("%s %s %s", l.Time.Format("15:04:05.000"), l.Level, l.Event)
	for _, k := range []string{"nva", "from", "to", "reason", "failure"} {
		if v := l.Str(k); v != "" {
			s += " " + k + "=" + v
		}
	}
	return s
}
