package armsim

import (
	"fmt"
	"strings"
)

type pathKind int

const (
	pathResource pathKind = iota + 1
	pathList
	pathOperation
	pathOperationResult
	pathPermissions
	pathAction // POST {resource}/{action}, e.g. networkInterfaces/{nic}/effectiveRouteTable
)

// armPath is a parsed ARM request path. Keyword segments are case-insensitive,
// as resource IDs are in ARM.
type armPath struct {
	kind      pathKind
	sub, rg   string
	ns, typ   string // provider namespace and top-level type, canonical casing if known
	name      string
	childType string // "" for a top-level resource; canonical casing if known
	childName string
	location  string // operations
	opID      string
	scope     string // permissions: the scope path
	action    string // pathAction: the action, canonical casing ("effectiveRouteTable")
}

// knownTypes maps lower-cased Microsoft.Network types to Azure's casing.
var knownTypes = map[string]string{
	"routetables":       "routeTables",
	"networkinterfaces": "networkInterfaces",
	"publicipaddresses": "publicIPAddresses",
	"virtualnetworks":   "virtualNetworks",
	"loadbalancers":     "loadBalancers", // loadbalancer.go
}

// childKind describes a sub-resource kept inline in its parent's properties.
type childKind struct {
	prop string // property name in the parent, also the path segment
}

// childKinds maps "parenttype/childtype" (lower-cased) to the child kind.
var childKinds = map[string]childKind{
	"routetables/routes":                 {prop: "routes"},
	"networkinterfaces/ipconfigurations": {prop: "ipConfigurations"},
	"virtualnetworks/subnets":            {prop: "subnets"},
	"loadbalancers/backendaddresspools":  {prop: "backendAddressPools"}, // loadbalancer.go
}

// actions maps "type/action" (lower-cased) to the POST actions emulated on
// a resource, in Azure's casing.
var actions = map[string]string{
	"networkinterfaces/effectiveroutetable": "effectiveRouteTable",
}

func canonicalType(t string) string {
	if c, ok := knownTypes[strings.ToLower(t)]; ok {
		return c
	}
	return t
}

func canonicalNamespace(ns string) string {
	if strings.EqualFold(ns, "Microsoft.Network") {
		return "Microsoft.Network"
	}
	return ns
}

func (p armPath) child() (childKind, bool) {
	if p.childType == "" {
		return childKind{}, false
	}
	k, ok := childKinds[strings.ToLower(p.typ+"/"+p.childType)]
	return k, ok
}

// parentID is the ID of the top-level resource (or the listed collection).
func (p armPath) parentID() string {
	id := "/subscriptions/" + p.sub + "/resourceGroups/" + p.rg + "/providers/" + p.ns + "/" + p.typ
	if p.name != "" {
		id += "/" + p.name
	}
	return id
}

// id is the full ID the path addresses.
func (p armPath) id() string {
	id := p.parentID()
	if p.childType != "" {
		id += "/" + p.childType
		if p.childName != "" {
			id += "/" + p.childName
		}
	}
	return id
}

func keyOf(id string) string { return strings.ToLower(id) }

func splitPath(path string) []string {
	path = strings.Trim(path, "/")
	if path == "" {
		return nil
	}
	return strings.Split(path, "/")
}

func parsePath(path string) (armPath, error) {
	segs := splitPath(path)
	eq := strings.EqualFold
	n := len(segs)
	if n >= 3 && eq(segs[n-3], "providers") && eq(segs[n-2], "Microsoft.Authorization") && eq(segs[n-1], "permissions") {
		scope := "/" + strings.Join(segs[:n-3], "/")
		if n < 5 || !eq(segs[0], "subscriptions") {
			return armPath{}, fmt.Errorf("the permissions scope %q is not a subscription, resource group or resource", scope)
		}
		return armPath{kind: pathPermissions, scope: scope}, nil
	}
	if n < 2 || !eq(segs[0], "subscriptions") || segs[1] == "" {
		return armPath{}, fmt.Errorf("the request URI %q is not an ARM resource path", path)
	}
	p := armPath{sub: segs[1]}
	if n == 8 && eq(segs[2], "providers") && eq(segs[4], "locations") {
		p.ns, p.location, p.opID = canonicalNamespace(segs[3]), segs[5], segs[7]
		switch {
		case eq(segs[6], "operations"):
			p.kind = pathOperation
			return p, nil
		case eq(segs[6], "operationResults"):
			p.kind = pathOperationResult
			return p, nil
		}
	}
	if n < 7 || !eq(segs[2], "resourceGroups") || !eq(segs[4], "providers") {
		return armPath{}, fmt.Errorf("the request URI %q is not a supported ARM resource path", path)
	}
	p.rg, p.ns, p.typ = segs[3], canonicalNamespace(segs[5]), canonicalType(segs[6])
	for _, s := range segs[3:] {
		if s == "" {
			return armPath{}, fmt.Errorf("the request URI %q has an empty segment", path)
		}
	}
	switch n {
	case 7:
		p.kind = pathList
	case 8:
		p.kind, p.name = pathResource, segs[7]
	case 9:
		if a, ok := actions[strings.ToLower(p.typ+"/"+segs[8])]; ok {
			p.kind, p.name, p.action = pathAction, segs[7], a
			return p, nil
		}
		p.kind, p.name, p.childType = pathList, segs[7], segs[8]
	case 10:
		p.kind, p.name, p.childType, p.childName = pathResource, segs[7], segs[8], segs[9]
	default:
		return armPath{}, fmt.Errorf("the request URI %q is not a supported ARM resource path", path)
	}
	if p.childType != "" {
		if k, ok := p.child(); ok {
			p.childType = k.prop
		}
	}
	return p, nil
}
