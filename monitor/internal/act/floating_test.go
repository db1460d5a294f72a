package act

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hanva/hanva/testenv/armsim"
)

// Floating IPs of the tests: two on the external role (one under the
// default ipconfig name), one on the internal role under a name of its own.
const (
	floatA   = "10.0.2.50"
	floatB   = "10.0.2.51"
	floatInt = "10.0.1.50"
)

// floatSeed shapes a floating IP test: the standard NICs and public IP
// (seedTopology), then extra ipconfigs on NICs, and a topology.
type floatSeed struct {
	floats []FloatingIP
	// on maps a NIC name to the ipconfigs added to it (JSON objects).
	on map[string][]string
	// pips keeps the managed public IP in the topology (attached to pipOn).
	pips  bool
	pipOn string
	epoch int64
}

func floatEnv(t testing.TB, o floatSeed) *env {
	t.Helper()
	opts := Options{}
	if o.epoch > 0 {
		opts.Epoch = epochAt(o.epoch)
	}
	return newEnv(t, envOpts{options: opts, custom: func(t testing.TB, srv *armsim.Server) Topology {
		seedTopology(t, srv, seedOpts{pipOn: o.pipOn})
		for nic, ipcs := range o.on {
			for _, ipc := range ipcs {
				addIPConfig(t, srv, nic, ipc)
			}
		}
		topo := topology(0)
		if !o.pips {
			topo.PublicIPs = nil
		}
		topo.FloatingIPs = o.floats
		return topo
	}})
}

// secondary is a secondary ipconfig holding ip in subnet, plus extra
// properties (`"publicIPAddress":{...}`), as JSON.
func secondary(name, subnet, ip, extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return `{"name":"` + name + `","properties":{"primary":false,"privateIPAddress":"` + ip + `",
		"privateIPAllocationMethod":"Static","subnet":{"id":"` + vnetID + `/subnets/` + subnet + `"}` + extra + `}}`
}

// addIPConfig appends an ipconfig to a seeded NIC.
func addIPConfig(t testing.TB, srv *armsim.Server, nic, ipc string) {
	t.Helper()
	m := resourceJSON(t, srv, nicID(nic))
	var c any
	if err := json.Unmarshal([]byte(ipc), &c); err != nil {
		t.Fatalf("ipconfig %s: %v", ipc, err)
	}
	props := m["properties"].(map[string]any)
	props["ipConfigurations"] = append(props["ipConfigurations"].([]any), c)
	b, _ := json.Marshal(m)
	seed(t, srv, nicID(nic), string(b))
}

// ipconfigNames lists the ipconfigs of a NIC as stored.
func ipconfigNames(t testing.TB, srv *armsim.Server, nic string) []string {
	t.Helper()
	var out []string
	for _, c := range path(t, resourceJSON(t, srv, nicID(nic)), "properties", "ipConfigurations").([]any) {
		out = append(out, c.(map[string]any)["name"].(string))
	}
	return out
}

// withoutIPConfig is a NIC document without its volatile fields, the epoch
// tag and the named ipconfigs, for comparing before and after a move.
func withoutIPConfig(doc map[string]any, names ...string) any {
	v := withoutVolatile(doc).(map[string]any)
	if tags, _ := v["tags"].(map[string]any); tags != nil {
		delete(tags, EpochTag)
	}
	props := v["properties"].(map[string]any)
	var keep []any
	for _, c := range props["ipConfigurations"].([]any) {
		if !slices.Contains(names, c.(map[string]any)["name"].(string)) {
			keep = append(keep, c)
		}
	}
	props["ipConfigurations"] = keep
	return v
}

// writeLog lists the writes armsim logged other than operations
// succeeding, as "nic:code" ("" when accepted).
func writeLog(srv *armsim.Server) []string {
	var out []string
	for _, ev := range srv.Events(0) {
		if ev.Kind != armsim.KindWriteSucceeded {
			out = append(out, lastSegment(ev.ResourceID)+":"+ev.Code)
		}
	}
	return out
}

func lastSegment(id string) string { return id[strings.LastIndex(id, "/")+1:] }

func floatResults(rep *Report) map[string]ResourceResult {
	out := map[string]ResourceResult{}
	for _, r := range rep.Resources {
		if r.Kind == KindFloatingIP {
			out[r.ID] = r
		}
	}
	return out
}

