package components_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hanva/hanva/components"
	"github.com/hanva/hanva/components/pulumitest"
)

// The monitor owns exactly these properties of a route table (the contract).
var wantRouteTableIgnore = []string{"routes[*].nextHopIpAddress", `tags["hanva-epoch"]`}

// seedRouteTables: the web subnet's default route and a DMZ route through the
// internal NICs, a table whose routes go to the external NICs.
func seedRouteTables() *components.RouteTablesArgs {
	return &components.RouteTablesArgs{
		ResourceGroupName: rg(),
		Tables: []components.RouteTableSpec{
			{Name: "web-udr", Via: components.RoleInternal, Routes: []components.RouteSpec{
				{Name: "default", AddressPrefix: "0.0.0.0/0"},
				{Name: "to-mgmt", AddressPrefix: "10.0.0.128/25"},
			}},
			{Name: "gw-udr", Via: components.RoleExternal, Routes: []components.RouteSpec{
				{Name: "to-web", AddressPrefix: "10.0.1.0/24"},
			}},
		},
		NextHop: map[string]string{components.RoleInternal: "10.0.0.100", components.RoleExternal: "10.0.0.68"},
	}
}

func routesOf(t *testing.T, r pulumitest.Resource) []resource.PropertyMap {
	t.Helper()
	v := pulumitest.Get(r.Inputs, "routes")
	if v == nil || !v.IsArray() {
		t.Fatalf("route table %q has no inline routes", r.Name)
	}
	var out []resource.PropertyMap
	for _, e := range v.ArrayValue() {
		out = append(out, e.ObjectValue())
	}
	return out
}

func TestRouteTablesPointEveryRouteOfATableAtItsOneRole(t *testing.T) {
	var out outputs
	var rts *components.RouteTables
	m, err := runMocked(t, func(ctx *pulumi.Context) error {
		var err error
		rts, err = components.NewRouteTables(ctx, "rt", seedRouteTables())
		if err != nil {
			return err
		}
		out.capture("ids", rts.IDs)
		return nil
	})
	if err != nil {
		t.Fatalf("NewRouteTables: %v", err)
	}
	m.One(t, components.RouteTablesType)
	tables := m.OfType("azure-native:network:RouteTable")
	if len(tables) != 2 {
		t.Fatalf("%d route tables, want 2", len(tables))
	}
	if n := len(m.OfType("azure-native:network:Route")); n != 0 {
		t.Errorf("%d standalone Route resources; routes must be inline in their table", n)
	}
	want := map[string]struct {
		hop      string
		prefixes []string
	}{
		"web-udr": {"10.0.0.100", []string{"0.0.0.0/0", "10.0.0.128/25"}},
		"gw-udr":  {"10.0.0.68", []string{"10.0.1.0/24"}},
	}
	ids := out.get(t, "ids").(map[string]string)
	for _, rt := range tables {
		azName := pulumitest.String(rt.Inputs, "routeTableName")
		w, ok := want[azName]
		if !ok {
			t.Errorf("unexpected route table %q", azName)
			continue
		}
		if rt.Name != "rt-"+azName {
			t.Errorf("route table %q has logical name %q, want %q", azName, rt.Name, "rt-"+azName)
		}
		hops := map[string]bool{}
		var prefixes []string
		for _, r := range routesOf(t, rt) {
			if got := pulumitest.String(r, "nextHopType"); got != "VirtualAppliance" {
				t.Errorf("%s route %q next hop type = %q, want VirtualAppliance", azName, pulumitest.String(r, "name"), got)
			}
			hops[pulumitest.String(r, "nextHopIpAddress")] = true
			prefixes = append(prefixes, pulumitest.String(r, "addressPrefix"))
		}
		if len(hops) != 1 || !hops[w.hop] {
			t.Errorf("%s next hops = %v, want exactly {%s}", azName, hops, w.hop)
		}
		if !slices.Equal(prefixes, w.prefixes) {
			t.Errorf("%s prefixes = %v, want %v (in spec order)", azName, prefixes, w.prefixes)
		}
		if v := pulumitest.Get(rt.Inputs, "disableBgpRoutePropagation"); v == nil || !v.IsBool() || v.BoolValue() {
			t.Errorf("%s disableBgpRoutePropagation = %v, want false", azName, v)
		}
		if got := pulumitest.String(rt.Inputs, "tags", "managed-by"); got != "hanva" {
			t.Errorf("%s tag managed-by = %q, want hanva", azName, got)
		}
		if !slices.Equal(rt.IgnoreChanges, wantRouteTableIgnore) {
			t.Errorf("%s ignoreChanges = %q, want exactly %q", azName, rt.IgnoreChanges, wantRouteTableIgnore)
		}
		if ids[azName] != rt.ID || !strings.HasSuffix(rt.ID, "/routeTables/"+azName) {
			t.Errorf("IDs[%q] = %q, registered ID %q", azName, ids[azName], rt.ID)
		}
	}
	if len(ids) != 2 {
		t.Errorf("IDs = %v, want 2 entries", ids)
	}
	if rts.Via["web-udr"] != components.RoleInternal || rts.Via["gw-udr"] != components.RoleExternal || len(rts.Via) != 2 {
		t.Errorf("Via = %v", rts.Via)
	}
	if len(rts.Tables) != 2 || rts.Tables["web-udr"] == nil || rts.Tables["gw-udr"] == nil {
		t.Errorf("Tables = %v", rts.Tables)
	}
	assertParented(t, m, components.RouteTablesType, "rt")
}

