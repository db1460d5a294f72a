package act

import (
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
)

func TestNewChecksTheTopology(t *testing.T) {
	nic := func(n string) string { return nicID(n) }
	two := func() []NVA {
		return []NVA{
			{Name: "a", NICs: map[string]string{"internal": nic("a-int"), "external": nic("a-ext")}},
			{Name: "b", NICs: map[string]string{"internal": nic("b-int"), "external": nic("b-ext")}},
		}
	}
	tests := []struct {
		name    string
		topo    Topology
		wantErr string
	}{
		{name: "a valid topology is accepted", topo: Topology{NVAs: two(),
			RouteTables: []Managed{{ID: rtID(0), Via: "internal"}}, PublicIPs: []Managed{{ID: pipID, Via: "external"}}}},
		{name: "no NVA is refused", topo: Topology{}, wantErr: "no NVA"},
		{name: "a duplicate NVA name is refused", topo: Topology{NVAs: []NVA{{Name: "a"}, {Name: "a"}}}, wantErr: "used twice"},
		{name: "a NIC shared by two NVAs is refused", topo: Topology{NVAs: []NVA{
			{Name: "a", NICs: map[string]string{"internal": nic("x")}}, {Name: "b", NICs: map[string]string{"internal": nic("X")}}}},
			wantErr: "belongs to nva"},
		{name: "a NIC ID of the wrong type is refused", topo: Topology{NVAs: []NVA{{Name: "a", NICs: map[string]string{"internal": rtID(0)}}}},
			wantErr: "want Microsoft.Network/networkInterfaces"},
		{name: "a route table via a role an NVA lacks is refused", topo: Topology{NVAs: []NVA{
			{Name: "a", NICs: map[string]string{"internal": nic("a-int")}}, {Name: "b", NICs: map[string]string{"external": nic("b-ext")}}},
			RouteTables: []Managed{{ID: rtID(0), Via: "internal"}}}, wantErr: `nva "b" has no nic of that role`},
		{name: "a route table listed twice is refused", topo: Topology{NVAs: two(),
			RouteTables: []Managed{{ID: rtID(0), Via: "internal"}, {ID: strings.ToUpper(rtID(0)), Via: "internal"}}}, wantErr: "listed twice"},
		{name: "a route table without a role is refused", topo: Topology{NVAs: two(), RouteTables: []Managed{{ID: rtID(0)}}}, wantErr: "no via role"},
		{name: "three public IPs on one role are refused (an IPv4 and an IPv6 one at most)", topo: Topology{NVAs: two(), PublicIPs: []Managed{
			{ID: pipID, Via: "external"}, {ID: pipID + "b", Via: "external"}, {ID: pipID + "c", Via: "external"}}}, wantErr: "at most two per NIC role"},
		{name: "a public IP ID that is a NIC is refused", topo: Topology{NVAs: two(), PublicIPs: []Managed{{ID: nic("a-ext"), Via: "external"}}},
			wantErr: "want Microsoft.Network/publicIPAddresses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.topo, &fake.TokenCredential{}, nil, Options{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
