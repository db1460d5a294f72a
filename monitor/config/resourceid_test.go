package config

import (
	"strings"
	"testing"
)

func TestParseResourceIDReadsATopLevelID(t *testing.T) {
	id := testNIC + "nva-1-internal"
	r, err := ParseResourceID(id)
	if err != nil {
		t.Fatal(err)
	}
	want := ResourceID{Subscription: testSub, ResourceGroup: "rg-hanva", Provider: "Microsoft.Network",
		Type: "networkInterfaces", Name: "nva-1-internal"}
	if r != want {
		t.Fatalf("got %+v, want %+v", r, want)
	}
	if r.String() != id {
		t.Fatalf("String() = %q, want %q", r.String(), id)
	}
	if !r.IsType(TypeNetworkInterface) || r.IsType(TypeRouteTable) {
		t.Fatalf("IsType is wrong for %s", r.FullType())
	}
}

func TestParseResourceIDIgnoresCaseOfTheFixedSegments(t *testing.T) {
	id := "/SUBSCRIPTIONS/" + testSub + "/resourcegroups/rg-hanva/PROVIDERS/microsoft.network/ROUTETABLES/rt-web"
	r, err := ParseResourceID(id)
	if err != nil {
		t.Fatal(err)
	}
	if !r.IsType(TypeRouteTable) {
		t.Fatalf("%s should be a route table", r.FullType())
	}
	// String spells the fixed segments canonically and keeps the values as written.
	if want := "/subscriptions/" + testSub + "/resourceGroups/rg-hanva/providers/microsoft.network/ROUTETABLES/rt-web"; r.String() != want {
		t.Fatalf("String() = %q, want %q", r.String(), want)
	}
	canonical, _ := ParseResourceID(testRT + "RT-WEB")
	if !r.Equal(canonical) {
		t.Fatal("IDs that differ only in case should be Equal")
	}
}

func TestParseResourceIDSaysWhichPartIsWrong(t *testing.T) {
	good := testNIC + "nic"
	tests := []struct {
		name     string
		id       string
		fragment string
	}{
		{"an empty ID", "", "it is empty"},
		{"an ID with a leading space", " " + good, "spaces at the start or end"},
		{"an ID without the leading slash", good[1:], `it must start with "/subscriptions/"`},
		{"an ID with a trailing slash", good + "/", `it ends with "/"`},
		{"an ID with an empty segment", strings.Replace(good, "/providers/", "//providers/", 1), `an empty segment ("//")`},
		{"an ID that starts with something else", "/tenants/x/y", `it must start with "/subscriptions/", not "/tenants/"`},
		{"an ID that stops after subscriptions", "/subscriptions", "the subscription ID is missing"},
		{"a subscription that is not a GUID", "/subscriptions/prod/resourceGroups/rg", `the subscription ID "prod" is not a GUID`},
		{"an ID that stops after the subscription", "/subscriptions/" + testSub, "it ends after the subscription ID"},
		{"a misspelled resourceGroups", strings.Replace(good, "resourceGroups", "resourceGroup", 1), `expected "resourceGroups" after the subscription ID, found "resourceGroup"`},
		{"a missing resource group name", "/subscriptions/" + testSub + "/resourceGroups", "the resource group name is missing"},
		{"a resource group with a bad character", strings.Replace(good, "rg-hanva", "rg:hanva", 1), `the resource group name "rg:hanva" contains ':'`},
		{"a resource group ending in a period", strings.Replace(good, "rg-hanva", "rg-hanva.", 1), "ends with a period"},
		{"a resource group over 90 characters", strings.Replace(good, "rg-hanva", strings.Repeat("r", 91), 1), "is 91 characters long; Azure allows 90"},
		{"an ID that stops after the resource group", "/subscriptions/" + testSub + "/resourceGroups/rg", "it ends after the resource group"},
		{"a misspelled providers", strings.Replace(good, "providers", "provider", 1), `expected "providers" after the resource group name, found "provider"`},
		{"a missing provider namespace", "/subscriptions/" + testSub + "/resourceGroups/rg/providers", "the provider namespace (like Microsoft.Network) is missing"},
		{"a provider namespace without a dot", strings.Replace(good, "Microsoft.Network", "Network", 1), `the provider namespace "Network" is not like Microsoft.Network`},
		{"a missing type", "/subscriptions/" + testSub + "/resourceGroups/rg/providers/Microsoft.Network", "the resource type (like networkInterfaces) is missing"},
		{"a missing name", "/subscriptions/" + testSub + "/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces", `the resource name is missing after the type "networkInterfaces"`},
		{"a child resource", good + "/ipConfigurations/ipconfig1", `it continues after the name "nic" with "/ipConfigurations/ipconfig1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseResourceID(tt.id)
			if err == nil || !strings.Contains(err.Error(), tt.fragment) {
				t.Fatalf("ParseResourceID(%q) error = %v; want it to say %q", tt.id, err, tt.fragment)
			}
			if !strings.HasPrefix(err.Error(), "parse resource ID ") {
				t.Fatalf("error %q should start with what failed", err)
			}
		})
	}
}
