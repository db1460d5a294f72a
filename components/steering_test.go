package components

import (
	"encoding/base64"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hanva/hanva/components/pulumitest"
	"github.com/hanva/hanva/monitor/config"
)

// steeredRun is one HaNva run under mocks with a steering option.
type steeredRun struct {
	m   *pulumitest.Mocks
	cfg *config.Config // monitor 1's config, parsed by the monitor's loader
}

func runSteered(t *testing.T, steering []string, edit ...func(*HaNvaArgs)) steeredRun {
	t.Helper()
	a := sampleHaNvaArgs(t)
	a.Steering = steering
	for _, e := range edit {
		e(a)
	}
	m, err := runHaNva(t, a)
	if err != nil {
		t.Fatalf("steering %q: %v", steering, err)
	}
	cfg, err := config.Parse([]byte(extractConfig(t, installScriptOf(t, installsOf(t, m)[0]))))
	if err != nil {
		t.Fatalf("steering %q: the monitor refuses the generated config: %v", steering, err)
	}
	return steeredRun{m: m, cfg: cfg}
}

func (r steeredRun) nic(t *testing.T, nva, role string) pulumitest.Resource {
	t.Helper()
	return r.m.Named(t, nva+"-"+role+"-nic")
}

// roleActionsAndScopes returns the monitors' custom role's actions and
// the scopes its assignments cover (one set per monitor; all equal).
func (r steeredRun) roleActionsAndScopes(t *testing.T) (actions []string, scopes []string) {
	t.Helper()
	role := r.m.Named(t, "ha-monitor-role")
	actions = strings2(pulumitest.Get(role.Inputs, "permissions", 0, "actions"))
	wantRoleID := "/subscriptions/" + pulumitest.Subscription + "/providers/Microsoft.Authorization/roleDefinitions/" + str(role.Inputs, "roleDefinitionId")
	byPrincipal := map[string][]string{}
	for _, ra := range r.m.OfType("azure-native:authorization:RoleAssignment") {
		if str(ra.Inputs, "roleDefinitionId") == wantRoleID {
			p := str(ra.Inputs, "principalId")
			byPrincipal[p] = append(byPrincipal[p], str(ra.Inputs, "scope"))
		}
	}
	if len(byPrincipal) != 2 {
		t.Fatalf("custom role assigned to %d identities, want the 2 monitors", len(byPrincipal))
	}
	for p, s := range byPrincipal {
		if scopes == nil {
			scopes = sorted(s)
		} else if !slices.Equal(sorted(s), scopes) {
			t.Errorf("%s has the role on %q, another monitor on %q", p, sorted(s), scopes)
		}
	}
	if got := sorted(strings2(pulumitest.Get(role.Inputs, "assignableScopes"))); !slices.Equal(got, scopes) {
		t.Errorf("assignable scopes %q, want exactly the assignments' scopes %q", got, scopes)
	}
	return actions, scopes
}

func TestHaNvaDefaultSteeringIsRoutesAndThePublicIP(t *testing.T) {
	implicit := runSteered(t, nil)
	explicit := runSteered(t, []string{SteerRoutes, SteerPublicIP})
	if !maps.Equal(implicit.m.Types(), explicit.m.Types()) {
		t.Errorf("resources by type: default %v, explicit routes+publicIp %v", implicit.m.Types(), explicit.m.Types())
	}
	for _, typ := range []string{"azure-native:network:LoadBalancer", "azure-native:network:PrivateZone", "azure-native:network:PrivateRecordSet"} {
		if n := implicit.m.Types()[typ]; n != 0 {
			t.Errorf("default steering registers %d %s", n, typ)
		}
	}
	c := implicit.cfg
	if len(c.RouteTables) != 1 || len(c.PublicIPs) != 1 || len(c.FloatingIPs)+len(c.BackendPools)+len(c.DNSRecords) != 0 {
		t.Errorf("default config manages %d route tables, %d public IPs, %d floating IPs, %d pools, %d DNS records; want 1, 1, 0, 0, 0",
			len(c.RouteTables), len(c.PublicIPs), len(c.FloatingIPs), len(c.BackendPools), len(c.DNSRecords))
	}
	if got := implicit.nic(t, "ha-nvas-1", RoleInternal).IgnoreChanges; !slices.Equal(got, nicIgnoreChanges()) {
		t.Errorf("internal NIC ignoreChanges %q, want %q", got, nicIgnoreChanges())
	}
}