func TestFloatingIPsMoveBetweenNVAsAndNothingElseOfEitherNICChanges(t *testing.T) {
	e := floatEnv(t, floatSeed{
		floats: []FloatingIP{{IP: floatA, Via: "external"}, {IP: floatB, Via: "external"}, {IP: floatInt, Via: "internal", Name: "vip-int"}},
		on: map[string][]string{
			nva1Ext.name: {secondary(FloatingIPConfigName(floatA), "external", floatA, ""), secondary(FloatingIPConfigName(floatB), "external", floatB, "")},
			nva1Int.name: {secondary("vip-int", "internal", floatInt, "")},
		},
		epoch: 3,
	})
	nameA, nameB := FloatingIPConfigName(floatA), FloatingIPConfigName(floatB)
	moved := map[string][]string{nva1Ext.name: {nameA, nameB}, nva2Ext.name: {nameA, nameB}, nva1Int.name: {"vip-int"}, nva2Int.name: {"vip-int"}}
	before := map[string]any{}
	for nic, names := range moved {
		before[nic] = withoutIPConfig(resourceJSON(t, e.srv, nicID(nic)), names...)
	}

	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if err != nil {
		t.Fatalf("Converge: %v", err)
	}
	res := floatResults(rep)
	for _, ip := range []string{floatA, floatB, floatInt} {
		if r := res[ip]; !r.Changed || r.Err != nil {
			t.Errorf("floating IP %s result %+v, want changed", ip, r)
		}
	}
	for nic, names := range moved {
		if after := withoutIPConfig(resourceJSON(t, e.srv, nicID(nic)), names...); !reflect.DeepEqual(after, before[nic]) {
			t.Errorf("nic %s changed beyond the floating ipconfigs:\n got %s\nwant %s", nic, jsonString(after), jsonString(before[nic]))
		}
		if tags := tagsOf(t, e.srv, nicID(nic)); tags[EpochTag] != "3" {
			t.Errorf("nic %s tags %v, want %s 3", nic, tags, EpochTag)
		}
	}
	if got := ipconfigNames(t, e.srv, nva1Ext.name); !reflect.DeepEqual(got, []string{"ipconfig1", "ipconfig2"}) {
		t.Errorf("nva1-ext ipconfigs %v, want the floating ones gone", got)
	}
	if got := ipconfigNames(t, e.srv, nva2Ext.name); !reflect.DeepEqual(got, []string{"ipconfig1", "ipconfig2", nameA, nameB}) {
		t.Errorf("nva2-ext ipconfigs %v, want the floating ones added", got)
	}
	nic := resourceJSON(t, e.srv, nicID(nva2Ext.name))
	vip := path(t, nic, "properties", "ipConfigurations", "name="+nameA, "properties").(map[string]any)
	for k, want := range map[string]any{"privateIPAddress": floatA, "privateIPAllocationMethod": "Static", "primary": false,
		"privateIPAddressVersion": "IPv4", "subnet": map[string]any{"id": vnetID + "/subnets/external"}} {
		if !reflect.DeepEqual(vip[k], want) {
			t.Errorf("nva2-ext %s %s = %v, want %v", nameA, k, vip[k], want)
		}
	}
	if got := path(t, resourceJSON(t, e.srv, nicID(nva2Int.name)), "properties", "ipConfigurations", "name=vip-int", "properties", "privateIPAddress"); got != floatInt {
		t.Errorf("nva2-int vip-int address %v, want %s", got, floatInt)
	}
	// One PUT per NIC, each old NIC's before the new one's.
	log := writeLog(e.srv)
	slices.Sort(log)
	if want := []string{"nva1-ext:", "nva1-int:", "nva2-ext:", "nva2-int:"}; !reflect.DeepEqual(log, want) {
		t.Errorf("writes %v, want one per NIC", log)
	}
	order := writeLog(e.srv)
	for _, p := range [][2]string{{"nva1-ext:", "nva2-ext:"}, {"nva1-int:", "nva2-int:"}} {
		if slices.Index(order, p[0]) > slices.Index(order, p[1]) {
			t.Errorf("writes %v: %s after %s", order, p[0], p[1])
		}
	}
	if n := len(e.logs.events(EventFloatingIPDetached)); n != 3 {
		t.Errorf("%d floating_ip_detached lines, want 3", n)
	}
	for _, l := range e.logs.events(EventFloatingIPMoved) {
		if l["nva"] != "nva-2" || l["floating_ip"] == nil {
			t.Errorf("floating_ip_moved line %v", l)
		}
	}

	// Converged: a second run reads and writes nothing.
	writesBefore := writeRequests(e.srv)
	rep, err = e.eng.Converge(testCtx(t), "nva-2")
	if err != nil {
		t.Fatalf("second Converge: %v", err)
	}
	for _, r := range floatResults(rep) {
		if r.Changed || r.Err != nil {
			t.Errorf("second Converge result %+v, want unchanged", r)
		}
	}
	if n := writeRequests(e.srv) - writesBefore; n != 0 {
		t.Errorf("second Converge sent %d writes, want none", n)
	}
}

