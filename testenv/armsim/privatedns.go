package armsim

import (
	"fmt"
	"net/http"
	"net/netip"
	"reflect"
	"sort"
	"strings"
)

// Private DNS (Microsoft.Network/privateDnsZones, api-version 2024-06-01,
// armprivatedns v1.3.0): the zone is an ordinary armsim resource (PUT and
// DELETE are long-running operations, PATCH of tags is synchronous, as in
// PrivateZones_CreateOrUpdate/Delete/Update); its record sets
// ({zone}/{recordType}/{name}) are handled here. The REST specification
// (Azure/azure-rest-api-specs, specification/privatedns/.../RecordSet.tsp)
// makes every record set operation synchronous: CreateOrUpdate is
// CreateOrUpdateSync (200 or 201 with the record set), Update (PATCH) answers
// 200, Delete is DeleteSync (200, or 204 if there was nothing to delete).
// No Azure-AsyncOperation, no provisioningState, nothing to poll
// (docs/azure-behaviour.md#private-dns).
//
// Record sets are stored in s.resources under their own lower-cased ID
// (.../privateDnsZones/{zone}/{TYPE}/{name}), with typ "privateDnsZones/A" and
// so on; they never show up in a listing of top-level resources, which skips
// keys with a further "/".

const typePrivateDNSZones = "privateDnsZones"

// dnsRecordTypes are the record types of api-version 2024-06-01, Azure's casing.
var dnsRecordTypes = []string{"A", "AAAA", "CNAME", "MX", "PTR", "SOA", "SRV", "TXT"}

func dnsRecordType(t string) (string, bool) {
	for _, c := range dnsRecordTypes {
		if strings.EqualFold(c, t) {
			return c, true
		}
	}
	return "", false
}

func isPrivateDNSZone(p armPath) bool {
	return strings.EqualFold(p.ns, "Microsoft.Network") && strings.EqualFold(p.typ, typePrivateDNSZones)
}

// routePrivateDNS answers requests to private DNS zones and record sets;
// ok is false for any other path (the generic handlers answer those).
func (s *Sim) routePrivateDNS(rc *reqCtx, p armPath) (response, bool) {
	if !isPrivateDNSZone(p) {
		return response{}, false
	}
	p.typ = typePrivateDNSZones
	switch {
	case p.kind == pathResource && p.childType == "":
		switch rc.method {
		case http.MethodDelete:
			return s.deletePrivateDNSZone(rc, p), true
		case http.MethodPut:
			return s.putPrivateDNSZone(rc, p), true
		}
		return response{}, false // the zone itself: generic GET/PATCH
	case p.kind == pathList && p.childType == "":
		return response{}, false
	case p.kind == pathList:
		if rc.method != http.MethodGet {
			return methodNotAllowed(rc.method), true
		}
		return s.listRecordSets(p), true
	case p.kind == pathResource:
		switch rc.method {
		case http.MethodGet:
			return s.getRecordSet(p), true
		case http.MethodPut:
			return s.putRecordSet(rc, p), true
		case http.MethodPatch:
			return s.patchRecordSet(rc, p), true
		case http.MethodDelete:
			return s.deleteRecordSet(rc, p), true
		}
		return methodNotAllowed(rc.method), true
	}
	return response{}, false
}

// recordSetRef is a record set path resolved against the stored zone.
type recordSetRef struct {
	zone  *resource
	typ   string // "A", "AAAA", ...
	id    string // in the zone's stored casing, name lower-cased
	key   string
	name  string // lower-cased relative name, "@" for the apex
	fqdn  string
	valid bool
}

// resolveRecordSet finds the zone of a record set path. Errors: 400 for an
// unknown record type, 404 ParentResourceNotFound for a missing zone.
func (s *Sim) resolveRecordSet(p armPath) (recordSetRef, response, bool) {
	typ, ok := dnsRecordType(p.childType)
	if !ok {
		return recordSetRef{}, badRequest("BadRequest", fmt.Sprintf(
			"The record type '%s' is not supported. Supported record types: %s.", p.childType, strings.Join(dnsRecordTypes, ", "))), false
	}
	zone := s.resources[keyOf(p.parentID())]
	if zone == nil {
		// docs/azure-behaviour.md#private-dns: ParentResourceNotFound.
		return recordSetRef{}, armError(http.StatusNotFound, "ParentResourceNotFound", fmt.Sprintf(
			"Can not perform requested operation on nested resource. Parent resource '%s' not found.", p.name)), false
	}
	s.ensureSOA(zone)
	ref := recordSetRef{zone: zone, typ: typ, valid: true}
	if p.childName != "" {
		ref.name = strings.ToLower(p.childName)
		ref.id = zone.id + "/" + typ + "/" + ref.name
		ref.key = keyOf(ref.id)
		zoneName := lastSegment(zone.id)
		ref.fqdn = ref.name + "." + zoneName + "."
		if ref.name == "@" {
			ref.fqdn = zoneName + "."
		}
	}
	return ref, response{}, true
}

