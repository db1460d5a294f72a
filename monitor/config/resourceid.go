package config

import (
	"fmt"
	"strings"
	"unicode"
)

// Full resource types (provider namespace/type) the monitor manages.
const (
	TypeNetworkInterface = "Microsoft.Network/networkInterfaces"
	TypeRouteTable       = "Microsoft.Network/routeTables"
	TypePublicIPAddress  = "Microsoft.Network/publicIPAddresses"

	// Child resources: one level below a top-level resource.
	TypeBackendAddressPool   = "Microsoft.Network/loadBalancers/backendAddressPools"
	TypePrivateDNSARecord    = "Microsoft.Network/privateDnsZones/A"
	TypePrivateDNSAAAARecord = "Microsoft.Network/privateDnsZones/AAAA"
)

// ResourceID is a parsed Azure Resource Manager ID of a top-level resource:
//
//	/subscriptions/{Subscription}/resourceGroups/{ResourceGroup}/providers/{Provider}/{Type}/{Name}
//
// or of a child resource one level below one (ParseChildResourceID):
//
//	/subscriptions/{Subscription}/resourceGroups/{ResourceGroup}/providers/{Provider}/{ParentType}/{ParentName}/{Type}/{Name}
//
// like a load balancer's backend pool (…/loadBalancers/{lb}/backendAddressPools/{pool})
// or a Private DNS record set (…/privateDnsZones/{zone}/A/{name}).
// Values keep the case they were written in; ARM compares IDs
// case-insensitively, and so do Equal and IsType.
type ResourceID struct {
	Subscription  string // a GUID
	ResourceGroup string
	Provider      string // e.g. "Microsoft.Network"
	// ParentType and ParentName are the top-level resource of a child
	// resource, e.g. "loadBalancers" and "lb-nva"; both "" for a top-level one.
	ParentType string
	ParentName string
	Type       string // e.g. "networkInterfaces", or "backendAddressPools" for a child
	Name       string
}

// String returns the ID in its canonical spelling
// (/subscriptions/…/resourceGroups/…/providers/…).
func (r ResourceID) String() string {
	s := "/subscriptions/" + r.Subscription + "/resourceGroups/" + r.ResourceGroup + "/providers/" + r.Provider + "/"
	if r.IsChild() {
		s += r.ParentType + "/" + r.ParentName + "/"
	}
	return s + r.Type + "/" + r.Name
}

// IsChild reports whether r is a child resource (it has a parent).
func (r ResourceID) IsChild() bool { return r.ParentType != "" }

// Parent returns the top-level resource a child resource belongs to (the
// load balancer of a backend pool, the zone of a record set); a top-level
// resource is returned unchanged.
func (r ResourceID) Parent() ResourceID {
	if !r.IsChild() {
		return r
	}
	return ResourceID{Subscription: r.Subscription, ResourceGroup: r.ResourceGroup, Provider: r.Provider,
		Type: r.ParentType, Name: r.ParentName}
}

// FullType returns Provider/Type, e.g. "Microsoft.Network/networkInterfaces",
// or Provider/ParentType/Type for a child resource, e.g.
// "Microsoft.Network/loadBalancers/backendAddressPools".
func (r ResourceID) FullType() string {
	if r.IsChild() {
		return r.Provider + "/" + r.ParentType + "/" + r.Type
	}
	return r.Provider + "/" + r.Type
}

// IsType reports whether r is of the full type t (e.g. TypeRouteTable),
// ignoring case.
func (r ResourceID) IsType(t string) bool { return strings.EqualFold(r.FullType(), t) }

// Equal reports whether r and o name the same resource, ignoring case as ARM does.
func (r ResourceID) Equal(o ResourceID) bool { return strings.EqualFold(r.String(), o.String()) }

// resourceIDError says what is wrong with a resource ID. Reason reads on its own
// ("the subscription ID "x" is not a GUID"), so the validator can embed it.
type resourceIDError struct {
	ID     string
	Reason string
}

func (e *resourceIDError) Error() string {
	return fmt.Sprintf("parse resource ID %q: %s", e.ID, e.Reason)
}

// ParseResourceID parses the ID of a top-level ARM resource. The fixed
// segments ("subscriptions", "resourceGroups", "providers") are matched
// ignoring case. The error says which part is wrong. IDs of child resources
// (…/routeTables/rt/routes/r) are refused; ParseChildResourceID reads those.
func ParseResourceID(id string) (ResourceID, error) { return parseResourceID(id, depthTop) }

// ParseChildResourceID parses the ID of a child resource one level below a
// top-level one, like a backend pool
// (…/providers/Microsoft.Network/loadBalancers/{lb}/backendAddressPools/{pool},
// type TypeBackendAddressPool) or a Private DNS record set
// (…/providers/Microsoft.Network/privateDnsZones/{zone}/A/{name}, type
// TypePrivateDNSARecord). A top-level ID, or one more than a level deeper,
// is refused, and the error says which part is wrong.
func ParseChildResourceID(id string) (ResourceID, error) { return parseResourceID(id, depthChild) }

