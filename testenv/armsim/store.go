package armsim

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// resource is one stored top-level resource. Sub-resources (routes,
// ipConfigurations, subnets) live inline in body.properties, as in ARM.
type resource struct {
	id   string // casing of the first write
	ns   string
	typ  string // top-level type, canonical casing if known ("routeTables")
	body object // the JSON a GET returns
	op   *operation
}

func (r *resource) busy() bool { return r.op != nil && r.op.status == statusInProgress }

func (r *resource) props() object { return ensure(r.body, "properties") }

func (r *resource) childKind() (childKind, bool) {
	for k, v := range childKinds {
		if strings.HasPrefix(k, strings.ToLower(r.typ)+"/") {
			return v, true
		}
	}
	return childKind{}, false
}

func lastSegment(id string) string {
	if i := strings.LastIndex(id, "/"); i >= 0 {
		return id[i+1:]
	}
	return id
}

// normalize sets the fields ARM computes: id, name, type, and on each
// sub-resource its id, type, etag and provisioningState (NRP gives
// sub-resources the parent's etag and state).
func (r *resource) normalize() {
	b := r.body
	b["id"] = r.id
	b["name"] = lastSegment(r.id)
	b["type"] = r.ns + "/" + r.typ
	props := r.props()
	kind, ok := r.childKind()
	if !ok {
		return
	}
	for _, c := range objects(props, kind.prop) {
		name := str(c, "name")
		c["id"] = r.id + "/" + kind.prop + "/" + name
		c["type"] = r.ns + "/" + r.typ + "/" + kind.prop
		if et, ok := b["etag"]; ok {
			c["etag"] = et
		}
		if ps, ok := props["provisioningState"]; ok {
			ensure(c, "properties")["provisioningState"] = ps
		}
	}
}

func (r *resource) setState(state string) {
	r.props()["provisioningState"] = state
	r.normalize()
}

// findChild returns the index of the named sub-resource (case-insensitive).
func findChild(parent object, prop, name string) (object, int) {
	for i, c := range objects(sub(parent, "properties"), prop) {
		if strings.EqualFold(str(c, "name"), name) {
			return c, i
		}
	}
	return nil, -1
}

// lookup finds a resource or sub-resource by ID. child is nil for a top-level ID.
func (s *Sim) lookup(p armPath) (res *resource, child object) {
	res = s.resources[keyOf(p.parentID())]
	if res == nil || p.childType == "" {
		return res, nil
	}
	kind, ok := p.child()
	if !ok {
		return res, nil
	}
	child, _ = findChild(res.body, kind.prop, p.childName)
	return res, child
}

// displayID is the ID of the resource a path addresses, in stored casing when known.
func (s *Sim) displayID(path string) string {
	p, err := parsePath(path)
	if err != nil || p.kind != pathResource {
		return path
	}
	if rs, ok := s.privateDNSRecordSet(p); ok && rs != nil { // privatedns.go
		return rs.id
	}
	res, child := s.lookup(p)
	switch {
	case res != nil && p.childType == "":
		return res.id
	case child != nil:
		return str(child, "id")
	}
	return p.id()
}

func notFound(p armPath) response {
	t := p.ns + "/" + p.typ + "/" + p.name
	if p.childType != "" {
		t += "/" + p.childType + "/" + p.childName
	}
	return armError(http.StatusNotFound, "ResourceNotFound", fmt.Sprintf(
		"The Resource '%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
		t, p.rg))
}

func (s *Sim) get(p armPath) response {
	res, child := s.lookup(p)
	if res == nil {
		return notFound(p)
	}
	if p.childType == "" {
		return jsonResponse(http.StatusOK, res.body)
	}
	if child == nil {
		return notFound(p)
	}
	return jsonResponse(http.StatusOK, child)
}