func TestHaNvaRefusesNonsenseSteeringBeforeRegisteringAnything(t *testing.T) {
	cases := []struct {
		name     string
		steering []string
		edit     func(*HaNvaArgs)
		want     string
	}{
		{"an unknown way", []string{"bgp"}, nil, `HaNvaArgs.Steering[0]: "bgp" is not a way of steering`},
		{"a way listed twice", []string{SteerRoutes, SteerDNS, SteerRoutes}, nil, `HaNvaArgs.Steering[2]: "routes" is already Steering[0]`},
		{"routes and a floating IP both steer the tables", []string{SteerRoutes, SteerFloatingIP}, nil,
			`HaNvaArgs.Steering: "routes" and "floatingIp" each decide what the route tables point at`},
		{"a floating IP and a load balancer both steer the tables", []string{SteerFloatingIP, SteerLoadBalancer}, nil,
			`HaNvaArgs.Steering: "floatingIp" and "loadBalancer" each decide`},
		{"DNS alone leaves the route tables on the failed NVA", []string{SteerDNS}, nil, "HaNvaArgs.Steering: nothing steers the route tables"},
		{"the public IP alone leaves the route tables on the failed NVA", []string{SteerPublicIP}, nil, "HaNvaArgs.Steering: nothing steers the route tables"},
		{"a DNS zone without DNS steering", nil, func(a *HaNvaArgs) { a.DNSZoneName = "corp.internal" }, `HaNvaArgs.DNSZoneName: only used with steering "dns"`},
		{"a DNS zone of one label", []string{SteerRoutes, SteerDNS}, func(a *HaNvaArgs) { a.DNSZoneName = "internal" }, `HaNvaArgs.DNSZoneName: "internal" is not a Private DNS zone name`},
		{"a DNS record name with a space", []string{SteerRoutes, SteerDNS}, func(a *HaNvaArgs) { a.DNSRecordName = "my nva" }, `HaNvaArgs.DNSRecordName: "my nva"`},
		{"a negative TTL", []string{SteerRoutes, SteerDNS}, func(a *HaNvaArgs) { a.DNSTTL = -1 }, "HaNvaArgs.DNSTTL: -1 seconds"},
		{"a table via external cannot point at the floating IP", []string{SteerFloatingIP}, func(a *HaNvaArgs) {
			a.RouteTables = []RouteTableSpec{{Name: "ext-udr", Via: RoleExternal, Routes: []RouteSpec{{Name: "default", AddressPrefix: "0.0.0.0/0"}}}}
			a.RouteTableSubnets = map[string]string{"web": "ext-udr"}
		}, `HaNvaArgs.RouteTables[0].Via: "external"`},
		{"so many NVAs they reach the floating IP", []string{SteerFloatingIP}, func(a *HaNvaArgs) { a.NvaCount = 13 },
			"HaNvaArgs.NvaCount: 13 NVAs take hosts 4-16 of 10.0.0.96/27, which reaches the floating IP 10.0.0.112 (host 16)"},
		{"so many monitors they reach the load balancer's frontend", []string{SteerLoadBalancer}, func(a *HaNvaArgs) { a.MonitorCount = 14 },
			"HaNvaArgs.MonitorCount: 14 monitors take hosts 17-30 of 10.0.0.96/27, which reaches the load balancer frontend 10.0.0.113 (host 17)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := sampleHaNvaArgs(t)
			a.Steering = c.steering
			if c.edit != nil {
				c.edit(a)
			}
			m, err := runHaNva(t, a)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
			for _, r := range m.All() {
				if r.Custom {
					t.Errorf("registered %s %s before refusing", r.Type, r.Name)
				}
			}
		})
	}
}

