package stack

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode"

	"github.com/pulumi/pulumi-azure-native-sdk/authorization/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/compute/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/network/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hanva/hanva/components"
	"github.com/hanva/hanva/monitor/config"
)

// appliance is a production NVA as read from Azure: the NIC of each role,
// with the private IP that the route tables and the probes use.
type appliance struct {
	Name string
	NICs map[string]applianceNIC // by role
	// Addresses are all the private IPs of the NVA known to the program,
	// each with what it is ("fw-1's internal IP", "fw-1's NIC fw1-mgmt"): a
	// route to any of them passes through the NVA.
	Addresses map[string]string
}

type applianceNIC struct {
	ID string
	IP string
	// Subnets and NSG are the subnet IDs of the NIC's IP configurations and
	// the ID of its network security group ("" if none): a NIC write is
	// checked for join/action on both. Unknown (empty) for a NIC that was
	// not read.
	Subnets []string
	NSG     string
}

// IPs returns the NVA's private IPs by role.
func (a appliance) IPs() map[string]string {
	out := map[string]string{}
	for role, nic := range a.NICs {
		out[role] = nic.IP
	}
	return out
}

// azure reads existing resources with the azure-native provider's lookup
// functions (invokes). It uses their direct form, which answers before the
// program registers anything: a config that names the wrong resource then
// fails before anything is created, with every problem at once, and the
// values read are plain strings, as typed ones were.
type azure struct {
	ctx *pulumi.Context
	// subscription is the provider's: the lookups take a resource group and
	// a name, and read them in this subscription.
	subscription string
	nics         map[string]*nicView // by lower-case ID
}

func newAzure(ctx *pulumi.Context) (*azure, error) {
	cc, err := authorization.GetClientConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the azure-native provider's subscription (getClientConfig): %w", err)
	}
	return &azure{ctx: ctx, subscription: cc.SubscriptionId, nics: map[string]*nicView{}}, nil
}

// readable reports whether a (well-formed) ID is in the provider's
// subscription, where the lookups can read it.
func (az *azure) readable(id string) bool {
	vnet, _, err := parseSubnetID(id)
	if err != nil {
		vnet, _ = config.ParseResourceID(id)
	}
	return strings.EqualFold(vnet.Subscription, az.subscription)
}

// nicView is what the program reads of a NIC.
type nicView struct {
	ID, Name, ResourceGroup string
	VM                      string // ID of the VM it is attached to, "" if none
	IPConfigs               []ipConfigView
	NSG                     string
}

type ipConfigView struct {
	Name    string
	IP      string // private IPv4; "" for an IPv6 configuration
	Subnet  string
	Primary bool
}

// primary returns the NIC's primary IPv4 configuration: the one marked
// primary, else the first.
func (n *nicView) primary() ipConfigView {
	var v4 []ipConfigView
	for _, c := range n.IPConfigs {
		if c.IP != "" {
			v4 = append(v4, c)
		}
	}
	for _, c := range v4 {
		if c.Primary {
			return c
		}
	}
	if len(v4) > 0 {
		return v4[0]
	}
	return ipConfigView{}
}

// addresses returns the NIC's private IPv4 addresses, the primary first.
func (n *nicView) addresses() []string {
	p := n.primary().IP
	out := []string{p}
	for _, c := range n.IPConfigs {
		if c.IP != "" && c.IP != p {
			out = append(out, c.IP)
		}
	}
	return out
}

// subnets returns the subnet IDs of the NIC's IP configurations, once each.
func (n *nicView) subnets() []string {
	var out []string
	for _, c := range n.IPConfigs {
		if c.Subnet != "" && !containsFold(out, c.Subnet) {
			out = append(out, c.Subnet)
		}
	}
	return out
}

// describe names the NIC for an operator: its name, resource group and the
// subnet of its primary IP configuration.
func (n *nicView) describe() string {
	sn := n.primary().Subnet
	if _, name, err := parseSubnetID(sn); err == nil {
		sn = name
	}
	return fmt.Sprintf("%s (resource group %s, subnet %s)", n.Name, n.ResourceGroup, sn)
}

