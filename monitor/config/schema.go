package config

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// The schema walker checks a YAML node tree against the Config type before
// the strict decoder runs, so that what the decoder would refuse (unknown
// keys, wrong shapes, bad durations) and what it would accept but we do not
// (missing required keys, explicit zeros that defaults would overwrite) is
// reported all at once, with field paths, lines and fixes. It is driven by
// the struct tags: a yaml key without ",omitempty" is required.

var (
	configType   = reflect.TypeFor[Config]()
	durationType = reflect.TypeFor[Duration]()
)

type schemaWalker struct {
	problems []Problem
	lines    map[string]int // field path -> line where it is written
}

func newSchemaWalker() *schemaWalker {
	return &schemaWalker{lines: map[string]int{}}
}

func (w *schemaWalker) add(line int, field, format string, args ...any) {
	w.problems = append(w.problems, Problem{Field: field, Line: line, Message: fmt.Sprintf(format, args...)})
}

// fieldInfo is one yaml key of a struct.
type fieldInfo struct {
	key      string
	typ      reflect.Type
	required bool
}

func structFields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name) // yaml.v3's default
		}
		out = append(out, fieldInfo{key: name, typ: f.Type, required: !strings.Contains(opts, "omitempty")})
	}
	return out
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var indexRE = regexp.MustCompile(`\[\d+\]`)

// templatePath turns "nvas[1].probe.address" into "nvas[].probe.address".
func templatePath(path string) string { return indexRE.ReplaceAllString(path, "[]") }

// value checks node n, which is to be decoded into a value of type t.
func (w *schemaWalker) value(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return // the decoder reports it
		}
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // unset; Validate says if it is needed
	}
	switch {
	case t == durationType:
		d, err := durationFromNode(n)
		if err != nil {
			w.add(n.Line, path, "%v", err)
		} else if d == 0 {
			w.explicitZero(n, path, false)
		}
	case t.Kind() == reflect.Struct:
		w.structure(n, t, path)
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.add(n.Line, path, "is a %s, but it must be a list (one item per line, each starting with \"- \")", kindName(n))
			return
		}
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			w.lines[p] = item.Line
			w.value(item, t.Elem(), p)
		}
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			w.add(n.Line, path, "is a %s, but it must be a mapping of role to NIC resource ID, like "+
				"internal: /subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Network/networkInterfaces/{name}",
				kindName(n))
			return
		}
		for _, p := range w.pairs(n, path) {
			if p.key.Kind != yaml.ScalarNode {
				w.add(p.key.Line, path, "a key is a %s; keys must be plain names, like internal", kindName(p.key))
				continue
			}
			f := joinPath(path, p.key.Value)
			w.lines[f] = p.key.Line
			w.value(p.value, t.Elem(), f)
		}
	case t.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode {
			w.add(n.Line, path, "is a %s, but it must be a single value", kindName(n))
		}
	case t.Kind() == reflect.Int:
		var i int
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			w.add(n.Line, path, "%s is not a whole number; write it like 3", describe(n))
		} else if i == 0 {
			w.explicitZero(n, path, true)
		}
	}
}

// describe shows a node's value for a message: the scalar quoted, else its shape.
func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return fmt.Sprintf("%q", n.Value)
	}
	return "a " + kindName(n)
}

// structure checks a mapping that is to be decoded into struct type t.
func (w *schemaWalker) structure(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.MappingNode {
		if path == "" {
			w.add(n.Line, "", "the top level is a %s, but it must be a mapping of keys (nvas:, routeTables:, ...); "+
				"see monitor/config/testdata/example.yaml", kindName(n))
			return
		}
		w.add(n.Line, path, "is a %s, but it must be a mapping (key: value lines)", kindName(n))
		return
	}
	fields := structFields(t)
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	seen := map[string]bool{}
	for _, p := range w.pairs(n, path) {
		if p.key.Kind != yaml.ScalarNode {
			w.add(p.key.Line, path, "a key is a %s; keys must be plain names", kindName(p.key))
			continue
		}
		key := p.key.Value
		fp := joinPath(path, key)
		i := slices.IndexFunc(fields, func(f fieldInfo) bool { return f.key == key })
		if i < 0 {
			w.add(p.key.Line, fp, "unknown key%s", unknownKeyHint(key, keys, path))
			continue
		}
		seen[key] = true
		w.lines[fp] = p.key.Line
		w.value(p.value, fields[i].typ, fp)
	}
	for _, f := range fields {
		if f.required && !seen[f.key] {
			line := w.lines[path] // the line of the key or list item that holds this mapping
			if line == 0 && path != "" {
				line = n.Line
			}
			fp := joinPath(path, f.key)
			w.add(line, fp, "required key is missing; add it, like %s", requiredExample(templatePath(fp)))
		}
	}
}

