package stack

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-azure-native-sdk/network/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/resources/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hanva/hanva/components"
	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/testenv"
)

// Program is the Pulumi program: it runs the deployment of the stack
// config's mode (Run) and exports its outputs as the stack outputs.
func Program(ctx *pulumi.Context) error {
	out, err := Run(ctx)
	if err != nil {
		return err
	}
	for k, v := range out.exports() {
		ctx.Export(k, v)
	}
	return nil
}

// Outputs are what Run deployed; Program exports them as the stack
// outputs (names in exports).
type Outputs struct {
	// PublicIP is the address of the public IP that follows the active NVA;
	// nil in production without publicIpId.
	PublicIP pulumi.StringInput
	// NVAPrivateIPs maps each NVA to its private IPs by NIC role.
	NVAPrivateIPs map[string]map[string]string
	// ActiveNVA is the initially active NVA (the first).
	ActiveNVA         string
	MonitorPrivateIPs pulumi.StringArrayOutput
	LeaseBlobURL      pulumi.StringOutput
	RouteTableIDs     pulumi.StringMapOutput // route table name -> ID
	// MonitorConfig is monitor 1's nva-monitor config (YAML).
	MonitorConfig pulumi.StringOutput

	// FloatingIP is the floating private IP that follows the active NVA,
	// LoadBalancerFrontendIP the frontend of the NVAs' load balancer, DNSName
	// the Private DNS name that holds the active NVA's address, BackendPoolID
	// and DNSRecordID the managed pool and record set; "" when not used.
	FloatingIP             string
	LoadBalancerFrontendIP string
	DNSName                string
	BackendPoolID          pulumi.StringInput
	DNSRecordID            pulumi.StringInput

	// Sample mode only (nil / "" in production).
	JumpboxIP         pulumi.StringInput
	SSHCommand        pulumi.StringInput
	WebLoadBalancerIP string
}

// exports returns the stack outputs by name.
func (o *Outputs) exports() pulumi.Map {
	ips := pulumi.Map{}
	for nva, byRole := range o.NVAPrivateIPs {
		m := pulumi.StringMap{}
		for role, ip := range byRole {
			m[role] = pulumi.String(ip)
		}
		ips[nva] = m
	}
	out := pulumi.Map{
		"nvaPrivateIps":     ips,
		"activeNva":         pulumi.String(o.ActiveNVA),
		"monitorPrivateIps": o.MonitorPrivateIPs,
		"leaseBlobUrl":      o.LeaseBlobURL,
		"routeTableIds":     o.RouteTableIDs,
		"monitorConfig":     o.MonitorConfig,
	}
	if o.PublicIP != nil {
		out["publicIp"] = o.PublicIP
	}
	if o.FloatingIP != "" {
		out["floatingIp"] = pulumi.String(o.FloatingIP)
	}
	if o.LoadBalancerFrontendIP != "" {
		out["loadBalancerFrontendIp"] = pulumi.String(o.LoadBalancerFrontendIP)
	}
	if o.DNSName != "" {
		out["dnsName"] = pulumi.String(o.DNSName)
	}
	if o.BackendPoolID != nil {
		out["backendPoolId"] = o.BackendPoolID
	}
	if o.DNSRecordID != nil {
		out["dnsRecordId"] = o.DNSRecordID
	}
	if o.JumpboxIP != nil {
		out["jumpboxIp"] = o.JumpboxIP
	}
	if o.SSHCommand != nil {
		out["sshCommand"] = o.SSHCommand
	}
	if o.WebLoadBalancerIP != "" {
		out["webLoadBalancerIp"] = pulumi.String(o.WebLoadBalancerIP)
	}
	return out
}

// Run reads the stack config and registers the deployment of its mode,
// without exporting anything. A bad or missing config key stops it before
// it registers anything, with every problem on its own line naming its key.
func Run(ctx *pulumi.Context) (*Outputs, error) {
	s, err := loadSettings(ctx)
	if err != nil {
		return nil, err
	}
	if s.Mode == modeProduction {
		return runProduction(ctx, s)
	}
	return runSample(ctx, s)
}