func TestHaNvaFloatingIPSteering(t *testing.T) {
	r := runSteered(t, []string{SteerFloatingIP, SteerPublicIP})
	const fip = "10.0.0.112"
	internalSubnet := str(r.nic(t, "ha-nvas-1", RoleInternal).Inputs, "ipConfigurations", 0, "subnet", "id")

	rt := r.m.One(t, "azure-native:network:RouteTable")
	if hop := str(rt.Inputs, "routes", 0, "nextHopIpAddress"); hop != fip {
		t.Errorf("the route table's next hop is %q, want the floating IP %s", hop, fip)
	}
	if len(rt.IgnoreChanges) != 0 {
		t.Errorf("route table ignoreChanges %q, want none: the monitor never writes it", rt.IgnoreChanges)
	}

	first := r.nic(t, "ha-nvas-1", RoleInternal)
	if got := str(first.Inputs, "ipConfigurations", 1, "privateIPAddress"); got != fip {
		t.Fatalf("the first NVA's internal NIC's second ipconfig holds %q, want the floating IP %s", got, fip)
	}
	for key, want := range map[string]string{"name": "hanva-floating-10-0-0-112", "privateIPAllocationMethod": "Static", "privateIPAddressVersion": "IPv4"} {
		if got := str(first.Inputs, "ipConfigurations", 1, key); got != want {
			t.Errorf("floating ipconfig %s = %q, want %q", key, got, want)
		}
	}
	if got := str(first.Inputs, "ipConfigurations", 1, "subnet", "id"); got != internalSubnet {
		t.Errorf("floating ipconfig in subnet %q, want the internal NIC's %q", got, internalSubnet)
	}
	if v := pulumitest.Get(first.Inputs, "ipConfigurations", 1, "primary"); v == nil || !v.IsBool() || v.BoolValue() {
		t.Errorf("floating ipconfig primary = %v, want false", v)
	}
	if pulumitest.Get(r.nic(t, "ha-nvas-2", RoleInternal).Inputs, "ipConfigurations", 1) != nil {
		t.Error("the second NVA's internal NIC also has a second ipconfig; the floating IP starts on the first NVA only")
	}
	for _, nva := range []string{"ha-nvas-1", "ha-nvas-2"} {
		if got, want := r.nic(t, nva, RoleInternal).IgnoreChanges, []string{"ipConfigurations", `tags["hanva-epoch"]`}; !slices.Equal(got, want) {
			t.Errorf("%s internal NIC ignoreChanges %q, want exactly %q", nva, got, want)
		}
		if got := r.nic(t, nva, RoleExternal).IgnoreChanges; !slices.Equal(got, pipNICIgnoreChanges()) {
			t.Errorf("%s external NIC ignoreChanges %q, want %q", nva, got, pipNICIgnoreChanges())
		}
		doc := sampleCloudInitOf(t, r.m.Named(t, nva+"-vm"))
		if !strings.Contains(doc, "ip addr replace "+fip+"/32 dev") {
			t.Errorf("%s's sample cloud-init does not add the floating IP to its internal interface", nva)
		}
	}

	c := r.cfg
	if want := []config.FloatingIP{{IP: fip, Via: RoleInternal, Name: "hanva-floating-10-0-0-112"}}; !slices.Equal(c.FloatingIPs, want) {
		t.Errorf("config floatingIps %+v, want %+v", c.FloatingIPs, want)
	}
	if len(c.RouteTables) != 0 {
		t.Errorf("config routeTables %+v, want none: the tables point at the floating IP and never change", c.RouteTables)
	}
	if len(c.PublicIPs) != 1 {
		t.Errorf("config publicIps %+v, want the public IP", c.PublicIPs)
	}

	actions, scopes := r.roleActionsAndScopes(t)
	if !slices.Equal(actions, wantActions) {
		t.Errorf("role actions %q, want %q (NIC read/write and subnet join are already there)", actions, wantActions)
	}
	for _, nva := range []string{"ha-nvas-1", "ha-nvas-2"} {
		if !slices.Contains(scopes, r.nic(t, nva, RoleInternal).ID) {
			t.Errorf("no role assignment on %s's internal NIC", nva)
		}
	}
	if !slices.Contains(scopes, internalSubnet) {
		t.Errorf("no role assignment on the floating IP's subnet %s", internalSubnet)
	}
	if slices.Contains(scopes, rt.ID) {
		t.Errorf("the role is assigned on the route table %s, which the monitor never writes in this mode", rt.ID)
	}
}