// nic reads a NIC by its (well-formed) ID, once.
func (az *azure) nic(id string) (*nicView, error) {
	if v, ok := az.nics[strings.ToLower(id)]; ok {
		return v, nil
	}
	rid, err := config.ParseResourceID(id)
	if err != nil {
		return nil, err
	}
	r, err := network.LookupNetworkInterface(az.ctx, &network.LookupNetworkInterfaceArgs{
		ResourceGroupName:    rid.ResourceGroup,
		NetworkInterfaceName: rid.Name,
	})
	if err != nil {
		return nil, fmt.Errorf("read NIC %s in resource group %s: %w", rid.Name, rid.ResourceGroup, err)
	}
	v := &nicView{ID: id, Name: rid.Name, ResourceGroup: rid.ResourceGroup, VM: r.VirtualMachine.Id}
	if r.NetworkSecurityGroup != nil && r.NetworkSecurityGroup.Id != nil {
		v.NSG = *r.NetworkSecurityGroup.Id
	}
	for _, c := range r.IpConfigurations {
		cv := ipConfigView{Name: deref(c.Name), Primary: c.Primary != nil && *c.Primary}
		if a, err := netip.ParseAddr(deref(c.PrivateIPAddress)); err == nil && a.Is4() {
			cv.IP = a.String()
		}
		if c.Subnet != nil {
			cv.Subnet = deref(c.Subnet.Id)
		}
		v.IPConfigs = append(v.IPConfigs, cv)
	}
	if v.primary().IP == "" {
		return nil, fmt.Errorf("NIC %s in resource group %s has no private IPv4 address", rid.Name, rid.ResourceGroup)
	}
	az.nics[strings.ToLower(id)] = v
	return v, nil
}