func (s *Sim) list(p armPath) response {
	if p.name != "" {
		res := s.resources[keyOf(p.parentID())]
		if res == nil {
			return notFound(p)
		}
		kind, ok := p.child()
		if !ok {
			return notFound(p)
		}
		value := objects(res.props(), kind.prop)
		return jsonResponse(http.StatusOK, map[string]any{"value": value})
	}
	prefix := keyOf(p.parentID()) + "/"
	var keys []string
	for k := range s.resources {
		if strings.HasPrefix(k, prefix) && !strings.Contains(k[len(prefix):], "/") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	value := make([]any, 0, len(keys))
	for _, k := range keys {
		value = append(value, s.resources[k].body)
	}
	return jsonResponse(http.StatusOK, map[string]any{"value": value})
}

// Resource returns the current JSON of a resource or sub-resource, as a GET returns it.
func (s *Sim) Resource(id string) ([]byte, bool) {
	p, err := parsePath(id)
	if err != nil || p.kind != pathResource {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceNow()
	if rs, ok := s.privateDNSRecordSet(p); ok { // privatedns.go
		if rs == nil {
			return nil, false
		}
		return mustJSON(rs.body), true
	}
	res, child := s.lookup(p)
	switch {
	case res == nil:
		return nil, false
	case p.childType == "":
		return mustJSON(res.body), true
	case child != nil:
		return mustJSON(child), true
	}
	return nil, false
}

// Seed creates or replaces a resource (routeTables, networkInterfaces,
// publicIPAddresses, virtualNetworks, privateDnsZones, any other type as
// opaque JSON), a sub-resource (routes, ipConfigurations, subnets; the parent
// must exist) or a private DNS record set (.../privateDnsZones/{zone}/A/{name};
// the zone must exist; its etag is a plain GUID) from
// ARM JSON as a GET returns it. id, name and type may be omitted. Seed gives
// the resource a fresh etag (any etag in body is ignored, so re-seeding a
// resource makes a client's If-Match stale), sets provisioningState Succeeded
// unless body has one, and maintains public IP back-references. It is not
// logged as a client write and ignores faults, throttling and running operations.
func (s *Sim) Seed(id string, body []byte) error {
	p, err := parsePath(id)
	if err != nil {
		return fmt.Errorf("seed %s: %w", id, err)
	}
	if p.kind != pathResource {
		return fmt.Errorf("seed %s: not a resource ID", id)
	}
	in, err := decodeObject(body)
	if err != nil {
		return fmt.Errorf("seed %s: %w", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceNow()
	if err := s.seedLocked(p, in); err != nil {
		return fmt.Errorf("seed %s: %w", id, err)
	}
	return nil
}

func (s *Sim) seedLocked(p armPath, in object) error {
	for _, k := range []string{"etag", "id", "name", "type"} {
		delete(in, k)
	}
	if handled, err := s.seedPrivateDNS(&p, in); handled { // privatedns.go
		return err
	}
	if p.childType != "" {
		kind, ok := p.child()
		if !ok {
			return fmt.Errorf("sub-resource type %q of %s is not emulated", p.childType, p.typ)
		}
		res := s.resources[keyOf(p.parentID())]
		if res == nil {
			return fmt.Errorf("parent %s does not exist: seed it first", p.parentID())
		}
		newBody := copyObject(res.body)
		in["name"] = p.childName
		replaceChild(newBody, kind.prop, in)
		s.replaceBody(res, newBody)
		return nil
	}
	props := ensure(in, "properties")
	if _, ok := props["provisioningState"]; !ok {
		props["provisioningState"] = stateSucceeded
	}
	res := s.resources[keyOf(p.id())]
	if res == nil {
		res = &resource{id: p.id(), ns: p.ns, typ: p.typ}
		s.resources[keyOf(p.id())] = res
	}
	if kind, ok := res.childKind(); ok {
		for _, c := range objects(props, kind.prop) {
			if str(c, "name") == "" {
				return fmt.Errorf("a %s entry has no name", kind.prop)
			}
		}
	}
	if _, known := knownTypes[strings.ToLower(res.typ)]; known && str(props, "resourceGuid") == "" {
		// Azure gives these resources a resourceGuid at creation; without one
		// here the first PUT would seem to add it.
		props["resourceGuid"] = newUUID()
		if g := str(sub(res.body, "properties"), "resourceGuid"); g != "" {
			props["resourceGuid"] = g
		}
	}
	if strings.EqualFold(res.typ, "networkInterfaces") {
		nicDefaults(props)
	}
	if strings.EqualFold(res.typ, "publicIPAddresses") {
		if owner := s.pipOwner(res.id); owner != "" {
			props["ipConfiguration"] = map[string]any{"id": owner}
		}
	}
	s.replaceBody(res, in)
	return nil
}

// replaceBody installs a new body with a fresh etag and keeps public IP
// back-references in step with NIC ipConfigurations.
func (s *Sim) replaceBody(res *resource, newBody object) {
	old := res.body
	res.body = newBody
	res.body["etag"] = newETag()
	res.normalize()
	if strings.EqualFold(res.typ, "networkInterfaces") {
		s.updateBackRefs(res.id, old, res.body)
	}
}

// replaceChild puts child (which has a name) into parent.properties[prop],
// replacing an entry of the same name (case-insensitive) in place.
func replaceChild(parent object, prop string, child object) {
	props := ensure(parent, "properties")
	list := objects(props, prop)
	name := str(child, "name")
	for i, c := range list {
		if strings.EqualFold(str(c, "name"), name) {
			child["name"] = str(c, "name")
			list[i] = child
			setObjects(props, prop, list)
			return
		}
	}
	setObjects(props, prop, append(list, child))
}

func removeChild(parent object, prop, name string) {
	props := ensure(parent, "properties")
	list := objects(props, prop)
	out := list[:0]
	for _, c := range list {
		if !strings.EqualFold(str(c, "name"), name) {
			out = append(out, c)
		}
	}
	setObjects(props, prop, out)
}

// pipRefs maps the lower-cased public IP IDs a NIC body references to the
// referencing ipConfiguration's ID.
func pipRefs(nicID string, body object) map[string]string {
	refs := map[string]string{}
	for _, ipc := range objects(sub(body, "properties"), "ipConfigurations") {
		if pip := refID(sub(ipc, "properties"), "publicIPAddress"); pip != "" {
			refs[keyOf(pip)] = nicID + "/ipConfigurations/" + str(ipc, "name")
		}
	}
	return refs
}

// updateBackRefs keeps publicIPAddresses' read-only properties.ipConfiguration
// in step with a NIC's ipConfigurations (set on attach, removed on detach).
func (s *Sim) updateBackRefs(nicID string, oldBody, newBody object) {
	oldRefs := map[string]string{}
	if oldBody != nil {
		oldRefs = pipRefs(nicID, oldBody)
	}
	newRefs := map[string]string{}
	if newBody != nil {
		newRefs = pipRefs(nicID, newBody)
	}
	nicPrefix := keyOf(nicID) + "/"
	for pipKey := range oldRefs {
		if _, still := newRefs[pipKey]; still {
			continue
		}
		if pip := s.resources[pipKey]; pip != nil {
			if strings.HasPrefix(keyOf(refID(pip.props(), "ipConfiguration")), nicPrefix) {
				delete(pip.props(), "ipConfiguration")
			}
		}
	}
	for pipKey, ipc := range newRefs {
		if pip := s.resources[pipKey]; pip != nil {
			pip.props()["ipConfiguration"] = map[string]any{"id": ipc}
		}
	}
}

// pipOwner returns the ID of the NIC ipConfiguration referencing a public IP, or "".
func (s *Sim) pipOwner(pipID string) string {
	keys := make([]string, 0, len(s.resources))
	for k, r := range s.resources {
		if strings.EqualFold(r.typ, "networkInterfaces") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		nic := s.resources[k]
		if ipc, ok := pipRefs(nic.id, nic.body)[keyOf(pipID)]; ok {
			return ipc
		}
	}
	return ""
}