// TestHaNvaSteeringAddressesNeverCollideAndNeverMove: the floating IP and
// the load balancer's frontend sit in the middle of dmz-internal, apart
// from every NIC's address, and stay there as the counts grow.
func TestHaNvaSteeringAddressesNeverCollideAndNeverMove(t *testing.T) {
	for _, mode := range []string{SteerFloatingIP, SteerLoadBalancer} {
		for _, size := range []struct{ nvas, monitors int }{{2, 2}, {5, 3}, {10, 7}, {12, 2}} {
			r := runSteered(t, []string{mode}, func(a *HaNvaArgs) { a.NvaCount, a.MonitorCount = size.nvas, size.monitors })
			want := map[string]string{SteerFloatingIP: "10.0.0.112", SteerLoadBalancer: "10.0.0.113"}[mode]
			rt := r.m.One(t, "azure-native:network:RouteTable")
			if hop := str(rt.Inputs, "routes", 0, "nextHopIpAddress"); hop != want {
				t.Errorf("%s with %d NVAs, %d monitors: next hop %q, want %s", mode, size.nvas, size.monitors, hop, want)
			}
			held := map[string]string{}
			if mode == SteerLoadBalancer {
				held[str(r.m.One(t, "azure-native:network:LoadBalancer").Inputs, "frontendIPConfigurations", 0, "privateIPAddress")] = "frontend"
			}
			for subnet, byNIC := range nicAddresses(t, r.m) {
				if !strings.HasSuffix(subnet, "/dmz-internal") {
					continue
				}
				for nic, ip := range byNIC {
					if other, dup := held[ip]; dup {
						t.Errorf("%s with %d NVAs, %d monitors: %s and %s both hold %s", mode, size.nvas, size.monitors, nic, other, ip)
					}
					held[ip] = nic
				}
			}
			if _, ok := held[want]; !ok {
				t.Errorf("%s with %d NVAs, %d monitors: nothing holds %s", mode, size.nvas, size.monitors, want)
			}
			for ip := range held {
				if err := CheckStaticIP(DefaultDmzInternalPrefix, ip); err != nil {
					t.Errorf("%s with %d NVAs, %d monitors: %v", mode, size.nvas, size.monitors, err)
				}
			}
		}
	}
}