// runSample creates a resource group with the whole seed topology in it:
// HaNva (VNet, NVAs, route tables, public IP, monitors) and the sample web
// tier, to which the NVAs forward web traffic arriving on the public IP.
func runSample(ctx *pulumi.Context, s *settings) (*Outputs, error) {
	// The NVAs forward to the web tier's load balancer, whose static IP is
	// host DefaultLoadBalancerHost of the web subnet: known before either
	// exists, so neither waits for the other.
	webPrefix := components.DefaultWebPrefix
	lbIP, err := components.HostIP(webPrefix, testenv.DefaultLoadBalancerHost)
	if err != nil {
		return nil, fmt.Errorf("place the web load balancer in %s: %w", webPrefix, err)
	}

	rgArgs := &resources.ResourceGroupArgs{Location: pulumi.String(s.Location)}
	if s.ResourceGroupName != "" {
		rgArgs.ResourceGroupName = pulumi.String(s.ResourceGroupName)
	}
	rg, err := resources.NewResourceGroup(ctx, "hanva", rgArgs)
	if err != nil {
		return nil, fmt.Errorf("create resource group: %w", err)
	}
	location := pulumi.String(s.Location)

	haArgs := &components.HaNvaArgs{
		ResourceGroupName: rg.Name,
		Location:          location,
		WebPrefix:         webPrefix,
		Zones:             s.Zones,
		NvaCount:          s.NVACount,
		NvaVMSize:         s.NVAVMSize,
		MonitorCount:      s.MonitorCount,
		MonitorVMSize:     s.MonitorVMSize,
		AdminUsername:     s.AdminUsername,
		SSHPublicKey:      pulumi.String(s.SSHPublicKey),
		ProbePort:         s.ProbePort,
		ProbeKind:         s.ProbeKind,
		ForwardTo:         lbIP,
		Monitor:           s.monitorSettings(),
		MonitorBinaryPath: s.MonitorBinaryPath,
	}
	s.sampleSteering(haArgs)
	ha, err := components.NewHaNva(ctx, "hanva", haArgs)
	if err != nil {
		return nil, fmt.Errorf("create HA NVA deployment: %w", err)
	}

	web, err := testenv.NewSampleWorkload(ctx, "sample", &testenv.SampleWorkloadArgs{
		ResourceGroupName: rg.Name,
		Location:          location,
		WebSubnetID:       ha.Network.WebSubnetID,
		MgmtSubnetID:      ha.Network.MgmtSubnetID,
		WebPrefix:         ha.Network.Prefixes[components.SubnetWeb],
		MgmtPrefix:        ha.Network.Prefixes[components.SubnetMgmt],
		LoadBalancerHost:  testenv.DefaultLoadBalancerHost,
		AdminUsername:     s.AdminUsername,
		SSHPublicKey:      pulumi.String(s.SSHPublicKey),
	})
	if err != nil {
		return nil, fmt.Errorf("create sample workload: %w", err)
	}
	if web.LoadBalancerIP != lbIP {
		return nil, fmt.Errorf("sample workload: load balancer at %s, but the NVAs forward to %s", web.LoadBalancerIP, lbIP)
	}

	out := &Outputs{
		PublicIP:               ha.NVAs.PublicIPAddress,
		NVAPrivateIPs:          map[string]map[string]string{},
		ActiveNVA:              ha.ActiveNVA,
		MonitorPrivateIPs:      ha.Monitor.PrivateIPs,
		LeaseBlobURL:           ha.Monitor.LeaseBlobURL,
		RouteTableIDs:          ha.RouteTables.IDs,
		MonitorConfig:          ha.Monitor.Config,
		JumpboxIP:              web.JumpboxPublicIP,
		SSHCommand:             web.SSHCommand,
		WebLoadBalancerIP:      web.LoadBalancerIP,
		FloatingIP:             ha.FloatingIP,
		LoadBalancerFrontendIP: ha.LoadBalancerFrontendIP,
		DNSName:                ha.DNSName,
	}
	if ha.LoadBalancer != nil {
		out.BackendPoolID = ha.BackendPoolID
	}
	if ha.DNSRecord != nil {
		out.DNSRecordID = ha.DNSRecord.ID().ToStringOutput()
	}
	for _, n := range ha.NVAs.NVAs {
		out.NVAPrivateIPs[n.Name] = n.IPs
	}
	return out, nil
}