// vmNICs reads a VM by its (well-formed) ID and then each of its NICs.
func (az *azure) vmNICs(id string) ([]*nicView, error) {
	rid, err := config.ParseResourceID(id)
	if err != nil {
		return nil, err
	}
	vm, err := compute.LookupVirtualMachine(az.ctx, &compute.LookupVirtualMachineArgs{
		ResourceGroupName: rid.ResourceGroup,
		VmName:            rid.Name,
	})
	if err != nil {
		return nil, fmt.Errorf("read VM %s in resource group %s: %w", rid.Name, rid.ResourceGroup, err)
	}
	var out []*nicView
	if vm.NetworkProfile != nil {
		for _, ref := range vm.NetworkProfile.NetworkInterfaces {
			v, err := az.nic(deref(ref.Id))
			if err != nil {
				return nil, fmt.Errorf("VM %s: %w", rid.Name, err)
			}
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("VM %s in resource group %s has no network interfaces in its network profile", rid.Name, rid.ResourceGroup)
	}
	return out, nil
}

// readNVAs reads every production NVA from Azure and adds a problem, naming
// its key, for each thing that does not add up. An NVA whose IDs are all in
// the provider's subscription is read:
//
//   - its NICs: those of vmId (compute getVirtualMachine,
//     networkProfile.networkInterfaces), or externalNicId and internalNicId;
//   - each NIC's role: given by externalNicId/internalNicId; else the VM's
//     one NIC whose primary IP configuration is in that role's subnet
//     (nvaExternalSubnetId, nvaInternalSubnetId); without those keys, the
//     VM's one NIC whose name says the role (nameRoles). Other NICs of the
//     VM (management) are left alone;
//   - each NIC's IP (network getNetworkInterface, ipConfigurations): the
//     primary private IPv4 address, or the typed externalIp/internalIp,
//     which must be one of the NIC's addresses.
//
// An NVA with an ID in another subscription cannot be read (the lookups
// read the provider's subscription): it needs both NIC IDs and both IPs,
// which are used as typed, with a warning.
func (az *azure) readNVAs(s *settings, p *problems) []appliance {
	var out []appliance
	owner := map[string]string{} // NIC ID (lower case) -> "nvas[0]'s external NIC"
	for i, n := range s.NVAs {
		at := fmt.Sprintf("nvas[%d]", i)
		var a appliance
		var ok bool
		if foreign := az.foreignID(n); foreign != "" {
			a, ok = az.unread(n, at, foreign, p)
		} else {
			a, ok = az.readNVA(s, n, at, p)
		}
		if !ok {
			continue
		}
		// One VM given by vmId in one entry and by its NICs in another
		// passes the config's own checks.
		for _, role := range nvaRoles {
			id := strings.ToLower(a.NICs[role].ID)
			if other, dup := owner[id]; dup {
				key := at + ".vmId"
				if n.NICID(role) != "" {
					key = at + "." + nicKey(role)
				}
				p.add(key, "its %s NIC %s is also %s; every NVA has NICs of its own", role, lastSegment(a.NICs[role].ID), other)
			}
			owner[id] = fmt.Sprintf("%s's %s NIC", at, role)
		}
		out = append(out, a)
	}
	return out
}

// foreignID returns the first of the NVA's IDs outside the provider's
// subscription, or "".
func (az *azure) foreignID(n nvaSetting) string {
	for _, id := range []string{n.VMID, n.ExternalNICID, n.InternalNICID} {
		if id != "" && !az.readable(id) {
			return id
		}
	}
	return ""
}

// unread takes an NVA the program cannot read as typed.
func (az *azure) unread(n nvaSetting, at, foreign string, p *problems) (appliance, bool) {
	rid, _ := config.ParseResourceID(foreign)
	why := fmt.Sprintf("%s is in subscription %s, which this program cannot read (the azure-native provider's lookups read subscription %s)",
		rid.Name, rid.Subscription, az.subscription)
	a := appliance{Name: n.Name, NICs: map[string]applianceNIC{}, Addresses: map[string]string{}}
	ok := true
	for _, role := range nvaRoles {
		if n.NICID(role) == "" {
			p.add(at+"."+nicKey(role), "required: %s; give both NICs' IDs and IPs, which are then used as typed", why)
			ok = false
		}
		if n.IP(role) == "" {
			p.add(at+"."+ipKey(role), "required: %s; give both NICs' IDs and IPs, which are then used as typed", why)
			ok = false
		}
		a.NICs[role] = applianceNIC{ID: n.NICID(role), IP: n.IP(role)}
		a.Addresses[n.IP(role)] = fmt.Sprintf("%s's %s IP", n.Name, role)
	}
	if ok {
		_ = az.ctx.Log.Warn(fmt.Sprintf("hanva:%s (%s): %s; its NIC IDs and IPs are used as typed, unchecked, and the subnets and NSGs "+
			"of its NICs must be listed in nvaSubnetIds and nvaNsgIds for the monitors to move a public IP", at, n.Name, why), nil)
	}
	return a, ok
}

// readNVA reads one NVA whose IDs are all in the provider's subscription.
func (az *azure) readNVA(s *settings, n nvaSetting, at string, p *problems) (appliance, bool) {
	before := len(*p)
	var vmNICs []*nicView
	if n.VMID != "" {
		var err error
		if vmNICs, err = az.vmNICs(n.VMID); err != nil {
			p.add(at+".vmId", "%v", err)
			return appliance{}, false
		}
	}
	vmName := ""
	if rid, err := config.ParseResourceID(n.VMID); err == nil {
		vmName = rid.Name
	}

	chosen := map[string]*nicView{}
	for _, role := range nvaRoles {
		id := n.NICID(role)
		if id == "" {
			continue
		}
		key := at + "." + nicKey(role)
		v, err := az.nic(id)
		if err != nil {
			p.add(key, "%v", err)
			continue
		}
		if n.VMID != "" && !slices.Contains(vmNICs, v) {
			p.add(key, "NIC %s is not a NIC of VM %s (its NICs: %s)", v.Name, vmName, describeAll(vmNICs))
			continue
		}
		if sn, ok := s.RoleSubnetIDs[role]; ok && !strings.EqualFold(v.primary().Subnet, sn) {
			p.add(key, "NIC %s is not in %s %s; an %s NIC must be in that subnet (is it the %s NIC?)",
				v.describe(), roleSubnetKey(role), lastSegment(sn), role, otherRole(role))
			continue
		}
		chosen[role] = v
	}
	if len(*p) > before {
		return appliance{}, false
	}

	if n.VMID == "" {
		// Both NICs given: they must sit on one VM.
		ext, in := chosen[components.RoleExternal], chosen[components.RoleInternal]
		for _, role := range nvaRoles {
			if chosen[role].VM == "" {
				p.add(at+"."+nicKey(role), "NIC %s is not attached to a VM; give the NICs of the NVA's VM", chosen[role].describe())
			}
		}
		if ext.VM != "" && in.VM != "" && !strings.EqualFold(ext.VM, in.VM) {
			p.add(at+"."+nicKey(components.RoleInternal), "NIC %s is attached to VM %s, but the external NIC %s to VM %s; an NVA's NICs are on one VM",
				in.Name, lastSegment(in.VM), ext.Name, lastSegment(ext.VM))
		}
	} else {
		for _, role := range nvaRoles {
			if chosen[role] != nil {
				continue
			}
			v, problem := pickRole(s, role, vmName, vmNICs, chosen)
			if problem != "" {
				p.add(at+".vmId", "%s; name it with %s.%s", problem, at, nicKey(role))
				continue
			}
			chosen[role] = v
		}
	}
	if len(*p) > before {
		return appliance{}, false
	}

	a := appliance{Name: n.Name, NICs: map[string]applianceNIC{}, Addresses: map[string]string{}}
	for _, v := range append(vmNICs, valuesOf(chosen)...) {
		for _, ip := range v.addresses() {
			a.Addresses[ip] = fmt.Sprintf("%s's NIC %s", n.Name, v.Name)
		}
	}
	for _, role := range nvaRoles {
		v := chosen[role]
		ip := v.primary().IP
		if typed := n.IP(role); typed != "" {
			if !slices.Contains(v.addresses(), typed) {
				p.add(at+"."+ipKey(role), "%s is not an address of NIC %s (it has %s); leave %s out to use the NIC's primary address",
					typed, v.describe(), strings.Join(v.addresses(), ", "), ipKey(role))
				continue
			}
			ip = typed
		}
		a.NICs[role] = applianceNIC{ID: v.ID, IP: ip, Subnets: v.subnets(), NSG: v.NSG}
		a.Addresses[ip] = fmt.Sprintf("%s's %s IP", n.Name, role)
	}
	return a, len(*p) == before
}

// pickRole finds the one NIC of a VM for a role among those not yet chosen:
// by the role's subnet when the subnets are configured, else by name. It
// returns a problem when there is none or more than one.
func pickRole(s *settings, role, vmName string, nics []*nicView, chosen map[string]*nicView) (*nicView, string) {
	var candidates []*nicView
	var how string
	sn, bySubnet := s.RoleSubnetIDs[role]
	for _, v := range nics {
		if slices.Contains(valuesOf(chosen), v) {
			continue
		}
		if bySubnet {
			if strings.EqualFold(v.primary().Subnet, sn) {
				candidates = append(candidates, v)
			}
		} else if r := nameRoles(v.Name); len(r) == 1 && r[0] == role {
			candidates = append(candidates, v)
		}
	}
	if bySubnet {
		how = fmt.Sprintf("in %s %s", roleSubnetKey(role), lastSegment(sn))
	} else {
		how = fmt.Sprintf("named for the %s role (a word of its name among %s; set %s and %s to tell the roles by subnet instead)",
			role, strings.Join(roleWords[role], ", "), roleSubnetKey(components.RoleExternal), roleSubnetKey(components.RoleInternal))
	}
	switch len(candidates) {
	case 1:
		return candidates[0], ""
	case 0:
		return nil, fmt.Sprintf("VM %s has no NIC %s; its NICs: %s", vmName, how, describeAll(nics))
	default:
		return nil, fmt.Sprintf("VM %s has %d NICs %s, so its %s NIC is ambiguous: %s", vmName, len(candidates), how, role, describeAll(candidates))
	}
}

// roleWords are the words of a NIC's name that tell its role: the names the
// common NVA images and reference architectures give the two sides.
var roleWords = map[string][]string{
	components.RoleExternal: {"ext", "external", "untrust", "untrusted", "outside", "public", "pub", "wan", "frontend"},
	components.RoleInternal: {"int", "internal", "trust", "trusted", "inside", "private", "priv", "lan", "backend"},
}

// nameRoles returns the roles whose words are among the words of a NIC's
// name. Words are split at every character that is not a letter or digit,
// between letters and digits, and before an upper-case letter that follows
// a lower-case one: "fw1-ext", "fw1Ext" and "FW1_EXT_NIC" all hold "ext".
// "untrust" is its own word, never "trust".
func nameRoles(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	for _, c := range name {
		switch {
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			flush()
			continue
		case len(cur) > 0:
			prev := cur[len(cur)-1]
			if unicode.IsDigit(prev) != unicode.IsDigit(c) || (unicode.IsLower(prev) && unicode.IsUpper(c)) {
				flush()
			}
		}
		cur = append(cur, c)
	}
	flush()
	var roles []string
	for _, role := range nvaRoles {
		for _, w := range words {
			if slices.Contains(roleWords[role], w) {
				roles = append(roles, role)
				break
			}
		}
	}
	return roles
}

// subnetsAndNSGs returns what the monitors' role must be able to join to
// move a public IP: the subnets and NSGs of the NVA NICs of the roles that
// carry one (read from Azure), plus nvaSubnetIds and nvaNsgIds, each once.
func subnetsAndNSGs(s *settings, nvas []appliance, pipRoles []string) (subnets, nsgs []string) {
	for _, a := range nvas {
		for _, role := range pipRoles {
			nic := a.NICs[role]
			for _, sn := range nic.Subnets {
				if !containsFold(subnets, sn) {
					subnets = append(subnets, sn)
				}
			}
			if nic.NSG != "" && !containsFold(nsgs, nic.NSG) {
				nsgs = append(nsgs, nic.NSG)
			}
		}
	}
	for _, sn := range s.NVASubnetIDs {
		if !containsFold(subnets, sn) {
			subnets = append(subnets, sn)
		}
	}
	for _, g := range s.NVANSGIDs {
		if !containsFold(nsgs, g) {
			nsgs = append(nsgs, g)
		}
	}
	return subnets, nsgs
}

func describeAll(nics []*nicView) string {
	var parts []string
	for _, v := range nics {
		parts = append(parts, v.describe())
	}
	return strings.Join(parts, ", ")
}

func otherRole(role string) string {
	if role == components.RoleExternal {
		return components.RoleInternal
	}
	return components.RoleExternal
}

func valuesOf(m map[string]*nicView) []*nicView {
	var out []*nicView
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

func lastSegment(id string) string { return id[strings.LastIndex(id, "/")+1:] }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