func TestHaNvaLoadBalancerSteering(t *testing.T) {
	r := runSteered(t, []string{SteerLoadBalancer})
	const front = "10.0.0.113"
	lb := r.m.One(t, "azure-native:network:LoadBalancer")
	vnet := r.m.One(t, "azure-native:network:VirtualNetwork")
	internalSubnet := str(r.nic(t, "ha-nvas-1", RoleInternal).Inputs, "ipConfigurations", 0, "subnet", "id")

	checks := []struct {
		path []any
		want string
	}{
		{[]any{"sku", "name"}, "Standard"},
		{[]any{"frontendIPConfigurations", 0, "privateIPAddress"}, front},
		{[]any{"frontendIPConfigurations", 0, "privateIPAllocationMethod"}, "Static"},
		{[]any{"frontendIPConfigurations", 0, "subnet", "id"}, internalSubnet},
		{[]any{"loadBalancingRules", 0, "protocol"}, "All"},
		{[]any{"loadBalancingRules", 0, "frontendIPConfiguration", "id"}, lb.ID + "/frontendIPConfigurations/" + nvaLBFrontend},
		{[]any{"loadBalancingRules", 0, "backendAddressPool", "id"}, lb.ID + "/backendAddressPools/" + nvaLBPool},
		{[]any{"loadBalancingRules", 0, "probe", "id"}, lb.ID + "/probes/" + nvaLBProbe},
		{[]any{"probes", 0, "protocol"}, "Http"},
		{[]any{"probes", 0, "requestPath"}, "/"},
		{[]any{"backendAddressPools", 0, "name"}, nvaLBPool},
		{[]any{"backendAddressPools", 0, "loadBalancerBackendAddresses", 0, "ipAddress"}, "10.0.0.100"},
		{[]any{"backendAddressPools", 0, "loadBalancerBackendAddresses", 0, "virtualNetwork", "id"}, vnet.ID},
	}
	for _, c := range checks {
		if got := str(lb.Inputs, c.path...); got != c.want {
			t.Errorf("load balancer %v = %q, want %q", c.path, got, c.want)
		}
	}
	for _, port := range []string{"frontendPort", "backendPort"} {
		if v := pulumitest.Get(lb.Inputs, "loadBalancingRules", 0, port); v == nil || !v.IsNumber() || v.NumberValue() != 0 {
			t.Errorf("HA-ports rule %s = %v, want 0", port, v)
		}
	}
	if v := pulumitest.Get(lb.Inputs, "probes", 0, "port"); v == nil || v.NumberValue() != 8080 {
		t.Errorf("probe port = %v, want the NVAs' probe port 8080", v)
	}
	if n := len(pulumitest.Get(lb.Inputs, "backendAddressPools", 0, "loadBalancerBackendAddresses").ArrayValue()); n != 1 {
		t.Errorf("the pool starts with %d members, want the first NVA alone", n)
	}
	if want := []string{"backendAddressPools[0].loadBalancerBackendAddresses", `tags["hanva-epoch"]`}; !slices.Equal(lb.IgnoreChanges, want) {
		t.Errorf("load balancer ignoreChanges %q, want exactly %q", lb.IgnoreChanges, want)
	}
	rt := r.m.One(t, "azure-native:network:RouteTable")
	if hop := str(rt.Inputs, "routes", 0, "nextHopIpAddress"); hop != front {
		t.Errorf("the route table's next hop is %q, want the frontend %s", hop, front)
	}
	if len(rt.IgnoreChanges) != 0 {
		t.Errorf("route table ignoreChanges %q, want none", rt.IgnoreChanges)
	}
	if got := r.nic(t, "ha-nvas-1", RoleInternal).IgnoreChanges; !slices.Equal(got, nicIgnoreChanges()) {
		t.Errorf("internal NIC ignoreChanges %q, want %q: the monitor does not write the NICs for a pool", got, nicIgnoreChanges())
	}

	c := r.cfg
	if want := []config.BackendPool{{ID: lb.ID + "/backendAddressPools/" + nvaLBPool, Via: RoleInternal}}; !slices.Equal(c.BackendPools, want) {
		t.Errorf("config backendPools %+v, want %+v", c.BackendPools, want)
	}
	if len(c.RouteTables) != 0 || len(c.FloatingIPs) != 0 {
		t.Errorf("config routeTables %+v, floatingIps %+v; want none", c.RouteTables, c.FloatingIPs)
	}

	actions, scopes := r.roleActionsAndScopes(t)
	want := append(slices.Clone(wantActions), "Microsoft.Network/loadBalancers/read", "Microsoft.Network/loadBalancers/write",
		"Microsoft.Network/virtualNetworks/joinLoadBalancer/action")
	if !slices.Equal(actions, want) {
		t.Errorf("role actions %q, want exactly %q", actions, want)
	}
	for what, id := range map[string]string{"the load balancer": lb.ID, "the VNet the members name": vnet.ID, "the frontend's subnet": internalSubnet} {
		if !slices.Contains(scopes, id) {
			t.Errorf("no role assignment on %s %s", what, id)
		}
	}
	if slices.Contains(scopes, rt.ID) {
		t.Errorf("the role is assigned on the route table %s, which the monitor never writes in this mode", rt.ID)
	}
}

