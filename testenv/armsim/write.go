package armsim

import (
	"fmt"
	"net/http"
	"strings"
)

// checkPreconditions applies If-Match / If-None-Match
// (docs/azure-behaviour.md#arm-etag): If-Match
// on a missing resource or with another etag -> 412; If-None-Match: * on an
// existing resource -> 412. ETags compare with the weak prefix ignored.
func checkPreconditions(rc *reqCtx, exists bool, etag string) (response, bool) {
	if rc.ifMatch != "" {
		if !exists {
			return armError(http.StatusPreconditionFailed, "PreconditionFailed",
				"The resource does not exist, but the request has an If-Match condition: "+rc.ifMatch+"."), false
		}
		if strings.TrimSpace(rc.ifMatch) != "*" && !etagListContains(rc.ifMatch, etag) {
			return armError(http.StatusPreconditionFailed, "PreconditionFailed", fmt.Sprintf(
				"The condition specified using HTTP conditional header(s) is not met: If-Match %s does not match the current etag %s.",
				rc.ifMatch, etag)), false
		}
	}
	if rc.ifNoneMatch != "" && exists {
		if strings.TrimSpace(rc.ifNoneMatch) == "*" || etagListContains(rc.ifNoneMatch, etag) {
			return armError(http.StatusPreconditionFailed, "PreconditionFailed",
				"The condition specified using HTTP conditional header(s) is not met: the resource already exists."), false
		}
	}
	return response{}, true
}

func etagListContains(header, etag string) bool {
	want := strings.TrimPrefix(etag, "W/")
	for _, e := range strings.Split(header, ",") {
		if strings.TrimPrefix(strings.TrimSpace(e), "W/") == want {
			return true
		}
	}
	return false
}

// conflict is Microsoft.Network's answer to a write on a resource whose
// previous operation is still running (docs/azure-behaviour.md#arm-conflicts:
// 409 AnotherOperationInProgress).
func conflict(res *resource) response {
	return armError(http.StatusConflict, "AnotherOperationInProgress", fmt.Sprintf(
		"Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: operation %s on resource %s.",
		res.op.id, res.id))
}

// put handles PUT of a top-level resource or a sub-resource: a full replace
// accepted as a long-running operation.
func (s *Sim) put(rc *reqCtx, p armPath) response {
	in, err := decodeObject(rc.body)
	if err != nil {
		return badRequest("InvalidRequestContent", "The request content was invalid and could not be deserialized: "+err.Error())
	}
	if p.childType != "" {
		return s.putChild(rc, p, in)
	}
	existing := s.resources[keyOf(p.id())]
	if resp, ok := checkPreconditions(rc, existing != nil, etagOf(existing)); !ok {
		return resp
	}
	if existing != nil && existing.busy() {
		return conflict(existing)
	}
	id, typ := p.id(), p.typ
	var oldBody object
	if existing != nil {
		id, typ, oldBody = existing.id, existing.typ, existing.body
	}
	newBody, resp, ok := s.prepare(id, typ, oldBody, in)
	if !ok {
		return resp
	}
	res := existing
	if res == nil {
		res = &resource{id: p.id(), ns: p.ns, typ: p.typ}
	}
	return s.commit(rc, res, newBody, "", res.id)
}

// putChild handles PUT of routes/{name}, ipConfigurations/{name} or
// subnets/{name}: the parent is rewritten with the sub-resource replaced.
func (s *Sim) putChild(rc *reqCtx, p armPath, in object) response {
	kind, ok := p.child()
	if !ok {
		return notFound(p)
	}
	parent := s.resources[keyOf(p.parentID())]
	if parent == nil {
		return notFound(armPath{ns: p.ns, typ: p.typ, name: p.name, rg: p.rg})
	}
	child, _ := findChild(parent.body, kind.prop, p.childName)
	if resp, ok := checkPreconditions(rc, child != nil, str(child, "etag")); !ok {
		return resp
	}
	if parent.busy() {
		return conflict(parent)
	}
	name := p.childName
	if child != nil {
		name = str(child, "name")
	}
	in["name"] = name
	parentIn := copyObject(parent.body)
	replaceChild(parentIn, kind.prop, in)
	newBody, resp, ok := s.prepare(parent.id, parent.typ, parent.body, parentIn)
	if !ok {
		return resp
	}
	return s.commit(rc, parent, newBody, name, parent.id+"/"+kind.prop+"/"+name)
}