// runProduction wires monitors into existing NVAs: it reads the NVAs'
// NICs and private IPs from Azure (readNVAs), checks that the monitors'
// subnet does not route their way to Azure through those NVAs
// (checkMonitorWayOut), then creates the route tables of the config
// (pointing at the first NVA) and the Monitor. A problem found in Azure
// stops it before it registers anything, like a bad config key.
func runProduction(ctx *pulumi.Context, s *settings) (*Outputs, error) {
	az, err := newAzure(ctx)
	if err != nil {
		return nil, err
	}
	var p problems
	nvas := az.readNVAs(s, &p)
	if len(p) == 0 {
		az.checkMonitorWayOut(s, nvas, &p)
	}
	// Moving a public IP rewrites the NICs of its role, and Azure checks
	// join/action on each one's subnet and NSG.
	var pipRoles []string
	if s.PublicIPID != "" {
		pipRoles = append(pipRoles, components.RoleExternal)
	}
	// Moving a floating IP rewrites the NICs of its role too; writing a
	// load balancer re-sends its frontend, whose subnet is taken to be one
	// of the NVAs' subnets of the pool's role (else list it in
	// nvaSubnetIds).
	for _, extra := range []struct {
		set  bool
		role string
	}{{s.FloatingIP != "", s.FloatingIPVia}, {s.BackendPoolID != "", s.BackendPoolVia}} {
		if extra.set && !slices.Contains(pipRoles, extra.role) {
			pipRoles = append(pipRoles, extra.role)
		}
	}
	subnets, nsgs := subnetsAndNSGs(s, nvas, pipRoles)
	steered := productionSteered(s, nvas)
	if len(p) == 0 && s.BackendPoolID != "" && len(steered.vnets) == 0 {
		p.add("backendPoolId", "the virtual network of the NVAs' %s NICs could not be read (their NVAs are in another subscription), "+
			"and the monitors' role must join it to put an NVA's address in the pool; give the NVAs by NIC IDs this program can read", s.BackendPoolVia)
	}
	if len(p) == 0 && len(pipRoles) > 0 && len(subnets) == 0 {
		p.add("nvaSubnetIds", "required here: publicIpId is set, and the subnets of the NVAs' external NICs could not be read "+
			"(their NVAs are in another subscription); list those subnets, on which the monitors' role must join to move the public IP")
	}
	if err := p.err(); err != nil {
		return nil, err
	}

	rgName := pulumi.String(s.ResourceGroupName)
	location := pulumi.String(s.Location)
	first := nvas[0]

	out := &Outputs{
		NVAPrivateIPs: map[string]map[string]string{},
		ActiveNVA:     first.Name,
		RouteTableIDs: pulumi.StringMap{}.ToStringMapOutput(),
	}
	var managedTables []components.ManagedResource
	if len(s.RouteTables) > 0 {
		specs := make([]components.RouteTableSpec, 0, len(s.RouteTables))
		for _, t := range s.RouteTables {
			spec := components.RouteTableSpec{Name: t.Name, Via: t.Via}
			for _, r := range t.Routes {
				spec.Routes = append(spec.Routes, components.RouteSpec{Name: r.Name, AddressPrefix: r.AddressPrefix})
			}
			specs = append(specs, spec)
		}
		tables, err := components.NewRouteTables(ctx, "hanva-routes", &components.RouteTablesArgs{
			ResourceGroupName: rgName,
			Location:          location,
			Tables:            specs,
			NextHop:           first.IPs(),
		})
		if err != nil {
			return nil, fmt.Errorf("create route tables: %w", err)
		}
		for _, spec := range specs {
			managedTables = append(managedTables, components.ManagedResource{
				ID:  tables.IDs.MapIndex(pulumi.String(spec.Name)),
				Via: spec.Via,
			})
		}
		out.RouteTableIDs = tables.IDs
	}

	var managedPIPs []components.ManagedResource
	if s.PublicIPID != "" {
		managedPIPs = append(managedPIPs, components.ManagedResource{ID: pulumi.String(s.PublicIPID), Via: components.RoleExternal})
		pip, err := config.ParseResourceID(s.PublicIPID) // checked by loadSettings
		if err != nil {
			return nil, fmt.Errorf("parse publicIpId: %w", err)
		}
		out.PublicIP = network.LookupPublicIPAddressOutput(ctx, network.LookupPublicIPAddressOutputArgs{
			ResourceGroupName:   pulumi.String(pip.ResourceGroup),
			PublicIpAddressName: pulumi.String(pip.Name),
		}).IpAddress().Elem()
	}
	monitored := make([]components.MonitoredNVA, 0, len(nvas))
	for _, n := range nvas {
		nics := map[string]pulumi.StringInput{}
		for role, nic := range n.NICs {
			nics[role] = pulumi.String(nic.ID)
		}
		monitored = append(monitored, components.MonitoredNVA{
			Name:         n.Name,
			ProbeAddress: pulumi.String(net.JoinHostPort(n.NICs[components.RoleInternal].IP, strconv.Itoa(s.ProbePort))),
			ProbeKind:    s.ProbeKind,
			NICs:         nics,
		})
		out.NVAPrivateIPs[n.Name] = n.IPs()
	}

	out.FloatingIP, out.BackendPoolID, out.DNSRecordID = s.FloatingIP, steered.poolID, steered.recordID
	mon, err := components.NewMonitor(ctx, "hanva-monitor", &components.MonitorArgs{
		ResourceGroupName:       rgName,
		Location:                location,
		Count:                   s.MonitorCount,
		Zones:                   s.Zones,
		VMSize:                  s.MonitorVMSize,
		AdminUsername:           s.AdminUsername,
		SSHPublicKey:            pulumi.String(s.SSHPublicKey),
		SubnetID:                pulumi.String(s.MonitorSubnetID),
		NVAs:                    monitored,
		RouteTables:             managedTables,
		PublicIPs:               managedPIPs,
		FloatingIPs:             steered.floats,
		BackendPools:            steered.pools,
		DNSRecords:              steered.records,
		VirtualNetworkIDs:       stringInputs(steered.vnets),
		SubnetIDs:               stringInputs(subnets),
		NetworkSecurityGroupIDs: stringInputs(nsgs),
		Settings:                s.monitorSettings(),
		BinaryPath:              s.MonitorBinaryPath,
	})
	if err != nil {
		return nil, fmt.Errorf("create monitors: %w", err)
	}
	out.MonitorPrivateIPs = mon.PrivateIPs
	out.LeaseBlobURL = mon.LeaseBlobURL
	out.MonitorConfig = mon.Config
	return out, nil
}

