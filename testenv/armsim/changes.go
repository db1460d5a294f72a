package armsim

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// childFields are the sub-resource properties described one by one in
// events; any other difference in a sub-resource is "properties changed".
var childFields = map[string][]string{
	"routes":           {"addressPrefix", "nextHopType", "nextHopIpAddress"},
	"ipConfigurations": {"privateIPAddress", "publicIPAddress"},
	"subnets":          nil,
}

// childLabel is how events name a sub-resource kind.
var childLabel = map[string]string{"routes": "route", "ipConfigurations": "ipconfig", "subnets": "subnet"}

// topFields are resource properties described one by one.
var topFields = map[string][]string{
	"networkinterfaces": {"enableIPForwarding"},
	"publicipaddresses": {"ipAddress"},
}

// describeChanges lists human-readable differences between two states of a
// resource, e.g. `route "default" nextHopIpAddress 10.0.1.4 -> 10.0.1.5` or
// `ipconfig "ipconfig1" publicIPAddress pip-1 -> (none)`. old == nil is a create.
func describeChanges(typ string, old, cur object) []string {
	var out []string
	if old == nil {
		out = append(out, "created")
	}
	if cur == nil {
		return append(out, "deleted")
	}
	oldProps, curProps := sub(old, "properties"), sub(cur, "properties")
	for _, f := range topFields[strings.ToLower(typ)] {
		if a, b := display(oldProps[f]), display(curProps[f]); a != b {
			out = append(out, fmt.Sprintf("%s %s -> %s", f, a, b))
		}
	}
	kind, hasChildren := (&resource{typ: typ}).childKind()
	if hasChildren {
		out = append(out, describeChildren(kind.prop, objects(oldProps, kind.prop), objects(curProps, kind.prop))...)
	}
	out = append(out, describeTags(sub(old, "tags"), sub(cur, "tags"))...)

	strip := func(m object) object {
		c := copyObject(m)
		if c == nil {
			c = object{}
		}
		for _, k := range []string{"etag", "tags", "id", "name", "type"} {
			delete(c, k)
		}
		p := ensure(c, "properties")
		delete(p, "provisioningState")
		delete(p, "resourceGuid")
		for _, f := range topFields[strings.ToLower(typ)] {
			delete(p, f)
		}
		if hasChildren {
			delete(p, kind.prop)
		}
		return c
	}
	if old != nil && !reflect.DeepEqual(strip(old), strip(cur)) {
		out = append(out, "properties changed")
	}
	return out
}

func describeChildren(prop string, old, cur []object) []string {
	label := childLabel[prop]
	byName := func(list []object) map[string]object {
		m := map[string]object{}
		for _, c := range list {
			m[strings.ToLower(str(c, "name"))] = c
		}
		return m
	}
	oldBy := byName(old)
	var out []string
	for _, c := range cur {
		name := str(c, "name")
		o, existed := oldBy[strings.ToLower(name)]
		delete(oldBy, strings.ToLower(name))
		cp, op := sub(c, "properties"), sub(o, "properties")
		if !existed {
			line := fmt.Sprintf("%s %q added", label, name)
			if prop == "routes" {
				line += fmt.Sprintf(": %s -> %s", str(cp, "addressPrefix"), str(cp, "nextHopType"))
				if ip := str(cp, "nextHopIpAddress"); ip != "" {
					line += " " + ip
				}
				out = append(out, line)
				continue
			}
			out = append(out, line)
		}
		for _, f := range childFields[prop] {
			if a, b := display(op[f]), display(cp[f]); a != b {
				out = append(out, fmt.Sprintf("%s %q %s %s -> %s", label, name, f, a, b))
			}
		}
		if existed {
			strip := func(m object) object {
				c := copyObject(m)
				if c == nil {
					c = object{}
				}
				delete(c, "provisioningState")
				for _, f := range childFields[prop] {
					delete(c, f)
				}
				return c
			}
			if !reflect.DeepEqual(strip(op), strip(cp)) {
				out = append(out, fmt.Sprintf("%s %q properties changed", label, name))
			}
		}
	}
	var removed []string
	for _, o := range oldBy {
		removed = append(removed, str(o, "name"))
	}
	sort.Strings(removed)
	for _, name := range removed {
		out = append(out, fmt.Sprintf("%s %q removed", label, name))
	}
	return out
}

func describeTags(old, cur object) []string {
	keys := map[string]bool{}
	for k := range old {
		keys[k] = true
	}
	for k := range cur {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var out []string
	for _, k := range sorted {
		a, b := "(none)", "(none)"
		if v, ok := old[k]; ok {
			a = fmt.Sprintf("%q", fmt.Sprint(v))
		}
		if v, ok := cur[k]; ok {
			b = fmt.Sprintf("%q", fmt.Sprint(v))
		}
		if a != b {
			out = append(out, fmt.Sprintf("tag %q %s -> %s", k, a, b))
		}
	}
	return out
}

// display renders a property value for an event: a reference ({"id": ...}) by
// its last segment (the resource name), absent as (none).
func display(v any) string {
	switch t := v.(type) {
	case nil:
		return "(none)"
	case string:
		if t == "" {
			return "(none)"
		}
		return t
	case map[string]any:
		if id, ok := t["id"].(string); ok {
			return lastSegment(id)
		}
		return string(mustJSON(t))
	}
	return fmt.Sprint(v)
}