func etagOf(r *resource) string {
	if r == nil {
		return ""
	}
	return str(r.body, "etag")
}

// prepare turns a PUT body into the resource's next state: read-only fields
// are dropped from the input (never a 400) and kept from the stored state,
// defaults are filled, and cross-resource rules are checked.
func (s *Sim) prepare(id, typ string, old, in object) (object, response, bool) {
	body := copyObject(in)
	for _, k := range []string{"etag", "id", "name", "type"} {
		delete(body, k)
	}
	loc := str(body, "location")
	if loc == "" {
		return nil, badRequest("LocationRequired", "The location property is required for this definition."), false
	}
	if old != nil && !sameLocation(loc, str(old, "location")) {
		return nil, badRequest("InvalidResourceLocation", fmt.Sprintf(
			"The resource '%s' already exists in location '%s'. A resource with the same name cannot be created in location '%s'.",
			lastSegment(id), str(old, "location"), loc)), false
	}
	props := ensure(body, "properties")
	oldProps := sub(old, "properties")
	delete(props, "provisioningState")
	delete(props, "resourceGuid")
	if g := str(oldProps, "resourceGuid"); g != "" {
		props["resourceGuid"] = g
	} else {
		props["resourceGuid"] = newUUID()
	}
	if k, ok := (&resource{typ: typ}).childKind(); ok {
		seen := map[string]bool{}
		for _, c := range objects(props, k.prop) {
			name := str(c, "name")
			if name == "" {
				return nil, badRequest("InvalidRequestFormat", fmt.Sprintf("Every entry of %s needs a name.", k.prop)), false
			}
			if seen[strings.ToLower(name)] {
				return nil, badRequest("InvalidRequestFormat", fmt.Sprintf("%s has two entries named %q.", k.prop, name)), false
			}
			seen[strings.ToLower(name)] = true
			for _, f := range []string{"etag", "id", "type"} {
				delete(c, f)
			}
			delete(ensure(c, "properties"), "provisioningState")
		}
	}
	switch strings.ToLower(typ) {
	case "routetables":
		carry(props, oldProps, "subnets")
		if resp, ok := validateRoutes(id, props); !ok {
			return nil, resp, false
		}
	case "networkinterfaces":
		for _, k := range []string{"macAddress", "virtualMachine", "hostedWorkloads", "vnetEncryptionSupported", "tapConfigurations", "privateEndpoint"} {
			carry(props, oldProps, k)
		}
		if resp, ok := s.prepareNIC(id, props); !ok {
			return nil, resp, false
		}
	case "publicipaddresses":
		carry(props, oldProps, "ipConfiguration")
		s.preparePIP(body, props, oldProps)
	case "loadbalancers":
		if resp, ok := s.prepareLoadBalancer(id, body, props); !ok { // loadbalancer.go
			return nil, resp, false
		}
	case "virtualnetworks":
		for _, sn := range objects(props, "subnets") {
			oldSubnet, _ := findChild(old, "subnets", str(sn, "name"))
			snProps := ensure(sn, "properties")
			carry(snProps, sub(oldSubnet, "properties"), "ipConfigurations")
		}
	}
	return body, response{}, true
}

// carry replaces props[key] (read-only, set by the platform) by the stored value.
func carry(props, oldProps object, key string) {
	delete(props, key)
	if v, ok := oldProps[key]; ok {
		props[key] = deepCopy(v)
	}
}

func sameLocation(a, b string) bool {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "")) }
	return norm(a) == norm(b)
}

// commit installs newBody as res's state with a running operation and answers
// the PUT: 201 on create, 200 on update, body = the resource (or the
// sub-resource childName) with provisioningState Creating/Updating.
func (s *Sim) commit(rc *reqCtx, res *resource, newBody object, childName, addressedID string) response {
	created := false
	var oldBody object
	if s.resources[keyOf(res.id)] == nil {
		s.resources[keyOf(res.id)] = res
		created = true
	} else {
		oldBody = res.body
	}
	state := stateUpdating
	if created {
		state = stateCreating
	}
	ensure(newBody, "properties")["provisioningState"] = state
	s.replaceBody(res, newBody)

	changes := describeChanges(res.typ, oldBody, res.body)
	ev := Event{
		Time: rc.now, Kind: KindWriteAccepted, Method: rc.method, ResourceID: addressedID,
		Client: rc.client, ClientRequestID: rc.clientRequestID, Changes: changes,
	}
	status := http.StatusOK
	if childName != "" {
		kind, _ := res.childKind()
		if c, _ := findChild(oldBody, kind.prop, childName); c == nil {
			status = http.StatusCreated
		}
	} else if created {
		status = http.StatusCreated
	}
	ev.Status = status
	op := s.startOperation(rc, res, oldBody, false, ev)
	s.addEvent(ev)

	var out any = res.body
	if childName != "" {
		kind, _ := res.childKind()
		out, _ = findChild(res.body, kind.prop, childName)
	}
	resp := jsonResponse(status, out)
	s.lroHeaders(rc, &resp, op, false)
	return resp
}