func TestHaNvaDNSSteering(t *testing.T) {
	r := runSteered(t, []string{SteerRoutes, SteerDNS})
	zone := r.m.One(t, "azure-native:network:PrivateZone")
	link := r.m.One(t, "azure-native:network:VirtualNetworkLink")
	rec := r.m.One(t, "azure-native:network:PrivateRecordSet")
	vnet := r.m.One(t, "azure-native:network:VirtualNetwork")

	if got := str(zone.Inputs, "privateZoneName"); got != DefaultDNSZoneName {
		t.Errorf("zone %q, want %q", got, DefaultDNSZoneName)
	}
	if got := str(link.Inputs, "virtualNetwork", "id"); got != vnet.ID {
		t.Errorf("zone linked to %q, want the VNet %s", got, vnet.ID)
	}
	if v := pulumitest.Get(link.Inputs, "registrationEnabled"); v == nil || v.BoolValue() {
		t.Errorf("registrationEnabled = %v, want false", v)
	}
	for key, want := range map[string]string{"recordType": "A", "relativeRecordSetName": "nva", "privateZoneName": DefaultDNSZoneName} {
		if got := str(rec.Inputs, key); got != want {
			t.Errorf("record set %s = %q, want %q", key, got, want)
		}
	}
	if v := pulumitest.Get(rec.Inputs, "ttl"); v == nil || v.NumberValue() != DefaultDNSTTL {
		t.Errorf("ttl = %v, want %d", v, DefaultDNSTTL)
	}
	if got := str(rec.Inputs, "aRecords", 0, "ipv4Address"); got != "10.0.0.100" || pulumitest.Get(rec.Inputs, "aRecords", 1) != nil {
		t.Errorf("aRecords start as %v, want the first NVA's internal address alone", pulumitest.Get(rec.Inputs, "aRecords"))
	}
	if want := []string{"aRecords", `metadata["hanva-epoch"]`}; !slices.Equal(rec.IgnoreChanges, want) {
		t.Errorf("record set ignoreChanges %q, want exactly %q", rec.IgnoreChanges, want)
	}
	if !strings.HasSuffix(rec.ID, "/providers/Microsoft.Network/privateDnsZones/hanva.internal/A/nva") {
		t.Errorf("record set ID %q", rec.ID)
	}

	c := r.cfg
	if want := []config.DNSRecord{{ID: rec.ID, Via: RoleInternal}}; !slices.Equal(c.DNSRecords, want) {
		t.Errorf("config dnsRecords %+v, want %+v", c.DNSRecords, want)
	}
	rt := r.m.One(t, "azure-native:network:RouteTable")
	if len(c.RouteTables) != 1 || c.RouteTables[0].ID != rt.ID {
		t.Errorf("config routeTables %+v, want the route table: dns joins routes", c.RouteTables)
	}

	actions, scopes := r.roleActionsAndScopes(t)
	want := append(slices.Clone(wantActions), "Microsoft.Network/privateDnsZones/A/read", "Microsoft.Network/privateDnsZones/A/write")
	if !slices.Equal(actions, want) {
		t.Errorf("role actions %q, want exactly %q", actions, want)
	}
	if !slices.Contains(scopes, rec.ID) {
		t.Errorf("no role assignment on the record set %s (scopes %q)", rec.ID, scopes)
	}
	if slices.Contains(scopes, zone.ID) {
		t.Errorf("the role is assigned on the whole zone %s; the record set is enough", zone.ID)
	}
}