// pair is one key and its value in a mapping, merges ("<<: *anchor") expanded.
type pair struct{ key, value *yaml.Node }

// pairs lists a mapping's entries, including those merged in with "<<", and
// reports keys written twice in the same mapping (a merged key that is also
// written out is an override, which YAML allows).
func (w *schemaWalker) pairs(n *yaml.Node, path string) []pair {
	var out []pair
	lines := map[string]int{}
	visited := map[*yaml.Node]bool{n: true}
	var merge func(m *yaml.Node)
	merge = func(m *yaml.Node) {
		if m.Kind == yaml.AliasNode && m.Alias != nil {
			m = m.Alias
		}
		switch {
		case visited[m]:
			w.add(m.Line, path, "a merge (\"<<\") includes itself")
		case m.Kind == yaml.MappingNode:
			visited[m] = true
			for i := 0; i+1 < len(m.Content); i += 2 {
				if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
					merge(m.Content[i+1])
				} else {
					out = append(out, pair{k, m.Content[i+1]})
				}
			}
		case m.Kind == yaml.SequenceNode:
			for _, item := range m.Content {
				merge(item)
			}
		default:
			w.add(m.Line, path, "a merge (\"<<\") needs a mapping or a list of mappings, not a %s", kindName(m))
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merge(v)
			continue
		}
		if k.Kind == yaml.ScalarNode {
			if first, dup := lines[k.Value]; dup {
				w.add(k.Line, joinPath(path, k.Value), "key is written twice (lines %d and %d); keep one", first, k.Line)
				continue
			}
			lines[k.Value] = k.Line
		}
		out = append(out, pair{k, v})
	}
	// Written-out keys win over merged ones: drop merged duplicates.
	written := map[string]bool{}
	var kept []pair
	for _, p := range out {
		if p.key.Kind == yaml.ScalarNode {
			if written[p.key.Value] {
				continue
			}
			written[p.key.Value] = true
		}
		kept = append(kept, p)
	}
	return kept
}

// unknownKeyHint suggests the key that was meant: a near miss at this level,
// or the same key where it belongs elsewhere, or else the keys allowed here.
func unknownKeyHint(key string, keys []string, path string) string {
	if s := didYouMean(key, keys); s != "" {
		return s
	}
	if meant := keyAliases[templatePath(path)][strings.ToLower(key)]; meant != "" {
		return fmt.Sprintf(" (did you mean %q?)", meant)
	}
	if where := keyLocations()[key]; len(where) > 0 {
		return fmt.Sprintf("; %q belongs under %s", key, strings.Join(where, " or "))
	}
	where := "here"
	if path == "" {
		where = "at the top level"
	}
	return fmt.Sprintf("; the keys allowed %s are %s", where, strings.Join(keys, ", "))
}

// keyAliases maps, by the template path of a mapping, words an operator
// coming from Azure's own names or other HA products may write (lower case)
// to the key meant, where they are too far from it for suggest to find.
var keyAliases = map[string]map[string]string{
	"": {
		"backendaddresspools": "backendPools", "loadbalancers": "backendPools", "lbpools": "backendPools",
		"loadbalancerpools": "backendPools", "pools": "backendPools",
		"privatednsrecords": "dnsRecords", "dnsrecordsets": "dnsRecords", "recordsets": "dnsRecords",
		"privatednszones": "dnsRecords", "dnszones": "dnsRecords", "records": "dnsRecords",
		"privateips": "floatingIps", "secondaryips": "floatingIps", "vips": "floatingIps", "virtualips": "floatingIps",
		"floatingaddresses": "floatingIps", "ipconfigurations": "floatingIps",
		"routes": "routeTables", "udrs": "routeTables", "publicipaddresses": "publicIps",
	},
	"floatingIps[]": {
		"address": "ip", "ipaddress": "ip", "privateipaddress": "ip", "privateip": "ip",
		"ipconfig": "name", "ipconfigname": "name", "ipconfiguration": "name", "ipconfigurationname": "name",
		"role": "via", "nic": "via",
	},
	"routeTables[]":  {"role": "via", "nic": "via"},
	"publicIps[]":    {"role": "via", "nic": "via"},
	"backendPools[]": {"role": "via", "nic": "via", "pool": "id", "poolid": "id", "backendaddresspool": "id"},
	"dnsRecords[]":   {"role": "via", "nic": "via", "record": "id", "recordset": "id", "recordsetid": "id"},
}