func TestAFloatingIPOnNoNICIsAttached(t *testing.T) {
	e := floatEnv(t, floatSeed{floats: []FloatingIP{{IP: floatA, Via: "external", Name: "vip"}}})
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if err != nil {
		t.Fatalf("Converge: %v", err)
	}
	if r := floatResults(rep)[floatA]; !r.Changed {
		t.Errorf("result %+v, want changed", r)
	}
	if got, want := writeLog(e.srv), []string{"nva2-ext:"}; !reflect.DeepEqual(got, want) {
		t.Errorf("writes %v, want %v (attach only)", got, want)
	}
	if got := path(t, resourceJSON(t, e.srv, nicID(nva2Ext.name)), "properties", "ipConfigurations", "name=vip", "properties", "privateIPAddress"); got != floatA {
		t.Errorf("nva2-ext vip address %v, want %s", got, floatA)
	}
}

func TestAnAttachRefusedAsAllocatedDetachesAgain(t *testing.T) {
	vip := secondary("vip", "external", floatA, "")
	e := floatEnv(t, floatSeed{floats: []FloatingIP{{IP: floatA, Via: "external", Name: "vip"}}, on: map[string][]string{nva1Ext.name: {vip}}})
	// Right before the attach, someone puts the address back on nva-1.
	var raced atomic.Bool
	e.srv.BeforeRequest(func(method, p string) {
		if method == "PUT" && strings.Contains(p, "/networkInterfaces/nva2-ext") && raced.CompareAndSwap(false, true) {
			addIPConfig(t, e.srv, nva1Ext.name, vip)
		}
	})
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	e.srv.BeforeRequest(nil)
	if !raced.Load() {
		t.Fatal("the race was not staged")
	}
	if err != nil {
		t.Fatalf("Converge: %v", err)
	}
	want := []string{"nva1-ext:", "nva2-ext:" + codePrivateIPAddressIsAllocated, "nva1-ext:", "nva2-ext:"}
	if got := writeLog(e.srv); !reflect.DeepEqual(got, want) {
		t.Errorf("writes %v, want %v (detach, refused attach, detach again, attach)", got, want)
	}
	if r := floatResults(rep)[floatA]; r.Attempts < 2 || !r.Changed {
		t.Errorf("result %+v, want a second round", r)
	}
	if got := ipconfigNames(t, e.srv, nva1Ext.name); slices.Contains(got, "vip") {
		t.Errorf("nva1-ext still has vip: %v", got)
	}
	if got := ipconfigNames(t, e.srv, nva2Ext.name); !slices.Contains(got, "vip") {
		t.Errorf("nva2-ext lacks vip: %v", got)
	}
}