func TestHaNvaLoadBalancerWithDNSAndCustomNames(t *testing.T) {
	r := runSteered(t, []string{SteerLoadBalancer, SteerDNS}, func(a *HaNvaArgs) {
		a.DNSZoneName, a.DNSRecordName, a.DNSTTL = "corp.example.internal", "egress", 30
	})
	rec := r.m.One(t, "azure-native:network:PrivateRecordSet")
	if got := str(rec.Inputs, "privateZoneName") + " " + str(rec.Inputs, "relativeRecordSetName"); got != "corp.example.internal egress" {
		t.Errorf("record %q, want egress in corp.example.internal", got)
	}
	if v := pulumitest.Get(rec.Inputs, "ttl"); v == nil || v.NumberValue() != 30 {
		t.Errorf("ttl = %v, want 30", v)
	}
	if len(r.cfg.BackendPools) != 1 || len(r.cfg.DNSRecords) != 1 || len(r.cfg.RouteTables) != 0 {
		t.Errorf("config: %d pools, %d DNS records, %d route tables; want 1, 1, 0", len(r.cfg.BackendPools), len(r.cfg.DNSRecords), len(r.cfg.RouteTables))
	}
}

// TestActionListsAreTheMonitorsOwn: the role's per-kind actions are the
// lists `nva-monitor validate` checks (monitor/internal/access, which this
// package cannot import); the test reads them from its source.
func TestActionListsAreTheMonitorsOwn(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "../monitor/internal/access/access.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	lists := map[string][]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || len(vs.Values) != 1 {
			return true
		}
		lit, ok := vs.Values[0].(*ast.CompositeLit)
		if !ok {
			return true
		}
		var list []string
		for _, e := range lit.Elts {
			if b, ok := e.(*ast.BasicLit); ok && b.Kind == token.STRING {
				s, _ := strconv.Unquote(b.Value)
				list = append(list, s)
			}
		}
		lists[vs.Names[0].Name] = list
		return true
	})
	for name, ours := range map[string][]string{
		"FloatingIPActions":           FloatingIPActions(),
		"SubnetJoinActions":           SubnetJoinActions(),
		"LoadBalancerActions":         LoadBalancerActions(),
		"VirtualNetworkLBJoinActions": VirtualNetworkLBJoinActions(),
		"DNSRecordActions":            DNSRecordActions("A"),
		"DNSRecordAAAAActions":        DNSRecordActions("AAAA"),
	} {
		theirs, ok := lists[name]
		if !ok {
			t.Errorf("access.%s is missing", name)
			continue
		}
		if !slices.Equal(ours, theirs) {
			t.Errorf("components' %s %q, access.%s %q", name, ours, name, theirs)
		}
	}
}

// sampleCloudInitOf decodes a VM's custom data and checks it is YAML.
func sampleCloudInitOf(t *testing.T, vm pulumitest.Resource) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(str(vm.Inputs, "osProfile", "customData"))
	if err != nil {
		t.Fatalf("%s custom data is not base64: %v", vm.Name, err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s custom data is not YAML: %v\n%s", vm.Name, err, raw)
	}
	return string(raw)
}

