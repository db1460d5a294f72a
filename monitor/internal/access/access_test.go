package access

import "testing"

func TestAllowedFollowsAzureWildcardsAndNotActions(t *testing.T) {
	cases := []struct {
		name   string
		perms  []Permission
		action string
		want   bool
	}{
		{"owner's star grants everything", []Permission{{Actions: []string{"*"}}}, "Microsoft.Network/routeTables/write", true},
		{"provider wildcard grants its actions", []Permission{{Actions: []string{"Microsoft.Network/*"}}}, "Microsoft.Network/networkInterfaces/write", true},
		{"provider wildcard does not grant another provider", []Permission{{Actions: []string{"Microsoft.Network/*"}}}, "Microsoft.Compute/virtualMachines/write", false},
		{"read-only wildcard does not grant write", []Permission{{Actions: []string{"*/read"}}}, "Microsoft.Network/routeTables/write", false},
		{"read-only wildcard grants read", []Permission{{Actions: []string{"*/read"}}}, "Microsoft.Network/routeTables/read", true},
		{"notActions take a write away", []Permission{{Actions: []string{"*"}, NotActions: []string{"Microsoft.Network/routeTables/write"}}}, "Microsoft.Network/routeTables/write", false},
		{"another entry can still grant what one entry excludes", []Permission{
			{Actions: []string{"*"}, NotActions: []string{"Microsoft.Network/*/write"}},
			{Actions: []string{"Microsoft.Network/routeTables/write"}},
		}, "Microsoft.Network/routeTables/write", true},
		{"matching ignores case", []Permission{{Actions: []string{"microsoft.network/ROUTETABLES/*"}}}, "Microsoft.Network/routeTables/write", true},
		{"exact action grants only itself", []Permission{{Actions: []string{"Microsoft.Network/routeTables/read"}}}, "Microsoft.Network/routeTables/readx", false},
		{"no permissions grant nothing", nil, "Microsoft.Network/routeTables/read", false},
		{"a middle wildcard matches across segments", []Permission{{Actions: []string{"Microsoft.Network/*/join/action"}}}, "Microsoft.Network/publicIPAddresses/join/action", true},
	}
	for _, c := range cases {
		if got := Allowed(c.perms, c.action); got != c.want {
			t.Errorf("%s: Allowed(%q) = %v, want %v", c.name, c.action, got, c.want)
		}
	}
}