// The ignoreChanges paths are the ones Pulumi's engine applies to the
// registered inputs (it resets each path from the old state with
// resource.PropertyPath.Reset): after a failover and a refresh, the program's
// next hops and a missing epoch tag give way to the live values, while a
// change the user makes to a route's prefix still goes through.
func TestRouteTableIgnoreChangesKeepAFailoverAndNothingElse(t *testing.T) {
	m, err := runMocked(t, func(ctx *pulumi.Context) error {
		_, err := components.NewRouteTables(ctx, "rt", seedRouteTables())
		return err
	})
	if err != nil {
		t.Fatalf("NewRouteTables: %v", err)
	}
	var web pulumitest.Resource
	for _, rt := range m.OfType("azure-native:network:RouteTable") {
		if pulumitest.String(rt.Inputs, "routeTableName") == "web-udr" {
			web = rt
		}
	}
	program := web.Inputs.Copy()

	// The refreshed state after the monitor failed over to the second NVA
	// (10.0.0.101) under epoch 7, and the user edited one prefix since.
	old := program.Copy()
	var oldRoutes []resource.PropertyValue
	for _, r := range program["routes"].ArrayValue() {
		o := r.ObjectValue().Copy()
		o["nextHopIpAddress"] = resource.NewStringProperty("10.0.0.101")
		oldRoutes = append(oldRoutes, resource.NewObjectProperty(o))
	}
	old["routes"] = resource.NewArrayProperty(oldRoutes)
	old["tags"] = resource.NewObjectProperty(resource.PropertyMap{
		"managed-by":  resource.NewStringProperty("hanva"),
		"hanva-epoch": resource.NewStringProperty("7"),
	})
	program["routes"].ArrayValue()[1].ObjectValue()["addressPrefix"] = resource.NewStringProperty("10.0.2.0/24")

	for _, p := range web.IgnoreChanges {
		path, err := resource.ParsePropertyPathStrict(p)
		if err != nil {
			t.Fatalf("ignoreChanges %q does not parse as a Pulumi property path: %v", p, err)
		}
		if !path.Reset(old, program) {
			t.Errorf("ignoreChanges %q does not match the inputs (Reset found a missing element)", p)
		}
	}
	for i, r := range program["routes"].ArrayValue() {
		if got := pulumitest.String(r.ObjectValue(), "nextHopIpAddress"); got != "10.0.0.101" {
			t.Errorf("route %d next hop sent = %q, want the live 10.0.0.101 (pulumi up would undo the failover)", i, got)
		}
	}
	if got := pulumitest.String(program, "routes", 1, "addressPrefix"); got != "10.0.2.0/24" {
		t.Errorf("the user's new prefix became %q: ignoreChanges is broader than the next hops", got)
	}
	if got := pulumitest.String(program, "tags", "hanva-epoch"); got != "7" {
		t.Errorf("epoch tag sent = %q, want the live 7", got)
	}
	if got := pulumitest.String(program, "tags", "managed-by"); got != "hanva" {
		t.Errorf("managed-by tag = %q", got)
	}
}