func TestFloatingIPsTheMonitorDoesNotOwnAreLeftAlone(t *testing.T) {
	const lbPool = netPath + "/loadBalancers/lb/backendAddressPools/pool"
	tests := []struct {
		name  string
		ip    string
		on    map[string][]string
		want  []string // in the error
		wantR string   // reason of the converge_failed line
		puts  int      // PUTs sent (all refused)
	}{
		{"the address of the NVA's primary ipconfig", nva1Ext.ip, nil,
			[]string{"primary ipconfig", "nva1-ext/ipconfig1"}, "unsafe", 0},
		{"an ipconfig that also carries a public IP", floatA,
			map[string][]string{nva1Ext.name: {secondary("vip", "external", floatA, `"publicIPAddress":{"id":"`+pipID+`"}`)}},
			[]string{"public IP " + pipID, "nva1-ext/vip"}, "unsafe", 0},
		{"an ipconfig in a load balancer backend pool", floatA,
			map[string][]string{nva1Ext.name: {secondary("vip", "external", floatA, `"loadBalancerBackendAddressPools":[{"id":"`+lbPool+`"}]`)}},
			[]string{"load balancer backend pools"}, "unsafe", 0},
		{"an address on a NIC that is not an NVA's", floatA,
			map[string][]string{jump.name: {secondary("vip", "external", floatA, "")}},
			[]string{"allocated elsewhere", codePrivateIPAddressIsAllocated, jumpNIC}, "unsafe", allocatedStrikes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := floatEnv(t, floatSeed{floats: []FloatingIP{{IP: tt.ip, Via: "external", Name: "vip"}}, on: tt.on})
			before := map[string]any{}
			for _, n := range []nicSpec{nva1Ext, nva2Ext, jump} {
				before[n.name] = withoutVolatile(resourceJSON(t, e.srv, nicID(n.name)))
			}
			rep, err := e.eng.Converge(testCtx(t), "nva-2")
			if err == nil {
				t.Fatal("Converge succeeded, want an error")
			}
			r := floatResults(rep)[tt.ip]
			for _, w := range tt.want {
				if r.Err == nil || !strings.Contains(r.Err.Error(), w) {
					t.Errorf("error %v, want it to name %q", r.Err, w)
				}
			}
			if r.Changed {
				t.Errorf("result %+v, want unchanged", r)
			}
			if n := len(writes(e.srv)); n != 0 {
				t.Errorf("%d writes accepted, want none: %v", n, writeLog(e.srv))
			}
			if n := writeRequests(e.srv); n != tt.puts {
				t.Errorf("%d writes sent, want %d", n, tt.puts)
			}
			for _, n := range []nicSpec{nva1Ext, nva2Ext, jump} {
				if after := withoutVolatile(resourceJSON(t, e.srv, nicID(n.name))); !reflect.DeepEqual(after, before[n.name]) {
					t.Errorf("nic %s changed", n.name)
				}
			}
			lines := e.logs.events(EventConvergeFailed)
			if len(lines) != 1 || lines[0]["reason"] != tt.wantR || lines[0]["floating_ip"] != tt.ip {
				t.Errorf("converge_failed lines %v, want one, reason %s", lines, tt.wantR)
			}
		})
	}
}

func TestAFloatingIPMoveIsFencedBeforeItsFirstWrite(t *testing.T) {
	for _, fenced := range []nicSpec{nva1Ext, nva2Ext} {
		t.Run(fenced.name, func(t *testing.T) {
			e := floatEnv(t, floatSeed{floats: []FloatingIP{{IP: floatA, Via: "external", Name: "vip"}},
				on: map[string][]string{nva1Ext.name: {secondary("vip", "external", floatA, "")}}, epoch: 3})
			tagResource(t, e.srv, nicID(fenced.name), map[string]string{EpochTag: "5"})
			rep, err := e.eng.Converge(testCtx(t), "nva-2")
			if !errors.Is(err, ErrFenced) {
				t.Fatalf("Converge error %v, want ErrFenced", err)
			}
			if r := floatResults(rep)[floatA]; r.Changed || r.Attempts != 1 || !strings.Contains(r.Err.Error(), fenced.name) {
				t.Errorf("result %+v, want fenced on %s at once, unchanged", r, fenced.name)
			}
			if n := writeRequests(e.srv); n != 0 {
				t.Errorf("%d writes sent, want none", n)
			}
			lines := e.logs.events(EventConvergeFailed)
			if len(lines) != 1 || lines[0]["reason"] != "fenced" || lines[0]["epoch"] != 3.0 || lines[0]["resource_epoch"] != 5.0 {
				t.Errorf("converge_failed lines %v, want one, fenced, epochs 3 and 5", lines)
			}
		})
	}
}

func TestPlanListsAFloatingIPMoveWithoutWriting(t *testing.T) {
	e := floatEnv(t, floatSeed{floats: []FloatingIP{{IP: floatA, Via: "external"}},
		on: map[string][]string{nva1Ext.name: {secondary(FloatingIPConfigName(floatA), "external", floatA, "")}}, epoch: 3})
	tagResource(t, e.srv, nicID(nva2Ext.name), map[string]string{EpochTag: "4"})
	changes, err := e.eng.Plan(testCtx(t), "nva-2")
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	name := FloatingIPConfigName(floatA)
	want := []Change{
		{Kind: KindFloatingIP, ResourceID: floatA, Description: "detach floating IP " + floatA + " from nic nva1-ext/" + name},
		{Kind: KindFloatingIP, ResourceID: floatA, Description: "attach floating IP " + floatA + " to nic nva2-ext/" + name +
			" in subnet " + vnetID + "/subnets/external (fenced: it carries tag hanva-epoch 4, ours is 3; would not be written)"},
	}
	if !reflect.DeepEqual(changes, want) {
		t.Errorf("changes\n%v\nwant\n%v", changes, want)
	}
	if n := writeRequests(e.srv); n != 0 {
		t.Errorf("Plan sent %d writes", n)
	}
	if changes, err := e.eng.Plan(testCtx(t), "nva-1"); err != nil || len(changes) != 0 {
		t.Errorf("Plan to the holder: %v, %v; want nothing to do", changes, err)
	}
}