func stringInputs(ss []string) []pulumi.StringInput {
	var out []pulumi.StringInput
	for _, s := range ss {
		out = append(out, pulumi.String(s))
	}
	return out
}

// steeredResources are production's floating IP, backend pool and DNS
// record, as the Monitor takes them.
type steeredResources struct {
	floats  []components.FloatingIPResource
	pools   []components.ManagedResource
	records []components.DNSRecordResource
	vnets   []string // the VNets of the pool's members (the NVAs' NICs of its role)
	// poolID and recordID are the outputs backendPoolId and dnsRecordId (nil if not given).
	poolID, recordID pulumi.StringInput
}

// productionSteered turns the production keys floatingIp, backendPoolId
// and dnsRecordId into the Monitor's arguments. Nothing is created: the
// resources exist; the monitors get the role on them.
func productionSteered(s *settings, nvas []appliance) steeredResources {
	var r steeredResources
	if s.FloatingIP != "" {
		r.floats = []components.FloatingIPResource{{IP: s.FloatingIP, Via: s.FloatingIPVia}}
	}
	if s.BackendPoolID != "" {
		r.pools = []components.ManagedResource{{ID: pulumi.String(s.BackendPoolID), Via: s.BackendPoolVia}}
		r.poolID = pulumi.String(s.BackendPoolID)
		for _, a := range nvas {
			for _, sn := range a.NICs[s.BackendPoolVia].Subnets {
				if vnet, _, err := parseSubnetID(sn); err == nil && !containsFold(r.vnets, vnet.String()) {
					r.vnets = append(r.vnets, vnet.String())
				}
			}
		}
	}
	if s.DNSRecordID != "" {
		typ := "A"
		if segs := strings.Split(s.DNSRecordID, "/"); len(segs) > 2 && strings.EqualFold(segs[len(segs)-2], "AAAA") {
			typ = "AAAA"
		}
		r.records = []components.DNSRecordResource{{ID: pulumi.String(s.DNSRecordID), Via: s.DNSRecordVia, RecordType: typ}}
		r.recordID = pulumi.String(s.DNSRecordID)
	}
	return r
}