// ensureSOA gives a zone the SOA record set "@" Azure creates with it
// (Record Sets - Create Or Update: SOA record sets "can be updated but not
// created"), with the values of the REST example RecordSetSOAGet.json. It is
// created on first use of the zone's record sets, not logged.
func (s *Sim) ensureSOA(zone *resource) {
	id := zone.id + "/SOA/@"
	if s.resources[keyOf(id)] != nil {
		return
	}
	rs := &resource{id: id, ns: zone.ns, typ: typePrivateDNSZones + "/SOA"}
	// Decoded like a client's body, so numbers compare equal to what a PUT stores.
	body, err := decodeObject([]byte(`{"properties":{"ttl":3600,"isAutoRegistered":false,"soaRecord":{
		"email":"azureprivatedns-hostmaster.microsoft.com","expireTime":2419200,"host":"azureprivatedns.net",
		"minimumTtl":300,"refreshTime":3600,"retryTime":300,"serialNumber":1}}}`))
	if err != nil {
		panic("armsim: SOA template: " + err.Error())
	}
	ensure(body, "properties")["fqdn"] = lastSegment(zone.id) + "."
	rs.body = body
	rs.normalize()
	rs.body["etag"] = newUUID()
	s.resources[keyOf(id)] = rs
}

// soaRule refuses what Azure does not allow with the SOA record set: one
// other than the apex "@" (SOA record sets are created with the zone, at its
// apex), or deleting it. Codes and messages unverified.
func soaRule(ref recordSetRef, deleting bool) (response, bool) {
	if ref.typ != "SOA" {
		return response{}, true
	}
	if ref.name != "@" {
		return badRequest("BadRequest", fmt.Sprintf(
			"SOA record sets can be updated but not created: the only SOA record set of zone '%s' is '@'.", lastSegment(ref.zone.id))), false
	}
	if deleting {
		return badRequest("BadRequest", "The SOA record set of a zone cannot be deleted."), false
	}
	return response{}, true
}

func recordSetNotFound(p armPath, ref recordSetRef) response {
	// docs/azure-behaviour.md#private-dns: NotFound, message as Azure/azure-cli#27374 shows it.
	return armError(http.StatusNotFound, "NotFound", fmt.Sprintf(
		"The resource record '%s' does not exist in resource group '%s' of subscription '%s'.",
		strings.TrimSuffix(ref.fqdn, "."), p.rg, p.sub))
}

func (s *Sim) getRecordSet(p armPath) response {
	ref, resp, ok := s.resolveRecordSet(p)
	if !ok {
		return resp
	}
	rs := s.resources[ref.key]
	if rs == nil {
		return recordSetNotFound(p, ref)
	}
	return jsonResponse(http.StatusOK, rs.body)
}