func TestObserveReportsWhichNVAHoldsAFloatingIP(t *testing.T) {
	e := floatEnv(t, floatSeed{floats: []FloatingIP{{IP: floatA, Via: "external", Name: "vip"}, {IP: floatInt, Via: "internal"}},
		on: map[string][]string{nva1Ext.name: {secondary("vip", "external", floatA, "")}}})
	tagResource(t, e.srv, nicID(nva1Ext.name), map[string]string{EpochTag: "2"})
	obs, err := e.eng.Observe(testCtx(t))
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	want := []FloatingIPState{
		{IP: floatA, Via: "external", Name: "vip", NIC: nicID(nva1Ext.name), IPConfig: "vip", HeldBy: "nva-1", Epoch: 2},
		{IP: floatInt, Via: "internal", Name: FloatingIPConfigName(floatInt)},
	}
	if !reflect.DeepEqual(obs.FloatingIPs, want) {
		t.Errorf("FloatingIPs\n%+v\nwant\n%+v", obs.FloatingIPs, want)
	}
	if name, split := obs.Active(); name != "nva-1" || !split {
		t.Errorf("Active = %q, %v; want nva-1, split (one floating IP on no NIC)", name, split)
	}

	if _, err := e.eng.Converge(testCtx(t), "nva-2"); err != nil {
		t.Fatalf("Converge: %v", err)
	}
	obs, err = e.eng.Observe(testCtx(t))
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	for _, f := range obs.FloatingIPs {
		if f.HeldBy != "nva-2" || f.Err != nil {
			t.Errorf("after the move %+v, want held by nva-2", f)
		}
	}
	if name, split := obs.Active(); name != "nva-2" || split {
		t.Errorf("Active = %q, %v; want nva-2, not split", name, split)
	}

	// A NIC of the role that cannot be read: the address it may hold is unknown.
	e.srv.InjectFault(armsim.Fault{Method: "GET", PathContains: "/networkInterfaces/nva2-int", Status: 403, Count: -1})
	obs, err = e.eng.Observe(testCtx(t))
	if err == nil {
		t.Fatal("Observe with an unreadable NIC succeeded")
	}
	if f := obs.FloatingIPs[1]; f.Err == nil || f.HeldBy != "" {
		t.Errorf("floating IP on the unreadable NIC: %+v, want an error", f)
	}
	if f := obs.FloatingIPs[0]; f.Err != nil || f.HeldBy != "nva-2" {
		t.Errorf("floating IP on a readable NIC: %+v, want held by nva-2", f)
	}
}

func TestAFloatingIPAndAPublicIPOnOneNICMoveInOneConverge(t *testing.T) {
	e := floatEnv(t, floatSeed{floats: []FloatingIP{{IP: floatA, Via: "external", Name: "vip"}},
		on: map[string][]string{nva1Ext.name: {secondary("vip", "external", floatA, "")}}, pips: true, pipOn: nva1Ext.name, epoch: 3})
	rep, err := e.eng.ConvergeWith(testCtx(t), "nva-2", ConvergeOptions{Stamp: true})
	if err != nil {
		t.Fatalf("Converge: %v", err)
	}
	for _, r := range rep.Resources {
		if (r.Kind == KindFloatingIP || r.Kind == KindPublicIP) && !r.Changed {
			t.Errorf("result %+v, want changed", r)
		}
	}
	if got := path(t, resourceJSON(t, e.srv, pipID), "properties", "ipConfiguration", "id"); got != nicID(nva2Ext.name)+"/ipConfigurations/ipconfig1" {
		t.Errorf("public IP on %v, want nva2-ext's ipconfig1", got)
	}
	if got := ipconfigNames(t, e.srv, nva2Ext.name); !slices.Contains(got, "vip") {
		t.Errorf("nva2-ext ipconfigs %v, want vip", got)
	}
	if got := ipconfigNames(t, e.srv, nva1Ext.name); slices.Contains(got, "vip") {
		t.Errorf("nva1-ext ipconfigs %v, want no vip", got)
	}
	for _, ev := range e.srv.Events(0) {
		if ev.Kind == armsim.KindWriteRejected {
			t.Errorf("a write was rejected: %+v (the engine's own NIC writes must not collide)", ev)
		}
	}
}