func TestRouteTablesRefusals(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(a *components.RouteTablesArgs)
		errHas []string
	}{
		{
			name:   "a table whose role has no next hop names the table and the role",
			edit:   func(a *components.RouteTablesArgs) { a.Tables[1].Via = "dmz" },
			errHas: []string{`Tables["gw-udr"].Via`, `role "dmz"`, "external, internal"},
		},
		{
			name:   "a table without a role",
			edit:   func(a *components.RouteTablesArgs) { a.Tables[0].Via = "" },
			errHas: []string{`Tables["web-udr"].Via`, "required"},
		},
		{
			name:   "no tables",
			edit:   func(a *components.RouteTablesArgs) { a.Tables = nil },
			errHas: []string{"RouteTablesArgs.Tables", "at least one"},
		},
		{
			name:   "a table without routes",
			edit:   func(a *components.RouteTablesArgs) { a.Tables[1].Routes = nil },
			errHas: []string{`Tables["gw-udr"].Routes`},
		},
		{
			name:   "two tables with one name",
			edit:   func(a *components.RouteTablesArgs) { a.Tables[1].Name = "WEB-udr" },
			errHas: []string{`Tables["WEB-udr"].Name`, "twice"},
		},
		{
			name:   "a table name Azure refuses",
			edit:   func(a *components.RouteTablesArgs) { a.Tables[0].Name = "web udr" },
			errHas: []string{"Tables[0].Name", `"web udr"`},
		},
		{
			name:   "two routes with one name",
			edit:   func(a *components.RouteTablesArgs) { a.Tables[0].Routes[1].Name = "default" },
			errHas: []string{`Tables["web-udr"].Routes[1].Name`, "twice"},
		},
		{
			name:   "a route prefix that does not parse",
			edit:   func(a *components.RouteTablesArgs) { a.Tables[0].Routes[0].AddressPrefix = "default" },
			errHas: []string{`Tables["web-udr"].Routes[0].AddressPrefix`, "parse prefix"},
		},
		{
			name:   "two routes with one prefix",
			edit:   func(a *components.RouteTablesArgs) { a.Tables[0].Routes[1].AddressPrefix = "0.0.0.0/0" },
			errHas: []string{`Routes[1].AddressPrefix`, `route "default"`},
		},
		{
			name:   "a next hop that is not an IPv4 address",
			edit:   func(a *components.RouteTablesArgs) { a.NextHop[components.RoleInternal] = "nva-1" },
			errHas: []string{`RouteTablesArgs.NextHop["internal"]`, `"nva-1"`},
		},
		{
			name:   "no resource group",
			edit:   func(a *components.RouteTablesArgs) { a.ResourceGroupName = nil },
			errHas: []string{"RouteTablesArgs.ResourceGroupName"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := runMocked(t, func(ctx *pulumi.Context) error {
				args := seedRouteTables()
				tt.edit(args)
				_, err := components.NewRouteTables(ctx, "rt", args)
				return err
			})
			if err == nil {
				t.Fatal("NewRouteTables succeeded, want an error")
			}
			for _, s := range tt.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %s", err, s)
				}
			}
			assertNothingRegistered(t, m)
		})
	}
}
