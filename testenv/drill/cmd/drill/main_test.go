package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestHelpDocumentsEveryFlagAndScenario(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &out, &errb); code != 0 {
		t.Fatalf("--help exit %d, want 0", code)
	}
	help := errb.String()
	for _, want := range []string{"-scenarios", "-nvas", "-monitors", "-latency", "-probe-interval", "-out", "-quick", "-topology",
		"crash", "hang", "leader-kill", "leader-pause", "throttle", "failback", "crash-floating-ip", "crash-load-balancer", "crash-dns", "Exit codes", "drill-report.html"} {
		if !strings.Contains(help, want) {
			t.Errorf("--help does not mention %q:\n%s", want, help)
		}
	}
}

func TestBadFlagsExitTwoBeforeStartingAnything(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--nvas", "5"}, "nvas: 5; want 2 or 3"},
		{[]string{"--monitors", "1"}, "monitors: 1; want 2 or 3"},
		{[]string{"--scenarios", "crash,meteor"}, `scenario "meteor": unknown`},
		{[]string{"--latency", "banana"}, "invalid value"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"--topology", "terraform"}, "want program or hand"},
		{[]string{"--topology", "hand", "--scenarios", "crash,crash-dns"}, "crash-dns deploy another way of steering"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), tc.args, &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("drill %v = exit %d, stderr %q; want exit 2 saying %q", tc.args, code, errb.String(), tc.want)
		}
		if out.Len() != 0 {
			t.Errorf("drill %v started something: %q", tc.args, out.String())
		}
	}
}