// patchTags handles UpdateTags: PATCH {"tags":{...}}, synchronous 200
// (docs/azure-behaviour.md#arm-put). It is logged as write_accepted
// immediately followed by
// write_succeeded.
func (s *Sim) patchTags(rc *reqCtx, p armPath) response {
	if p.childType != "" {
		return methodNotAllowed(rc.method)
	}
	res := s.resources[keyOf(p.id())]
	if res == nil {
		return notFound(p)
	}
	if resp, ok := checkPreconditions(rc, true, etagOf(res)); !ok {
		return resp
	}
	if res.busy() {
		return conflict(res)
	}
	in, err := decodeObject(rc.body)
	if err != nil {
		return badRequest("InvalidRequestContent", "The request content was invalid and could not be deserialized: "+err.Error())
	}
	tags, present := in["tags"]
	if _, isObj := tags.(map[string]any); present && tags != nil && !isObj {
		return badRequest("InvalidRequestFormat", "tags must be a JSON object.")
	}
	newBody := copyObject(res.body)
	if tags == nil {
		delete(newBody, "tags")
	} else {
		newBody["tags"] = deepCopy(tags)
	}
	old := res.body
	s.replaceBody(res, newBody)
	ev := Event{
		Time: rc.now, Kind: KindWriteAccepted, Method: rc.method, ResourceID: res.id,
		Client: rc.client, ClientRequestID: rc.clientRequestID, Status: http.StatusOK,
		Changes: describeChanges(res.typ, old, res.body),
	}
	s.addEvent(ev)
	ev.Kind = KindWriteSucceeded
	s.addEvent(ev)
	return jsonResponse(http.StatusOK, res.body)
}

// delete handles DELETE: 202 with Azure-AsyncOperation and Location; the
// resource shows Deleting until the operation completes. A missing resource is 204.
func (s *Sim) delete(rc *reqCtx, p armPath) response {
	res, child := s.lookup(p)
	if res == nil || (p.childType != "" && child == nil) {
		return response{status: http.StatusNoContent}
	}
	etag := etagOf(res)
	if child != nil {
		etag = str(child, "etag")
	}
	if resp, ok := checkPreconditions(rc, true, etag); !ok {
		return resp
	}
	if res.busy() {
		return conflict(res)
	}
	ev := Event{
		Time: rc.now, Kind: KindWriteAccepted, Method: rc.method, Client: rc.client,
		ClientRequestID: rc.clientRequestID, Status: http.StatusAccepted,
	}
	var op *operation
	if child != nil {
		kind, _ := p.child()
		ev.ResourceID = str(child, "id")
		newBody := copyObject(res.body)
		removeChild(newBody, kind.prop, str(child, "name"))
		ensure(newBody, "properties")["provisioningState"] = stateUpdating
		old := res.body
		s.replaceBody(res, newBody)
		ev.Changes = describeChanges(res.typ, old, res.body)
		op = s.startOperation(rc, res, old, false, ev)
	} else {
		ev.ResourceID = res.id
		if strings.EqualFold(res.typ, "publicIPAddresses") {
			if owner := refID(res.props(), "ipConfiguration"); owner != "" {
				return badRequest("PublicIPAddressCannotBeDeleted", fmt.Sprintf(
					"Public IP address %s can not be deleted since it is still allocated to resource %s. In order to delete the public IP, disassociate/detach the Public IP address from the resource.",
					res.id, owner))
			}
		}
		if strings.EqualFold(res.typ, "networkInterfaces") {
			s.updateBackRefs(res.id, res.body, nil)
		}
		prev := copyObject(res.body)
		res.setState(stateDeleting)
		ev.Changes = []string{"deleted"}
		op = s.startOperation(rc, res, prev, true, ev)
	}
	s.addEvent(ev)
	resp := response{status: http.StatusAccepted}
	s.lroHeaders(rc, &resp, op, true)
	return resp
}