func TestMonitorRefusesSteeredResourcesItCannotManage(t *testing.T) {
	pool := monRG + "/providers/Microsoft.Network/loadBalancers/lb/backendAddressPools/nvas"
	vnet := monRG + "/providers/Microsoft.Network/virtualNetworks/vnet"
	cases := []struct {
		name string
		edit func(*MonitorArgs)
		want string
	}{
		{"a floating IP that is not an address", func(a *MonitorArgs) {
			a.FloatingIPs = []FloatingIPResource{{IP: "10.0.0.x", Via: "internal"}}
		}, `MonitorArgs.FloatingIPs[0].IP: "10.0.0.x" is not an IP address`},
		{"a floating IP listed twice", func(a *MonitorArgs) {
			a.FloatingIPs = []FloatingIPResource{{IP: "10.0.0.112", Via: "internal"}, {IP: "10.0.0.112", Via: "internal"}}
		}, "MonitorArgs.FloatingIPs[1].IP: 10.0.0.112 is already FloatingIPs[0]"},
		{"a floating IP on a role the NVAs lack", func(a *MonitorArgs) {
			a.FloatingIPs = []FloatingIPResource{{IP: "10.0.0.112", Via: "mgmt"}}
		}, `MonitorArgs.FloatingIPs[0].Via: "mgmt"`},
		{"a floating IP without the NICs' subnets", func(a *MonitorArgs) {
			a.PublicIPs, a.SubnetIDs = nil, nil
			a.FloatingIPs = []FloatingIPResource{{IP: "10.0.0.112", Via: "internal"}}
		}, "MonitorArgs.SubnetIDs: empty, but moving a floating IP"},
		{"a pool without its members' VNet", func(a *MonitorArgs) {
			a.BackendPools = []ManagedResource{{ID: pulumi.String(pool), Via: "internal"}}
		}, "MonitorArgs.VirtualNetworkIDs: empty"},
		{"a DNS record of type CNAME", func(a *MonitorArgs) {
			a.DNSRecords = []DNSRecordResource{{ID: pulumi.String(vnet), Via: "internal", RecordType: "CNAME"}}
		}, `MonitorArgs.DNSRecords[0].RecordType: "CNAME"`},
		{"a DNS record without an ID", func(a *MonitorArgs) {
			a.DNSRecords = []DNSRecordResource{{Via: "internal"}}
		}, "MonitorArgs.DNSRecords[0].ID: required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bin, _ := writeFakeBinary(t)
			a := monitorArgs(bin, 2, 1)
			c.edit(a)
			r, err := runMonitor(t, a, "test")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
			for _, res := range r.m.All() {
				if res.Custom {
					t.Errorf("registered %s %s before refusing", res.Type, res.Name)
				}
			}
		})
	}
}

// TestMonitorRoleOnAPoolGoesOnItsLoadBalancer: a pool is written through
// its load balancer, so that is the scope; an ID that is not a pool's
// fails the program.
func TestMonitorRoleOnAPoolGoesOnItsLoadBalancer(t *testing.T) {
	bin, _ := writeFakeBinary(t)
	lb := monRG + "/providers/Microsoft.Network/loadBalancers/lb"
	vnet := monRG + "/providers/Microsoft.Network/virtualNetworks/vnet"
	a := monitorArgs(bin, 2, 0)
	a.BackendPools = []ManagedResource{{ID: pulumi.String(lb + "/backendAddressPools/nvas"), Via: "internal"}}
	a.VirtualNetworkIDs = []pulumi.StringInput{pulumi.String(vnet)}
	r := mustRunMonitor(t, a)
	scopes := strings2(pulumitest.Get(r.m.Named(t, "monitor-role").Inputs, "assignableScopes"))
	for _, want := range []string{lb, vnet} {
		if !slices.Contains(scopes, want) {
			t.Errorf("assignable scopes %q lack %s", scopes, want)
		}
	}
	if slices.Contains(scopes, lb+"/backendAddressPools/nvas") {
		t.Errorf("the role is assignable on the pool itself; the load balancer is the resource the monitor writes")
	}

	// Two checks refuse it, in outputs resolved concurrently: the
	// component's own (naming BackendPools[0].ID) and nva-monitor's config
	// loader on the generated config (backendPools[0].id). Whichever comes
	// first fails the program, naming the field.
	a.BackendPools = []ManagedResource{{ID: pulumi.String(vnet), Via: "internal"}}
	if _, err := runMonitor(t, a, "test"); err == nil ||
		!strings.Contains(err.Error(), "BackendPools[0].ID") && !strings.Contains(err.Error(), "backendPools[0].id") {
		t.Errorf("err = %v, want one naming BackendPools[0].ID", err)
	}
}
