package act

import (
	"reflect"
	"strings"
	"testing"
)

func TestPlanListsTheChangesWithoutWriting(t *testing.T) {
	tests := []struct {
		name   string
		seed   seedOpts
		target string
		want   []string // "kind resource-name: description"
	}{
		{
			name: "a failover to nva-2 moves every NVA route and the public IP", target: "nva-2",
			seed: seedOpts{tables: 2, pipOn: nva1Ext.name},
			want: []string{
				`routeTable rt-0: route "default" (0.0.0.0/0) next hop 10.0.1.4 -> 10.0.1.5`,
				`routeTable rt-0: route "spokes" (10.8.0.0/16) next hop 10.0.1.4 -> 10.0.1.5`,
				`routeTable rt-1: route "default" (0.0.0.0/0) next hop 10.0.1.4 -> 10.0.1.5`,
				`routeTable rt-1: route "spokes" (10.8.0.0/16) next hop 10.0.1.4 -> 10.0.1.5`,
				`publicIp pip-1: detach public IP pip-1 from nic nva1-ext/ipconfig1`,
				`publicIp pip-1: attach public IP pip-1 to nic nva2-ext/ipconfig1`,
			},
		},
		{
			name: "staying on nva-1 changes nothing", target: "nva-1",
			seed: seedOpts{tables: 2, pipOn: nva1Ext.name},
		},
		{
			name: "a detached public IP only needs the attach", target: "nva-1",
			seed: seedOpts{tables: 1},
			want: []string{`publicIp pip-1: attach public IP pip-1 to nic nva1-ext/ipconfig1`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{seed: tt.seed})
			changes, err := e.eng.Plan(testCtx(t), tt.target)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range changes {
				got = append(got, c.Kind+" "+c.ResourceID[strings.LastIndex(c.ResourceID, "/")+1:]+": "+c.Description)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if n := writeRequests(e.srv); n != 0 {
				t.Errorf("Plan sent %d writes", n)
			}
		})
	}
}

func TestPlanReportsAPublicIPItMustNotTouch(t *testing.T) {
	e := newEnv(t, envOpts{seed: seedOpts{tables: 1, pipOn: jump.name}})
	changes, err := e.eng.Plan(testCtx(t), "nva-2")
	if err == nil || !strings.Contains(err.Error(), "not a NIC of any NVA") {
		t.Fatalf("Plan error %v, want the foreign NIC named", err)
	}
	if len(changes) != 2 {
		t.Errorf("changes %v, want the two route changes still listed", changes)
	}
}
