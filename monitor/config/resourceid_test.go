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

func TestParseChildResourceIDReadsABackendPoolAndRecordSets(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want ResourceID
		typ  string
	}{
		{"a backend pool", testNet + "loadBalancers/lb-nva/backendAddressPools/nvas", ResourceID{Subscription: testSub,
			ResourceGroup: "rg-hanva", Provider: "Microsoft.Network", ParentType: "loadBalancers", ParentName: "lb-nva",
			Type: "backendAddressPools", Name: "nvas"}, TypeBackendAddressPool},
		{"an A record set", testNet + "privateDnsZones/corp.example/A/proxy", ResourceID{Subscription: testSub,
			ResourceGroup: "rg-hanva", Provider: "Microsoft.Network", ParentType: "privateDnsZones", ParentName: "corp.example",
			Type: "A", Name: "proxy"}, TypePrivateDNSARecord},
		{"an AAAA record set at the zone apex", testNet + "privateDnsZones/corp.example/AAAA/@", ResourceID{Subscription: testSub,
			ResourceGroup: "rg-hanva", Provider: "Microsoft.Network", ParentType: "privateDnsZones", ParentName: "corp.example",
			Type: "AAAA", Name: "@"}, TypePrivateDNSAAAARecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseChildResourceID(tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if r != tt.want {
				t.Fatalf("got %+v, want %+v", r, tt.want)
			}
			if r.String() != tt.id {
				t.Fatalf("String() = %q, want %q", r.String(), tt.id)
			}
			if !r.IsChild() || !r.IsType(tt.typ) || r.FullType() != tt.typ {
				t.Fatalf("FullType() = %q, IsChild %v; want child of type %s", r.FullType(), r.IsChild(), tt.typ)
			}
			parent := r.Parent()
			if parent.IsChild() || parent.Name != tt.want.ParentName || parent.String()+"/"+r.Type+"/"+r.Name != tt.id {
				t.Fatalf("Parent() = %+v, want the top-level resource of %s", parent, tt.id)
			}
			if _, err := ParseResourceID(parent.String()); err != nil {
				t.Fatalf("the parent's ID should parse as a top-level ID: %v", err)
			}
		})
	}
}

func TestParseChildResourceIDComparesIgnoringCase(t *testing.T) {
	a, err := ParseChildResourceID(testNet + "loadBalancers/lb-nva/backendAddressPools/nvas")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseChildResourceID("/SUBSCRIPTIONS/" + testSub + "/resourcegroups/RG-HANVA/providers/microsoft.network/LOADBALANCERS/LB-NVA/backendaddresspools/NVAS")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Equal(b) || !b.IsType(TypeBackendAddressPool) {
		t.Fatalf("%s and %s should be Equal and backend pools", a, b)
	}
	// Another pool of the same load balancer, or the load balancer itself, is not the same resource.
	c, _ := ParseChildResourceID(testNet + "loadBalancers/lb-nva/backendAddressPools/other")
	lb, _ := ParseResourceID(testNet + "loadBalancers/lb-nva")
	if a.Equal(c) || a.Equal(lb) || !a.Parent().Equal(lb) {
		t.Fatal("a pool is Equal only to itself, and its Parent is its load balancer")
	}
	// A record set of another type under the same zone and name is another resource.
	rA, _ := ParseChildResourceID(testNet + "privateDnsZones/corp.example/A/proxy")
	rAAAA, _ := ParseChildResourceID(testNet + "privateDnsZones/corp.example/AAAA/proxy")
	if rA.Equal(rAAAA) || rA.IsType(TypePrivateDNSAAAARecord) {
		t.Fatal("the A and AAAA record sets of one name are different resources")
	}
}

func TestParseChildResourceIDSaysWhichPartIsWrong(t *testing.T) {
	pool := testNet + "loadBalancers/lb-nva/backendAddressPools/nvas"
	tests := []struct {
		name     string
		id       string
		fragment string
	}{
		{"a top-level ID", testNet + "loadBalancers/lb-nva", `it ends after the name "lb-nva" of the Microsoft.Network/loadBalancers; a child resource ID continues with /{type}/{name}`},
		{"a missing child name", testNet + "loadBalancers/lb-nva/backendAddressPools", `the child resource name is missing after the type "backendAddressPools"`},
		{"a grandchild", pool + "/loadBalancerBackendAddresses/a", `it continues after the child resource name "nvas" with "/loadBalancerBackendAddresses/a"`},
		{"a trailing slash", pool + "/", `it ends with "/"`},
		{"a subscription that is not a GUID", strings.Replace(pool, testSub, "prod", 1), `the subscription ID "prod" is not a GUID`},
		{"a misspelled providers", strings.Replace(pool, "providers", "provider", 1), `expected "providers" after the resource group name, found "provider"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseChildResourceID(tt.id)
			if err == nil || !strings.Contains(err.Error(), tt.fragment) {
				t.Fatalf("ParseChildResourceID(%q) error = %v; want it to say %q", tt.id, err, tt.fragment)
			}
			if !strings.HasPrefix(err.Error(), "parse resource ID ") {
				t.Fatalf("error %q should start with what failed", err)
			}
		})
	}
}

func TestParseResourceIDStillRefusesChildIDs(t *testing.T) {
	for _, id := range []string{testNet + "loadBalancers/lb-nva/backendAddressPools/nvas", testNet + "privateDnsZones/corp.example/A/proxy"} {
		if r, err := ParseResourceID(id); err == nil || !strings.Contains(err.Error(), "only top-level resource IDs are accepted") {
			t.Errorf("ParseResourceID(%q) = %+v, %v; want it refused as a child resource", id, r, err)
		}
	}
}