func (s *Sim) listRecordSets(p armPath) response {
	all := strings.EqualFold(p.childType, "ALL")
	if all {
		p.childType = "A" // any valid type, to resolve the zone
	}
	ref, resp, ok := s.resolveRecordSet(p)
	if !ok {
		return resp
	}
	prefix := keyOf(ref.zone.id) + "/"
	if !all {
		prefix += strings.ToLower(ref.typ) + "/"
	}
	var keys []string
	for k, r := range s.resources {
		if strings.HasPrefix(k, prefix) && strings.HasPrefix(strings.ToLower(r.typ), "privatednszones/") {
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

// checkRecordSetPreconditions applies the record set's If-Match and
// If-None-Match (RecordSet.tsp: If-None-Match "*" creates only, "other values
// will be ignored"). Record set etags are plain GUIDs; a W/ prefix or quotes
// in the header are tolerated.
func checkRecordSetPreconditions(rc *reqCtx, rs *resource, allowNoneMatch bool) (response, bool) {
	if im := strings.TrimSpace(rc.ifMatch); im != "" {
		if rs == nil {
			return armError(http.StatusPreconditionFailed, "PreconditionFailed", fmt.Sprintf(
				"The condition '%s' in the If-Match header was not satisfied: the record set does not exist.", im)), false
		}
		cur := str(rs.body, "etag")
		if im != "*" && !dnsETagMatches(im, cur) {
			// docs/azure-behaviour.md#private-dns: 412 PreconditionFailed.
			return armError(http.StatusPreconditionFailed, "PreconditionFailed", fmt.Sprintf(
				"The condition '%s' in the If-Match header was not satisfied. The current was '%s'.", im, cur)), false
		}
	}
	if allowNoneMatch && strings.TrimSpace(rc.ifNoneMatch) == "*" && rs != nil {
		// docs/azure-behaviour.md#private-dns: message observed on Azure DNS.
		return armError(http.StatusPreconditionFailed, "PreconditionFailed",
			"The condition '*' in the If-None-Match header was satisfied. The record set already exists."), false
	}
	return response{}, true
}

func dnsETagMatches(header, etag string) bool {
	norm := func(e string) string { return strings.Trim(strings.TrimPrefix(strings.TrimSpace(e), "W/"), `"`) }
	for _, e := range strings.Split(header, ",") {
		if norm(e) == norm(etag) {
			return true
		}
	}
	return false
}

// validateRecordSet checks the records of a record set body's properties.
// Only A and AAAA records are checked; the others are stored as given.
func validateRecordSet(typ string, props object) (response, bool) {
	if ttl, ok := props["ttl"]; ok && ttl != nil {
		n, isNum := ttl.(interface{ Int64() (int64, error) })
		if !isNum {
			return badRequest("BadRequest", "The TTL must be an integer."), false
		}
		if v, err := n.Int64(); err != nil || v < 0 || v > 2147483647 {
			return badRequest("BadRequest", fmt.Sprintf("The TTL %v is out of range: it must be between 0 and 2147483647.", ttl)), false
		}
	}
	if md, ok := props["metadata"]; ok && md != nil {
		m, isObj := md.(map[string]any)
		if !isObj {
			return badRequest("BadRequest", "The metadata must be a JSON object of strings."), false
		}
		for k, v := range m {
			if _, isStr := v.(string); !isStr && v != nil {
				return badRequest("BadRequest", fmt.Sprintf("The metadata value of %q must be a string.", k)), false
			}
		}
	}
	check := func(listProp, field string, want4 bool) (response, bool) {
		seen := map[netip.Addr]bool{}
		for _, r := range objects(props, listProp) {
			a, err := netip.ParseAddr(str(r, field))
			if err != nil || a.Zone() != "" || a.Is4() != want4 {
				return badRequest("BadRequest", fmt.Sprintf(
					"The value '%s' of '%s' in a record of type '%s' is not a valid IPv%s address.", str(r, field), field, typ, map[bool]string{true: "4", false: "6"}[want4])), false
			}
			if seen[a] {
				// docs/azure-behaviour.md#private-dns: message from Azure/azure-cli#22886.
				return badRequest("BadRequest", fmt.Sprintf(
					"The list of record sets of type '%s' may not contain multiple entries with the same '%s'.", typ, field)), false
			}
			seen[a] = true
		}
		return response{}, true
	}
	switch typ {
	case "A":
		return check("aRecords", "ipv4Address", true)
	case "AAAA":
		return check("aaaaRecords", "ipv6Address", false)
	}
	return response{}, true
}

// installRecordSet stores body as the record set's new state with a fresh
// etag and the read-only fields, and logs the write as accepted and succeeded
// (the operation is synchronous).
func (s *Sim) installRecordSet(rc *reqCtx, ref recordSetRef, body object, status int) *resource {
	rs := s.resources[ref.key]
	var old object
	if rs == nil {
		rs = &resource{id: ref.id, ns: ref.zone.ns, typ: typePrivateDNSZones + "/" + ref.typ}
		s.resources[ref.key] = rs
	} else {
		old = rs.body
	}
	props := ensure(body, "properties")
	delete(props, "provisioningState")
	props["fqdn"] = ref.fqdn
	props["isAutoRegistered"] = false
	rs.body = body
	rs.normalize()
	rs.body["etag"] = newUUID()
	ev := Event{
		Time: rc.now, Kind: KindWriteAccepted, Method: rc.method, ResourceID: rs.id,
		Client: rc.client, ClientRequestID: rc.clientRequestID, Status: status,
		Changes: describeRecordSetChanges(old, rs.body),
	}
	s.addEvent(ev)
	ev.Kind = KindWriteSucceeded
	s.addEvent(ev)
	return rs
}

// putRecordSet handles RecordSets_CreateOrUpdate: a full replace, 201 on
// create and 200 on update, with the record set in the body.
func (s *Sim) putRecordSet(rc *reqCtx, p armPath) response {
	ref, resp, ok := s.resolveRecordSet(p)
	if !ok {
		return resp
	}
	in, err := decodeObject(rc.body)
	if err != nil {
		return badRequest("InvalidRequestContent", "The request content was invalid and could not be deserialized: "+err.Error())
	}
	if resp, ok := soaRule(ref, false); !ok {
		return resp
	}
	rs := s.resources[ref.key]
	if resp, ok := checkRecordSetPreconditions(rc, rs, true); !ok {
		return resp
	}
	body := copyObject(in)
	for _, k := range []string{"etag", "id", "name", "type"} {
		delete(body, k)
	}
	if resp, ok := validateRecordSet(ref.typ, ensure(body, "properties")); !ok {
		return resp
	}
	status := http.StatusOK
	if rs == nil {
		status = http.StatusCreated
	}
	rs = s.installRecordSet(rc, ref, body, status)
	return jsonResponse(status, rs.body)
}

// patchRecordSet handles RecordSets_Update: each property present in the
// body replaces the stored one (RecordSetAPatch.json: a PATCH with only
// metadata keeps the A records and replaces the whole metadata map); 200.
func (s *Sim) patchRecordSet(rc *reqCtx, p armPath) response {
	ref, resp, ok := s.resolveRecordSet(p)
	if !ok {
		return resp
	}
	in, err := decodeObject(rc.body)
	if err != nil {
		return badRequest("InvalidRequestContent", "The request content was invalid and could not be deserialized: "+err.Error())
	}
	rs := s.resources[ref.key]
	if rs == nil && strings.TrimSpace(rc.ifMatch) == "" {
		return recordSetNotFound(p, ref)
	}
	if resp, ok := checkRecordSetPreconditions(rc, rs, false); !ok {
		return resp
	}
	body := copyObject(rs.body)
	props := ensure(body, "properties")
	for k, v := range sub(in, "properties") {
		if k == "fqdn" || k == "isAutoRegistered" {
			continue
		}
		props[k] = deepCopy(v)
	}
	if resp, ok := validateRecordSet(ref.typ, props); !ok {
		return resp
	}
	rs = s.installRecordSet(rc, ref, body, http.StatusOK)
	return jsonResponse(http.StatusOK, rs.body)
}

// deleteRecordSet handles RecordSets_Delete: 200 when a record set was
// deleted, 204 when there was none.
func (s *Sim) deleteRecordSet(rc *reqCtx, p armPath) response {
	ref, resp, ok := s.resolveRecordSet(p)
	if !ok {
		return resp
	}
	if resp, ok := soaRule(ref, true); !ok {
		return resp
	}
	rs := s.resources[ref.key]
	if rs == nil && strings.TrimSpace(rc.ifMatch) == "" {
		return response{status: http.StatusNoContent}
	}
	if resp, ok := checkRecordSetPreconditions(rc, rs, false); !ok {
		return resp
	}
	delete(s.resources, ref.key)
	ev := Event{
		Time: rc.now, Kind: KindWriteAccepted, Method: rc.method, ResourceID: rs.id,
		Client: rc.client, ClientRequestID: rc.clientRequestID, Status: http.StatusOK,
		Changes: []string{"deleted"},
	}
	s.addEvent(ev)
	ev.Kind = KindWriteSucceeded
	s.addEvent(ev)
	return response{status: http.StatusOK}
}

// putPrivateDNSZone is the generic PUT (an operation) without the
// resourceGuid Microsoft.Network gives its other resources: a private zone
// has none (PrivateZonePut.json).
func (s *Sim) putPrivateDNSZone(rc *reqCtx, p armPath) response {
	resp := s.put(rc, p)
	if res := s.resources[keyOf(p.id())]; res != nil && resp.status < 300 {
		delete(res.props(), "resourceGuid")
		resp.body = mustJSON(res.body)
	}
	return resp
}

// deletePrivateDNSZone deletes the zone as any resource (202 and an
// operation) and its record sets with it, at once.
func (s *Sim) deletePrivateDNSZone(rc *reqCtx, p armPath) response {
	resp := s.delete(rc, p)
	if resp.status != http.StatusAccepted {
		return resp
	}
	prefix := keyOf(p.id()) + "/"
	for k, r := range s.resources {
		if strings.HasPrefix(k, prefix) && strings.HasPrefix(strings.ToLower(r.typ), "privatednszones/") {
			delete(s.resources, k)
		}
	}
	return resp
}

// privateDNSRecordSet returns the stored record set a path addresses;
// handled is false if the path is not a record set path.
func (s *Sim) privateDNSRecordSet(p armPath) (rs *resource, handled bool) {
	if !isPrivateDNSZone(p) || p.kind != pathResource || p.childType == "" {
		return nil, false
	}
	typ, ok := dnsRecordType(p.childType)
	if !ok {
		return nil, true
	}
	return s.resources[keyOf(p.parentID()+"/"+typ+"/"+strings.ToLower(p.childName))], true
}

// seedPrivateDNS seeds a record set (the zone must exist); handled is false
// for any other ID.
func (s *Sim) seedPrivateDNS(p *armPath, in object) (handled bool, err error) {
	if !isPrivateDNSZone(*p) {
		return false, nil
	}
	p.typ = typePrivateDNSZones
	if p.childType == "" {
		return false, nil // the zone: an ordinary resource
	}
	ref, resp, ok := s.resolveRecordSet(*p)
	if !ok {
		code, _ := errorCode(resp.body)
		return true, fmt.Errorf("record set %s: %s", p.id(), code)
	}
	if resp, ok := validateRecordSet(ref.typ, ensure(in, "properties")); !ok {
		code, _ := errorCode(resp.body)
		return true, fmt.Errorf("record set %s: %s: %s", p.id(), code, resp.body)
	}
	rs := s.resources[ref.key]
	if rs == nil {
		rs = &resource{id: ref.id, ns: ref.zone.ns, typ: typePrivateDNSZones + "/" + ref.typ}
		s.resources[ref.key] = rs
	}
	props := ensure(in, "properties")
	props["fqdn"] = ref.fqdn
	props["isAutoRegistered"] = false
	rs.body = in
	rs.normalize()
	rs.body["etag"] = newUUID()
	return true, nil
}

// describeRecordSetChanges lists what a record set write changed, e.g.
// `aRecords 10.0.1.4 -> 10.0.1.5` or `metadata "owner" "a" -> "b"`.
func describeRecordSetChanges(old, cur object) []string {
	var out []string
	if old == nil {
		out = append(out, "created")
	}
	op, cp := sub(old, "properties"), sub(cur, "properties")
	addrs := func(props object, list, field string) string {
		var a []string
		for _, r := range objects(props, list) {
			a = append(a, str(r, field))
		}
		if len(a) == 0 {
			return "(none)"
		}
		return strings.Join(a, ",")
	}
	for _, f := range [][2]string{{"aRecords", "ipv4Address"}, {"aaaaRecords", "ipv6Address"}} {
		if a, b := addrs(op, f[0], f[1]), addrs(cp, f[0], f[1]); a != b {
			out = append(out, fmt.Sprintf("%s %s -> %s", f[0], a, b))
		}
	}
	if a, b := display(op["ttl"]), display(cp["ttl"]); a != b {
		out = append(out, fmt.Sprintf("ttl %s -> %s", a, b))
	}
	for _, line := range describeTags(sub(op, "metadata"), sub(cp, "metadata")) {
		out = append(out, "metadata"+strings.TrimPrefix(line, "tag"))
	}
	strip := func(props object) object {
		c := copyObject(props)
		if c == nil {
			c = object{}
		}
		for _, k := range []string{"aRecords", "aaaaRecords", "ttl", "metadata", "fqdn", "isAutoRegistered"} {
			delete(c, k)
		}
		return c
	}
	if old != nil && !reflect.DeepEqual(strip(op), strip(cp)) {
		out = append(out, "properties changed")
	}
	return out
}
