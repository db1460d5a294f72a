package decide

import (
	"strings"
	"testing"
	"time"
)

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Policy)
		wantErr []string // substrings; none means valid
	}{
		{name: "the default test policy is valid", edit: func(*Policy) {}},
		{name: "failback preferred is valid", edit: func(p *Policy) { p.Failback = FailbackPreferred }},
		{name: "zero intervals are valid", edit: func(p *Policy) { p.MinFailoverInterval, p.FailbackHoldoff = 0, 0 }},
		{
			name:    "one NVA is not enough",
			edit:    func(p *Policy) { p.NVAs = []string{"nva-1"} },
			wantErr: []string{"at least 2 NVAs, got 1"},
		},
		{
			name:    "an NVA may not be listed twice",
			edit:    func(p *Policy) { p.NVAs = []string{"nva-1", "nva-2", "nva-1"} },
			wantErr: []string{`NVA "nva-1" is listed more than once`},
		},
		{
			name:    "an NVA needs a name",
			edit:    func(p *Policy) { p.NVAs = []string{"nva-1", ""} },
			wantErr: []string{"NVA 1 has an empty name"},
		},
		{
			name:    "thresholds must be at least one",
			edit:    func(p *Policy) { p.FailureThreshold, p.SuccessThreshold = 0, -1 },
			wantErr: []string{"failure threshold must be at least 1, got 0", "success threshold must be at least 1, got -1"},
		},
		{
			name:    "intervals may not be negative",
			edit:    func(p *Policy) { p.MinFailoverInterval, p.FailbackHoldoff = -time.Second, -time.Minute },
			wantErr: []string{"min failover interval must not be negative, got -1s", "failback holdoff must not be negative, got -1m0s"},
		},
		{
			name:    "an empty failback policy is refused (the config layer fills the default)",
			edit:    func(p *Policy) { p.Failback = "" },
			wantErr: []string{`failback must be "never" or "preferred", got ""`},
		},
		{
			name:    "an unknown failback policy is refused",
			edit:    func(p *Policy) { p.Failback = "always" },
			wantErr: []string{`got "always"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := twoNVAs()
			tt.edit(&p)
			err := p.Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "validate decision policy: ") {
				t.Errorf("error %q does not say what failed", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