func TestAnAddressHeldElsewhereDoesNotKeepTheOthersFromMoving(t *testing.T) {
	e := floatEnv(t, floatSeed{
		floats: []FloatingIP{{IP: floatA, Via: "external", Name: "vip-a"}, {IP: floatB, Via: "external", Name: "vip-b"}},
		on: map[string][]string{
			nva1Ext.name: {secondary("vip-a", "external", floatA, "")},
			jump.name:    {secondary("vip-b", "external", floatB, "")},
		},
	})
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if err == nil {
		t.Fatal("Converge succeeded, want floatB refused")
	}
	res := floatResults(rep)
	if r := res[floatA]; r.Err != nil || !r.Changed {
		t.Errorf("%s result %+v, want moved", floatA, r)
	}
	if r := res[floatB]; r.Err == nil || !strings.Contains(r.Err.Error(), "allocated elsewhere") || r.Changed {
		t.Errorf("%s result %+v, want refused as allocated elsewhere", floatB, r)
	}
	// Both attached in one PUT first; refused for floatB, so each alone:
	// floatA's accepted, floatB's refused twice (allocatedStrikes).
	got := writeLog(e.srv)
	refused := "nva2-ext:" + codePrivateIPAddressIsAllocated
	if len(got) < 2 || !reflect.DeepEqual(got[:2], []string{"nva1-ext:", refused}) {
		t.Errorf("writes %v, want a detach, then one refused attach of both", got)
	} else {
		rest := slices.Sorted(slices.Values(got[2:]))
		if want := []string{"nva2-ext:", refused, refused}; !reflect.DeepEqual(rest, want) {
			t.Errorf("writes after the grouped attach %v, want (in some order) %v", got[2:], want)
		}
	}
	if got := ipconfigNames(t, e.srv, nva2Ext.name); !reflect.DeepEqual(got, []string{"ipconfig1", "ipconfig2", "vip-a"}) {
		t.Errorf("nva2-ext ipconfigs %v", got)
	}
	if got := ipconfigNames(t, e.srv, jump.name); !slices.Contains(got, "vip-b") {
		t.Errorf("jump-nic ipconfigs %v, want vip-b left alone", got)
	}
}

func TestAnIPv6FloatingIPMovesInTheSubnetOfThePrimaryIPv6IPConfig(t *testing.T) {
	const vip6 = "fd00:db8:0:1::50"
	e := newEnv(t, envOpts{custom: func(t testing.TB, srv *armsim.Server) Topology {
		topo := dualStack(dualOpts{})(t, srv)
		addIPConfig(t, srv, "nva1-int", `{"name":"vip6","properties":{"privateIPAddress":"`+vip6+`","privateIPAddressVersion":"IPv6",
			"privateIPAllocationMethod":"Static","subnet":{"id":"`+vnetID+`/subnets/internal"}}}`)
		seed(t, srv, rtID(1), `{"location":"westeurope","properties":{"routes":[
			{"name":"only6","properties":{"addressPrefix":"::/0","nextHopType":"VirtualAppliance","nextHopIpAddress":"`+nva1Int6+`"}},
			{"name":"vip6","properties":{"addressPrefix":"fd00:7::/64","nextHopType":"VirtualAppliance","nextHopIpAddress":"`+vip6+`"}}]}}`)
		topo.FloatingIPs = []FloatingIP{{IP: vip6, Via: "internal", Name: "vip6"}}
		return topo
	}})
	if _, err := e.eng.Converge(testCtx(t), "nva-2"); err != nil {
		t.Fatalf("Converge: %v", err)
	}
	got := path(t, resourceJSON(t, e.srv, nicID("nva2-int")), "properties", "ipConfigurations", "name=vip6", "properties")
	p, _ := got.(map[string]any)
	if p == nil || p["privateIPAddress"] != vip6 || p["privateIPAddressVersion"] != "IPv6" ||
		!reflect.DeepEqual(p["subnet"], map[string]any{"id": vnetID + "/subnets/internal"}) {
		t.Errorf("nva2-int vip6 %v, want %s, IPv6, subnet internal", got, vip6)
	}
	if h := hops(t, e, rtID(1)); h["only6"] != nva2Int6 || h["vip6"] != vip6 {
		t.Errorf("rt-1 next hops %v: want only6 moved to %s and vip6 left on the floating IP", h, nva2Int6)
	}
}