// How deep an ID parseResourceID accepts.
const (
	depthTop   = iota // top-level only
	depthChild        // one level of child only
	depthAny          // either
)

func parseResourceID(id string, depth int) (ResourceID, error) {
	fail := func(format string, args ...any) (ResourceID, error) {
		return ResourceID{}, &resourceIDError{ID: id, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case id == "":
		return fail("it is empty")
	case strings.TrimSpace(id) != id:
		return fail("it has spaces at the start or end")
	case !strings.HasPrefix(id, "/"):
		return fail(`it must start with "/subscriptions/"`)
	case strings.HasSuffix(id, "/"):
		return fail(`it ends with "/"`)
	case strings.Contains(id, "//"):
		return fail(`it has an empty segment ("//")`)
	}
	seg := strings.Split(id[1:], "/")
	// at returns segment i, or "" if the ID ends before it.
	at := func(i int) string {
		if i < len(seg) {
			return seg[i]
		}
		return ""
	}
	if !strings.EqualFold(seg[0], "subscriptions") {
		return fail(`it must start with "/subscriptions/", not "/%s/"`, seg[0])
	}
	var r ResourceID
	if r.Subscription = at(1); r.Subscription == "" {
		return fail("the subscription ID is missing after /subscriptions/")
	}
	if !isGUID(r.Subscription) {
		return fail("the subscription ID %q is not a GUID like 00000000-0000-0000-0000-000000000000", r.Subscription)
	}
	switch s := at(2); {
	case s == "":
		return fail("it ends after the subscription ID; expected /resourceGroups/{name} next")
	case !strings.EqualFold(s, "resourceGroups"):
		return fail("expected \"resourceGroups\" after the subscription ID, found %q", s)
	}
	if r.ResourceGroup = at(3); r.ResourceGroup == "" {
		return fail("the resource group name is missing after /resourceGroups/")
	}
	if reason := checkResourceGroup(r.ResourceGroup); reason != "" {
		return fail("the resource group name %q %s", r.ResourceGroup, reason)
	}
	switch s := at(4); {
	case s == "":
		return fail("it ends after the resource group; expected /providers/{namespace}/{type}/{name} next")
	case !strings.EqualFold(s, "providers"):
		return fail("expected \"providers\" after the resource group name, found %q", s)
	}
	if r.Provider = at(5); r.Provider == "" {
		return fail("the provider namespace (like Microsoft.Network) is missing after /providers/")
	}
	if !strings.Contains(r.Provider, ".") {
		return fail("the provider namespace %q is not like Microsoft.Network", r.Provider)
	}
	if r.Type = at(6); r.Type == "" {
		return fail("the resource type (like networkInterfaces) is missing after the provider namespace %q", r.Provider)
	}
	if r.Name = at(7); r.Name == "" {
		return fail("the resource name is missing after the type %q", r.Type)
	}
	if depth == depthTop {
		if len(seg) > 8 {
			return fail("it continues after the name %q with %q; only top-level resource IDs are accepted",
				r.Name, "/"+strings.Join(seg[8:], "/"))
		}
		return r, nil
	}
	if len(seg) == 8 {
		if depth == depthAny {
			return r, nil
		}
		return fail("it ends after the name %q of the %s/%s; a child resource ID continues with /{type}/{name}, "+
			"like /backendAddressPools/{pool} after a load balancer", r.Name, r.Provider, r.Type)
	}
	child := r
	child.ParentType, child.ParentName = r.Type, r.Name
	child.Type = at(8) // not empty: the ID has no "//" and does not end with "/"
	if child.Name = at(9); child.Name == "" {
		return fail("the child resource name is missing after the type %q", child.Type)
	}
	if len(seg) > 10 {
		return fail("it continues after the child resource name %q with %q; only IDs one level below a top-level resource are accepted",
			child.Name, "/"+strings.Join(seg[10:], "/"))
	}
	return child, nil
}

// isGUID reports whether s looks like 8-4-4-4-12 hexadecimal digits.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}

// checkResourceGroup applies Azure's naming rules for resource groups: 1-90
// letters, digits, underscores, hyphens, periods and parentheses, not ending
// in a period. It returns what is wrong, or "".
func checkResourceGroup(name string) string {
	if n := len([]rune(name)); n > 90 {
		return fmt.Sprintf("is %d characters long; Azure allows 90", n)
	}
	for _, c := range name {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) && !strings.ContainsRune("_-.()", c) {
			return fmt.Sprintf("contains %q; Azure allows letters, digits and _ - . ( )", c)
		}
	}
	if strings.HasSuffix(name, ".") {
		return "ends with a period, which Azure does not allow"
	}
	return ""
}