// keyLocations maps every key of the schema to the template paths of the
// mappings that hold it, e.g. "failureThreshold" -> ["probe"].
func keyLocations() map[string][]string {
	out := map[string][]string{}
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		for _, f := range structFields(t) {
			where := path
			if where == "" {
				where = "the top level"
			}
			out[f.key] = append(out[f.key], where)
			ft := f.typ
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
				if ft.Kind() == reflect.Struct {
					walk(ft, joinPath(path, f.key)+"[]")
				}
				continue
			}
			if ft.Kind() == reflect.Struct && ft != durationType {
				walk(ft, joinPath(path, f.key))
			}
		}
	}
	walk(configType, "")
	return out
}

// requiredExample shows how to write a required key, by template path.
func requiredExample(tp string) string {
	nic := "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Network/networkInterfaces/{name}"
	switch tp {
	case "nvas":
		return "nvas: with a list of at least two NVAs under it (see monitor/config/testdata/example.yaml)"
	case "nvas[].name":
		return "name: nva-2"
	case "nvas[].probe":
		return `probe: {address: "10.0.1.5:22"}`
	case "nvas[].probe.address":
		return `address: "10.0.1.5:22"`
	case "nvas[].nics":
		return "nics: {internal: " + nic + "}"
	case "routeTables[].id":
		return "id: " + exampleID(TypeRouteTable)
	case "publicIps[].id":
		return "id: " + exampleID(TypePublicIPAddress)
	case "backendPools[].id":
		return "id: " + exampleID(TypeBackendAddressPool)
	case "dnsRecords[].id":
		return "id: " + exampleID(TypePrivateDNSARecord)
	case "floatingIps[].ip":
		return "ip: 10.0.2.50"
	case "routeTables[].via", "floatingIps[].via", "backendPools[].via", "dnsRecords[].via":
		return "via: internal"
	case "publicIps[].via":
		return "via: external"
	}
	return tp[strings.LastIndex(tp, ".")+1:] + ": ..."
}

// explicitZero reports a zero written out for a field whose zero means "use
// the default": the operator asked for zero and would silently get the default.
// count says the field is a number of probes rather than a duration.
func (w *schemaWalker) explicitZero(n *yaml.Node, path string, count bool) {
	var def string
	lowest := `a positive duration (like "1ms")`
	switch path {
	case "probe.interval":
		def = Duration(DefaultProbeInterval).String()
	case "probe.timeout":
		def = Duration(DefaultProbeTimeout).String() + " (or the interval, if shorter)"
	case "probe.failureThreshold":
		def = fmt.Sprint(DefaultFailureThreshold)
	case "probe.successThreshold":
		def = fmt.Sprint(DefaultSuccessThreshold)
	case "failbackHoldoff":
		def = Duration(DefaultFailbackHoldoff).String()
	case "minFailoverInterval":
		def = Duration(DefaultMinFailoverInterval).String()
	case "pollInterval":
		def = Duration(DefaultPollInterval).String()
		lowest = fmt.Sprintf("at least %q", Duration(MinPollInterval))
	case "operationTimeout":
		def = Duration(DefaultOperationTimeout).String()
		lowest = fmt.Sprintf("at least %q", Duration(MinOperationTimeout))
	case "reconcileInterval":
		def = Duration(DefaultReconcileInterval).String()
		lowest = fmt.Sprintf("at least %q", Duration(MinReconcileInterval))
	case "viewInterval":
		def = Duration(DefaultViewInterval).String()
		lowest = fmt.Sprintf("at least %q", Duration(MinViewInterval))
	case "lease.duration":
		def = Duration(DefaultLeaseDuration).String()
		lowest = leaseRange
	default:
		return
	}
	if count {
		lowest = "at least 1"
	}
	w.add(n.Line, path, "%s reads as unset and would become the default %s; write %s, or leave the key out for the default",
		n.Value, def, lowest)
}
