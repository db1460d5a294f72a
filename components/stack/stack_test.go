package stack

import (
	"bytes"
	"crypto/ed25519"
	"debug/elf"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hanva/hanva/components/pulumitest"
	"github.com/hanva/hanva/monitor/config"
)

// Type tokens the tests count.
const (
	tRG       = "azure-native:resources:ResourceGroup"
	tVNet     = "azure-native:network:VirtualNetwork"
	tVM       = "azure-native:compute:VirtualMachine"
	tNIC      = "azure-native:network:NetworkInterface"
	tRT       = "azure-native:network:RouteTable"
	tPIP      = "azure-native:network:PublicIPAddress"
	tLB       = "azure-native:network:LoadBalancer"
	tStorage  = "azure-native:storage:StorageAccount"
	tRoleDef  = "azure-native:authorization:RoleDefinition"
	tAvSet    = "azure-native:compute:AvailabilitySet"
	tHaNva    = "hanva:index:HaNva"
	tWorkload = "hanva:index:SampleWorkload"
)

// The address the mocked lookup of an existing public IP returns.
const existingPIPAddress = "52.1.2.3"

// mocks are the shared recording mocks, plus answers to the invokes the
// program makes in production mode: the lookup of an existing public IP, and
// those of the NVAs, their NICs and the monitors' subnet, answered by az.
type mocks struct {
	*pulumitest.Mocks
	az *fakeAzure
}

func newMocks(az *fakeAzure) mocks { return mocks{Mocks: pulumitest.NewMocks(), az: az} }

func (m mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if args.Token == "azure-native:network:getPublicIPAddress" {
		out := args.Args.Copy()
		out["ipAddress"] = resource.NewStringProperty(existingPIPAddress)
		return out, nil
	}
	if out, ok, err := m.az.Call(args); ok {
		return out, err
	}
	return m.Mocks.Call(args)
}

// sshKeyLine builds an OpenSSH public key line from its wire-format parts.
func sshKeyLine(typ string, parts ...[]byte) string {
	var blob []byte
	for _, p := range append([][]byte{[]byte(typ)}, parts...) {
		blob = binary.BigEndian.AppendUint32(blob, uint32(len(p)))
		blob = append(blob, p...)
	}
	return typ + " " + base64.StdEncoding.EncodeToString(blob) + " test@hanva"
}

func ed25519Key() string {
	pub := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	return sshKeyLine("ssh-ed25519", pub)
}

// rsaKey returns an ssh-rsa line whose modulus has the given bit length (not
// a real key: only its shape matters here).
func rsaKey(bits int) string {
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	n.Add(n, big.NewInt(1))
	return sshKeyLine("ssh-rsa", big.NewInt(65537).Bytes(), append([]byte{0}, n.Bytes()...))
}

// fakeBinary writes a small stand-in for a prebuilt nva-monitor (a bare
// linux/amd64 ELF header), so tests never build the real one.
func fakeBinary(t *testing.T) string {
	t.Helper()
	return writeELF(t, elf.EM_X86_64)
}

func writeELF(t *testing.T, machine elf.Machine) string {
	t.Helper()
	h := elf.Header64{
		Type: uint16(elf.ET_EXEC), Machine: uint16(machine), Version: uint32(elf.EV_CURRENT),
		Ehsize: 64, Phentsize: 56, Shentsize: 64,
	}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, h); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "nva-monitor")
	if err := os.WriteFile(p, buf.Bytes(), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// sampleConfig is the least a sample stack needs (plus a prebuilt binary).
func sampleConfig(t *testing.T) map[string]string {
	return map[string]string{
		"hanva:sshPublicKey":      ed25519Key(),
		"hanva:monitorBinaryPath": fakeBinary(t),
	}
}

const (
	prodSub  = "/subscriptions/11111111-1111-1111-1111-111111111111"
	prodNet  = prodSub + "/resourceGroups/rg-net/providers/Microsoft.Network"
	prodVNet = prodNet + "/virtualNetworks/hub"
)

func prodNIC(name string) string { return prodNet + "/networkInterfaces/" + name }

// productionConfig is a production stack over prodAzure: two existing NVAs
// by VM, their NICs' roles told by subnet, one route table, an existing
// public IP.
func productionConfig(t *testing.T) map[string]string {
	nvas := []map[string]string{
		{"name": "fw-1", "vmId": prodVM("fw1")},
		{"name": "fw-2", "vmId": prodVM("fw2")},
	}
	tables := []map[string]any{
		{"name": "spoke-udr", "via": "internal", "routes": []map[string]string{
			{"name": "default", "addressPrefix": "0.0.0.0/0"},
			{"name": "onprem", "addressPrefix": "192.168.0.0/16"},
		}},
	}
	cfg := sampleConfig(t)
	cfg["hanva:mode"] = "production"
	cfg["hanva:resourceGroupName"] = "rg-prod"
	cfg["hanva:monitorSubnetId"] = prodVNet + "/subnets/dmz-internal"
	cfg["hanva:nvaExternalSubnetId"] = prodSubnet("dmz-external")
	cfg["hanva:nvaInternalSubnetId"] = prodSubnet("dmz-internal")
	cfg["hanva:nvas"] = mustJSON(t, nvas)
	cfg["hanva:routeTables"] = mustJSON(t, tables)
	cfg["hanva:publicIpId"] = prodNet + "/publicIPAddresses/fw-pip"
	return cfg
}

// nvaByNICs is an nvas entry that gives the NVA by its NICs (fw1-ext and
// fw1-int for tag fw1), without IPs.
func nvaByNICs(name, tag string) map[string]string {
	return map[string]string{"name": name, "externalNicId": prodNIC(tag + "-ext"), "internalNicId": prodNIC(tag + "-int")}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// result is what a program run registered and produced.
type result struct {
	m       mocks
	exports map[string]any // resolved stack outputs
	err     error
}

// runProgram runs the real program under mocks with the given stack config,
// set the way the Pulumi CLI hands it to a program: the PULUMI_CONFIG
// environment variable (pulumi.EnvConfig), which pulumi.RunErr reads.
// Lookups of existing resources read prodAzure.
func runProgram(t *testing.T, cfg map[string]string) result {
	t.Helper()
	return runProgramIn(t, cfg, prodAzure())
}

// runProgramIn is runProgram with lookups answered by az.
func runProgramIn(t *testing.T, cfg map[string]string, az *fakeAzure) result {
	t.Helper()
	t.Setenv(pulumi.EnvConfig, mustJSON(t, cfg))
	res := result{m: newMocks(az), exports: map[string]any{}}
	// pulumi.RunErr waits only for outputs that belong to its work group:
	// those that depend on a resource. pulumi.ToOutput of a value with no
	// resource output in it (pulumi.String, a map of plain strings) makes an
	// output outside it, whose apply may run after RunErr has returned. So
	// every export is counted here and awaited after RunErr.
	var (
		mu      sync.Mutex
		pending sync.WaitGroup
		names   []string
	)
	res.err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		out, err := Run(ctx)
		if err != nil {
			return err
		}
		for k, v := range out.exports() {
			names = append(names, k)
			pending.Add(1)
			pulumi.ToOutput(v).ApplyT(func(x any) error {
				defer pending.Done()
				mu.Lock()
				defer mu.Unlock()
				res.exports[k] = x
				return nil
			})
		}
		return nil
	}, pulumi.WithMocks(project, "test", res.m))
	if res.err != nil {
		return res // a failed program's outputs may never resolve
	}
	done := make(chan struct{})
	go func() { pending.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(exportTimeout):
		mu.Lock()
		defer mu.Unlock()
		var missing []string
		for _, k := range names {
			if _, ok := res.exports[k]; !ok {
				missing = append(missing, k)
			}
		}
		sort.Strings(missing)
		t.Fatalf("stack outputs %v never resolved within %s of the program's end", missing, exportTimeout)
	}
	return res
}

// exportTimeout bounds the wait for the stack outputs after the program has
// returned; they resolve in milliseconds, the margin is for a loaded machine.
const exportTimeout = time.Minute

func mustRunProgram(t *testing.T, cfg map[string]string) result {
	t.Helper()
	res := runProgram(t, cfg)
	if res.err != nil {
		t.Fatalf("program failed: %v", res.err)
	}
	return res
}

func wantCounts(t *testing.T, m mocks, want map[string]int) {
	t.Helper()
	got := m.Types()
	for typ, n := range want {
		if got[typ] != n {
			t.Errorf("%s: %d registered, want %d", typ, got[typ], n)
		}
	}
}

func TestSampleModeStandsUpTheSeedTopologyAndTheWebTier(t *testing.T) {
	res := mustRunProgram(t, sampleConfig(t))
	wantCounts(t, res.m, map[string]int{
		tRG:       1,
		tVNet:     1,
		tVM:       2 + 2 + 3 + 1, // NVAs, monitors, web, jumpbox
		tRT:       1,             // web-udr
		tPIP:      2,             // the NVAs' public IP, the jumpbox's
		tLB:       1,             // the web tier's internal load balancer
		tStorage:  1,
		tRoleDef:  2, // the monitors' role and their self-check role
		tHaNva:    1,
		tWorkload: 1,
	})
	rg := res.m.One(t, tRG)
	if s := pulumitest.String(rg.Inputs, "location"); s != "westeurope" {
		t.Errorf("resource group location %q, want the default westeurope", s)
	}
	for _, r := range res.m.All() {
		if !r.Custom || r.Type == tRG {
			continue
		}
		if s := pulumitest.String(r.Inputs, "resourceGroupName"); s != "" && s != rg.ID[strings.LastIndex(rg.ID, "/")+1:] {
			t.Errorf("%s %q is in resource group %q, want the created one", r.Type, r.Name, s)
		}
	}
}

func TestSampleModeNVAsForwardToTheWebLoadBalancer(t *testing.T) {
	res := mustRunProgram(t, sampleConfig(t))
	if got := res.exports["webLoadBalancerIp"]; got != "10.0.1.10" {
		t.Fatalf("webLoadBalancerIp = %v, want 10.0.1.10", got)
	}
	lb := res.m.One(t, tLB)
	if s := pulumitest.String(lb.Inputs, "frontendIPConfigurations", 0, "privateIPAddress"); s != "10.0.1.10" {
		t.Errorf("load balancer frontend %q, want 10.0.1.10", s)
	}
	// The NVAs' cloud-init forwards web traffic to that address.
	nvaVMs := 0
	for _, vm := range res.m.OfType(tVM) {
		raw, err := base64.StdEncoding.DecodeString(pulumitest.String(vm.Inputs, "osProfile", "customData"))
		if err != nil || !strings.Contains(string(raw), "10.0.1.10") {
			continue
		}
		nvaVMs++
	}
	if nvaVMs != 2 {
		t.Errorf("%d VMs' cloud-init mentions 10.0.1.10, want the 2 NVAs", nvaVMs)
	}
}

func TestSampleModeExportsEveryOutput(t *testing.T) {
	res := mustRunProgram(t, sampleConfig(t))
	keys := make([]string, 0, len(res.exports))
	for k := range res.exports {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{"activeNva", "jumpboxIp", "leaseBlobUrl", "monitorConfig", "monitorPrivateIps", "nvaPrivateIps",
		"publicIp", "routeTableIds", "sshCommand", "webLoadBalancerIp"}
	if !slices.Equal(keys, want) {
		t.Fatalf("exports %v, want %v", keys, want)
	}
	ex := res.exports
	if ex["publicIp"] != "20.0.0.1" {
		t.Errorf("publicIp = %v, want the mock's 20.0.0.1", ex["publicIp"])
	}
	if ex["sshCommand"] != "ssh hanva@20.0.0.1" {
		t.Errorf("sshCommand = %v", ex["sshCommand"])
	}
	var ips map[string]map[string]string
	if err := json.Unmarshal([]byte(mustJSON(t, ex["nvaPrivateIps"])), &ips); err != nil || len(ips) != 2 {
		t.Fatalf("nvaPrivateIps = %v, want 2 NVAs by role", ex["nvaPrivateIps"])
	}
	active, _ := ex["activeNva"].(string)
	first, ok := ips[active]
	if !ok {
		t.Fatalf("activeNva %q is not in nvaPrivateIps %v", active, ips)
	}
	if first["external"] != "10.0.0.68" || first["internal"] != "10.0.0.100" {
		t.Errorf("active NVA's IPs %v, want host 4 of dmz-external and dmz-internal", first)
	}
	var mips []string
	if err := json.Unmarshal([]byte(mustJSON(t, ex["monitorPrivateIps"])), &mips); err != nil || len(mips) != 2 {
		t.Errorf("monitorPrivateIps = %v, want 2", ex["monitorPrivateIps"])
	}
	if u, _ := ex["leaseBlobUrl"].(string); !strings.HasPrefix(u, "https://") {
		t.Errorf("leaseBlobUrl = %q, want an https blob URL", u)
	}
	var ids map[string]string
	if err := json.Unmarshal([]byte(mustJSON(t, ex["routeTableIds"])), &ids); err != nil || len(ids) != 1 || ids["web-udr"] != res.m.One(t, tRT).ID {
		t.Errorf("routeTableIds = %v, want web-udr and its ID", ex["routeTableIds"])
	}

	cfg, err := config.Parse([]byte(ex["monitorConfig"].(string)))
	if err != nil {
		t.Fatalf("monitorConfig does not load: %v\n%s", err, ex["monitorConfig"])
	}
	if len(cfg.NVAs) != 2 || cfg.NVAs[0].Name != active {
		t.Errorf("monitor config NVAs %v, want 2 with %q first", cfg.NVAs, active)
	}
	for _, n := range cfg.NVAs {
		if n.Probe.Kind != config.ProbeHTTP || !strings.HasSuffix(n.Probe.Address, ":8080") {
			t.Errorf("NVA %s probe %+v, want http on :8080 (the defaults)", n.Name, n.Probe)
		}
	}
}

func TestSampleModeSettingsReachTheComponents(t *testing.T) {
	cfg := sampleConfig(t)
	cfg["hanva:nvaCount"] = "3"
	cfg["hanva:monitorCount"] = "3"
	cfg["hanva:location"] = "northeurope"
	cfg["hanva:adminUsername"] = "ops"
	cfg["hanva:probePort"] = "9000"
	cfg["hanva:probeKind"] = "tcp"
	cfg["hanva:failback"] = "preferred"
	cfg["hanva:failbackHoldoff"] = "2m"
	cfg["hanva:probeInterval"] = "500ms"
	cfg["hanva:failureThreshold"] = "5"
	cfg["hanva:leaseDuration"] = "30s"
	cfg["hanva:resourceGroupName"] = "rg-hanva-demo"
	res := mustRunProgram(t, cfg)

	wantCounts(t, res.m, map[string]int{tVM: 3 + 3 + 3 + 1})
	if s := pulumitest.String(res.m.One(t, tRG).Inputs, "resourceGroupName"); s != "rg-hanva-demo" {
		t.Errorf("resource group name %q, want rg-hanva-demo", s)
	}
	for _, vm := range res.m.OfType(tVM) {
		if s := pulumitest.String(vm.Inputs, "osProfile", "adminUsername"); s != "ops" {
			t.Errorf("%s admin %q, want ops", vm.Name, s)
		}
		if s := pulumitest.String(vm.Inputs, "location"); s != "northeurope" {
			t.Errorf("%s location %q, want northeurope", vm.Name, s)
		}
	}
	mc, err := config.Parse([]byte(res.exports["monitorConfig"].(string)))
	if err != nil {
		t.Fatalf("monitorConfig does not load: %v", err)
	}
	if len(mc.NVAs) != 3 || len(mc.Monitors) != 3 {
		t.Errorf("monitor config has %d NVAs and %d monitors, want 3 and 3", len(mc.NVAs), len(mc.Monitors))
	}
	for _, n := range mc.NVAs {
		if n.Probe.Kind != config.ProbeTCP || !strings.HasSuffix(n.Probe.Address, ":9000") {
			t.Errorf("NVA %s probe %+v, want tcp on :9000", n.Name, n.Probe)
		}
	}
	if mc.Failback != config.FailbackPreferred || mc.FailbackHoldoff.D().String() != "2m0s" {
		t.Errorf("failback %q after %s, want preferred after 2m", mc.Failback, mc.FailbackHoldoff)
	}
	if mc.Probe.Interval.D().String() != "500ms" || mc.Probe.FailureThreshold != 5 {
		t.Errorf("probe timing %+v, want 500ms and 5", mc.Probe)
	}
	if mc.Lease.Duration.D().String() != "30s" {
		t.Errorf("lease duration %s, want 30s", mc.Lease.Duration)
	}
}

func TestSampleModeWithZonesSpreadsTheNVAs(t *testing.T) {
	cfg := sampleConfig(t)
	cfg["hanva:zones"] = `["1","2","3"]`
	res := mustRunProgram(t, cfg)
	zoned := 0
	for _, vm := range res.m.OfType(tVM) {
		if z := pulumitest.Get(vm.Inputs, "zones"); z != nil && z.IsArray() && len(z.ArrayValue()) == 1 {
			zoned++
			if s := pulumitest.String(vm.Inputs, "availabilitySet", "id"); s != "" {
				t.Errorf("%s is in zone %v and in availability set %q", vm.Name, z, s)
			}
		}
	}
	if zoned != 4 {
		t.Errorf("%d VMs placed in a zone, want the 2 NVAs and 2 monitors", zoned)
	}
}

func TestProductionModeCreatesNoNetworkAndNoNVA(t *testing.T) {
	res := mustRunProgram(t, productionConfig(t))
	wantCounts(t, res.m, map[string]int{
		tRG:       0,
		tVNet:     0,
		tLB:       0,
		tPIP:      0, // the existing one is only looked up
		tNIC:      2, // the monitors'
		tVM:       2, // the monitors
		tRT:       1,
		tStorage:  1,
		tRoleDef:  2, // the monitors' role and their self-check role
		tHaNva:    0,
		tWorkload: 0,
	})
	for _, r := range res.m.All() {
		// (role assignments and the role definition have a scope instead)
		if s := pulumitest.String(r.Inputs, "resourceGroupName"); r.Custom && s != "" && s != "rg-prod" {
			t.Errorf("%s %q is in resource group %q, want rg-prod", r.Type, r.Name, s)
		}
	}
	rt := res.m.One(t, tRT)
	for i, want := range []string{"0.0.0.0/0", "192.168.0.0/16"} {
		if s := pulumitest.String(rt.Inputs, "routes", i, "addressPrefix"); s != want {
			t.Errorf("route %d prefix %q, want %q", i, s, want)
		}
		if s := pulumitest.String(rt.Inputs, "routes", i, "nextHopIpAddress"); s != "10.1.0.36" {
			t.Errorf("route %d next hop %q, want fw-1's internal IP 10.1.0.36", i, s)
		}
	}
	for _, vm := range res.m.OfType(tVM) {
		if s := pulumitest.String(vm.Inputs, "hardwareProfile", "vmSize"); s != "Standard_B1s" {
			t.Errorf("monitor %s size %q, want Standard_B1s", vm.Name, s)
		}
	}
	for _, nic := range res.m.OfType(tNIC) {
		if s := pulumitest.String(nic.Inputs, "ipConfigurations", 0, "subnet", "id"); s != prodVNet+"/subnets/dmz-internal" {
			t.Errorf("monitor NIC %s in subnet %q, want monitorSubnetId", nic.Name, s)
		}
	}
}

func TestProductionModeMonitorConfigNamesTheGivenResources(t *testing.T) {
	res := mustRunProgram(t, productionConfig(t))
	ex := res.exports
	for _, k := range []string{"jumpboxIp", "sshCommand", "webLoadBalancerIp"} {
		if _, ok := ex[k]; ok {
			t.Errorf("production exports %s, a sample-only output", k)
		}
	}
	if ex["publicIp"] != existingPIPAddress {
		t.Errorf("publicIp = %v, want the existing public IP's %s", ex["publicIp"], existingPIPAddress)
	}
	if ex["activeNva"] != "fw-1" {
		t.Errorf("activeNva = %v, want fw-1", ex["activeNva"])
	}
	wantIPs := map[string]any{
		"fw-1": map[string]any{"external": "10.1.0.4", "internal": "10.1.0.36"},
		"fw-2": map[string]any{"external": "10.1.0.5", "internal": "10.1.0.37"},
	}
	if got := mustJSON(t, ex["nvaPrivateIps"]); got != mustJSON(t, wantIPs) {
		t.Errorf("nvaPrivateIps = %s, want %s", got, mustJSON(t, wantIPs))
	}

	mc, err := config.Parse([]byte(ex["monitorConfig"].(string)))
	if err != nil {
		t.Fatalf("monitorConfig does not load: %v\n%s", err, ex["monitorConfig"])
	}
	if len(mc.NVAs) != 2 || mc.NVAs[0].Name != "fw-1" || mc.NVAs[1].Name != "fw-2" {
		t.Fatalf("monitor NVAs %+v, want fw-1 then fw-2", mc.NVAs)
	}
	for i, n := range mc.NVAs {
		tag := []string{"fw1", "fw2"}[i]
		if n.NICs["external"] != prodNIC(tag+"-ext") || n.NICs["internal"] != prodNIC(tag+"-int") {
			t.Errorf("%s NICs %v, want the configured IDs", n.Name, n.NICs)
		}
		if want := []string{"10.1.0.36:8080", "10.1.0.37:8080"}[i]; n.Probe.Address != want {
			t.Errorf("%s probe address %q, want %q (internal IP and probePort)", n.Name, n.Probe.Address, want)
		}
	}
	rt := res.m.One(t, tRT)
	if len(mc.RouteTables) != 1 || mc.RouteTables[0].ID != rt.ID || mc.RouteTables[0].Via != "internal" {
		t.Errorf("monitor route tables %+v, want %s via internal", mc.RouteTables, rt.ID)
	}
	if len(mc.PublicIPs) != 1 || mc.PublicIPs[0].ID != prodNet+"/publicIPAddresses/fw-pip" || mc.PublicIPs[0].Via != "external" {
		t.Errorf("monitor public IPs %+v, want the configured one via external", mc.PublicIPs)
	}
	if got, want := mustJSON(t, ex["routeTableIds"]), mustJSON(t, map[string]string{"spoke-udr": rt.ID}); got != want {
		t.Errorf("routeTableIds = %s, want %s", got, want)
	}
}

func TestProductionModeWithoutPublicIPExportsNone(t *testing.T) {
	cfg := productionConfig(t)
	delete(cfg, "hanva:publicIpId")
	delete(cfg, "hanva:nvaNsgIds")
	res := mustRunProgram(t, cfg)
	if _, ok := res.exports["publicIp"]; ok {
		t.Errorf("publicIp exported without publicIpId: %v", res.exports["publicIp"])
	}
	mc, err := config.Parse([]byte(res.exports["monitorConfig"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	if len(mc.PublicIPs) != 0 {
		t.Errorf("monitor manages public IPs %v, want none", mc.PublicIPs)
	}
}

func TestBadStackConfigFailsNamingTheKeyAndRegistersNothing(t *testing.T) {
	type change func(cfg map[string]string)
	set := func(kv ...string) change {
		return func(cfg map[string]string) {
			for i := 0; i < len(kv); i += 2 {
				if kv[i+1] == "<unset>" {
					delete(cfg, "hanva:"+kv[i])
				} else {
					cfg["hanva:"+kv[i]] = kv[i+1]
				}
			}
		}
	}
	setNVA := func(field, value string) change {
		return func(cfg map[string]string) {
			var nvas []map[string]string
			_ = json.Unmarshal([]byte(cfg["hanva:nvas"]), &nvas)
			nvas[1][field] = value
			b, _ := json.Marshal(nvas)
			cfg["hanva:nvas"] = string(b)
		}
	}
	tests := []struct {
		name       string
		production bool
		change     change
		want       string
	}{
		{"a missing SSH public key", false, set("sshPublicKey", "<unset>"), "hanva:sshPublicKey: required; set it with `pulumi config set sshPublicKey <value>`"},
		{"a single NVA", false, set("nvaCount", "1"), "hanva:nvaCount: 1; HA needs at least 2 NVAs"},
		{"an NVA count that is not a number", false, set("nvaCount", "two"), `hanva:nvaCount: "two" is not a whole number; write it like 2`},
		{"a bogus mode", false, set("mode", "bogus"), `hanva:mode: "bogus" is not a mode; write sample (create everything) or production`},
		{"a bogus probe kind", false, set("probeKind", "icmp"), `hanva:probeKind: "icmp" is not a probe kind; write http`},
		{"a bogus failback", false, set("failback", "always"), `hanva:failback: "always" is not a failback policy`},
		{"a probe port out of range", false, set("probePort", "70000"), "hanva:probePort: 70000 is not a TCP port"},
		{"a bare-number duration", false, set("failbackHoldoff", "60"), `hanva:failbackHoldoff: 60 is a bare number; durations need a unit, write it like "60s"`},
		{"a zero probe interval", false, set("probeInterval", "0s"), `hanva:probeInterval: 0s must be greater than zero, like "1s"`},
		{"a lease longer than Azure allows", false, set("leaseDuration", "90s"), "hanva:leaseDuration: 1m30s; Azure Storage leases last 15s to 1m0s, in whole seconds"},
		{"no failure threshold", false, set("failureThreshold", "0"), "hanva:failureThreshold: 0; at least 1 failed probe"},
		{"an unknown zone", false, set("zones", `["1","4"]`), `hanva:zones: [1] "4" is not an availability zone`},
		{"zones that are not a list", false, set("zones", `"1"`), `hanva:zones: "\"1\"" is not a list of strings`},
		{"no monitor", false, set("monitorCount", "0"), "hanva:monitorCount: 0; at least 1 monitor"},
		{"a reserved admin name", false, set("adminUsername", "admin"), `hanva:adminUsername: "admin" is refused`},
		{"an admin name Linux refuses", false, set("adminUsername", "Ops User"), `hanva:adminUsername: "Ops User" is not a Linux user name`},
		{"a short RSA key", false, set("sshPublicKey", rsaKey(1024)), "hanva:sshPublicKey: an RSA key of 1024 bits; Azure needs at least 2048"},
		{"an ECDSA key", false, set("sshPublicKey", sshKeyLine("ecdsa-sha2-nistp256", []byte("nistp256"), make([]byte, 65))), "hanva:sshPublicKey: a ecdsa-sha2-nistp256 key; Azure takes ssh-rsa"},
		{"a private key", false, set("sshPublicKey", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----"), "hanva:sshPublicKey: this is a PRIVATE key"},
		{"a region name with spaces", false, set("location", "West Europe"), `hanva:location: "West Europe" is not an Azure region name; write it like westeurope`},
		{"a missing prebuilt binary", false, set("monitorBinaryPath", "/nonexistent/nva-monitor"), "hanva:monitorBinaryPath: stat /nonexistent/nva-monitor: no such file or directory"},
		{"a prebuilt binary for arm64", false, func(cfg map[string]string) { cfg["hanva:monitorBinaryPath"] = writeELF(t, elf.EM_AARCH64) }, "ELFCLASS64 EM_AARCH64 ET_EXEC, not a linux/amd64 executable"},
		{"a shell script as prebuilt binary", false, set("monitorBinaryPath", "stack_test.go"), "hanva:monitorBinaryPath: stack_test.go is not a linux/amd64 executable"},
		{"a misspelt key", false, set("nvacount", "3"), "hanva:nvacount: not a config key of this project; did you mean nvaCount?"},
		{"a production key in sample mode", false, set("nvas", `[{"name":"x"}]`), "hanva:nvas: only used in production mode"},

		{"production without NVAs", true, set("nvas", "<unset>"), "hanva:nvas: 0 NVAs; HA needs at least 2"},
		{"production with one NVA", true, set("nvas", mustJSON(t, []map[string]string{{"name": "fw-1", "externalNicId": prodNIC("a"), "internalNicId": prodNIC("b"), "externalIp": "10.1.0.4", "internalIp": "10.1.0.36"}})), "hanva:nvas: 1 NVAs; HA needs at least 2"},
		{"production without a resource group", true, set("resourceGroupName", "<unset>"), "hanva:resourceGroupName: required in production mode"},
		{"production without a monitor subnet", true, set("monitorSubnetId", "<unset>"), "hanva:monitorSubnetId: required in production mode"},
		{"production with a VNet as monitor subnet", true, set("monitorSubnetId", prodVNet), "hanva:monitorSubnetId: \"" + prodVNet + "\" is not a subnet ID"},
		{"production with one NVA subnet key of two", true, set("nvaInternalSubnetId", "<unset>"), "hanva:nvaInternalSubnetId: required with nvaExternalSubnetId"},
		{"production with one subnet for both roles", true, set("nvaInternalSubnetId", prodSubnet("dmz-external")), "hanva:nvaInternalSubnetId: the same subnet as nvaExternalSubnetId"},
		{"production with a role subnet that is a VNet", true, set("nvaExternalSubnetId", prodVNet), "hanva:nvaExternalSubnetId: \"" + prodVNet + "\" is not a subnet ID"},
		{"production with an NVA by neither VM nor NICs", true, setNVA("vmId", ""), "hanva:nvas[1].externalNicId: required without vmId; give the NVA's VM as vmId"},
		{"production with a VM ID that is a NIC", true, setNVA("vmId", prodNIC("fw2-ext")), "hanva:nvas[1].vmId: \"" + prodNIC("fw2-ext") + "\" is a Microsoft.Network/networkInterfaces, want a Microsoft.Compute/virtualMachines"},
		{"production with a NIC ID that is a VM", true, setNVA("internalNicId", prodVM("fw2")), "hanva:nvas[1].internalNicId: \"" + prodVM("fw2") + "\" is a Microsoft.Compute/virtualMachines, want a Microsoft.Network/networkInterfaces"},
		{"production with one VM for two NVAs", true, setNVA("vmId", prodVM("fw1")), "hanva:nvas[1].vmId: the VM is also nvas[0].vmId"},
		{"production with a route table and nothing else", true, set("routeTables", "<unset>", "publicIpId", "<unset>"), "hanva:routeTables: none, and no publicIpId"},
		{"production with a route table over a third role", true, set("routeTables", `[{"name":"rt","via":"dmz","routes":[{"name":"d","addressPrefix":"0.0.0.0/0"}]}]`), `hanva:routeTables[0].via: "dmz" is not an NVA NIC role; write internal or external`},
		{"production with a route prefix with host bits", true, set("routeTables", `[{"name":"rt","via":"internal","routes":[{"name":"d","addressPrefix":"10.0.1.5/24"}]}]`), `hanva:routeTables[0].routes[0].addressPrefix: "10.0.1.5/24" has host bits set; write 10.0.1.0/24`},
		{"production with a table without routes", true, set("routeTables", `[{"name":"rt","via":"internal","routes":[]}]`), "hanva:routeTables[0].routes: empty"},
		{"production with a misspelt NVA field", true, set("nvas", `[{"name":"fw-1","externalNic":"x"}]`), `hanva:nvas: unknown field "externalNic"`},
		{"production with routes that are not a list", true, set("routeTables", `[{"name":"rt","via":"internal","routes":"0.0.0.0/0"}]`), "hanva:routeTables: field routes is a JSON string, want a list"},
		{"production with NVAs that are not JSON", true, set("nvas", `[{"name":}]`), "hanva:nvas: not valid JSON"},
		{"production with NVAs that are not a list", true, set("nvas", `{"name":"fw-1"}`), "hanva:nvas: a JSON object is not a list of objects"},
		{"production with two NVAs of one name", true, setNVA("name", "fw-1"), `hanva:nvas[1].name: "fw-1" is also the name of nvas[0]`},
		{"production with an NVA NIC that is a public IP", true, setNVA("externalNicId", prodNet+"/publicIPAddresses/x"), "hanva:nvas[1].externalNicId: \"" + prodNet + "/publicIPAddresses/x\" is a Microsoft.Network/publicIPAddresses, want a Microsoft.Network/networkInterfaces"},
		{"production with a NIC used twice", true, set("nvas", mustJSON(t, []map[string]string{nvaByNICs("fw-1", "fw1"), {"name": "fw-2", "externalNicId": prodNIC("fw2-ext"), "internalNicId": prodNIC("fw1-int")}})), "hanva:nvas[1].internalNicId: the NIC is also nvas[0].internalNicId"},
		{"production with an IPv6 NVA IP", true, setNVA("internalIp", "fd00::5"), `hanva:nvas[1].internalIp: "fd00::5" is not an IPv4 address`},
		{"production with a public IP ID of a NIC", true, set("publicIpId", prodNIC("x")), "hanva:publicIpId: \"" + prodNIC("x") + "\" is a Microsoft.Network/networkInterfaces, want a Microsoft.Network/publicIPAddresses"},
		{"production with a sample-only key", true, set("nvaCount", "3"), "hanva:nvaCount: only used in sample mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := sampleConfig(t)
			if tt.production {
				cfg = productionConfig(t)
			}
			tt.change(cfg)
			res := runProgram(t, cfg)
			if res.err == nil || !strings.Contains(res.err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant it to contain %q", res.err, tt.want)
			}
			if all := res.m.All(); len(all) != 0 {
				t.Errorf("registered %d resources despite the bad config, first %s %q", len(all), all[0].Type, all[0].Name)
			}
		})
	}
}

func TestEveryConfigProblemIsReportedAtOnceOnItsOwnLine(t *testing.T) {
	cfg := sampleConfig(t)
	cfg["hanva:nvaCount"] = "1"
	cfg["hanva:probeKind"] = "icmp"
	delete(cfg, "hanva:sshPublicKey")
	res := runProgram(t, cfg)
	if res.err == nil {
		t.Fatal("program accepted a bad config")
	}
	var lines []string
	for _, l := range strings.Split(res.err.Error(), "\n") {
		l = strings.TrimPrefix(l, "\t* ") // pulumi.RunErr's multierror
		if strings.HasPrefix(l, "hanva:") {
			lines = append(lines, l[:strings.Index(l, ": ")])
		}
	}
	want := []string{"hanva:nvaCount", "hanva:probeKind", "hanva:sshPublicKey"}
	if !slices.Equal(lines, want) {
		t.Errorf("problem lines name %v, want %v; error:\n%v", lines, want, res.err)
	}
}

func TestProgramExportsWhatRunReturns(t *testing.T) {
	t.Setenv(pulumi.EnvConfig, mustJSON(t, sampleConfig(t)))
	m := newMocks(prodAzure())
	if err := pulumi.RunErr(Program, pulumi.WithMocks(project, "test", m)); err != nil {
		t.Fatalf("program: %v", err)
	}
	t.Setenv(pulumi.EnvConfig, mustJSON(t, map[string]string{}))
	m = newMocks(prodAzure())
	err := pulumi.RunErr(Program, pulumi.WithMocks(project, "test", m))
	if err == nil || !strings.Contains(err.Error(), "hanva:sshPublicKey: required") {
		t.Fatalf("program with no config: %v, want the missing key named", err)
	}
}

// TestTheCLIsMergedDefaultsAreAccepted runs the program with every
// Pulumi.yaml default set explicitly, in the form the Pulumi CLI hands merged
// project defaults to a program ("[]" for an empty list, "" for an empty
// string), and gets the same deployment as with the keys unset.
func TestTheCLIsMergedDefaultsAreAccepted(t *testing.T) {
	minimal := sampleConfig(t)
	full := map[string]string{}
	for k, c := range loadProject(t).Config {
		if c.Default != nil {
			full["hanva:"+k] = cliForm(t, c.Default)
		}
	}
	for k, v := range minimal {
		full[k] = v
	}
	a, b := mustRunProgram(t, minimal), mustRunProgram(t, full)
	// The mocks hand out NIC private IPs in registration order, which varies
	// between runs for the concurrently registered monitor NICs.
	for _, r := range []result{a, b} {
		if ips, ok := r.exports["monitorPrivateIps"].([]string); ok {
			slices.Sort(ips)
		}
	}
	if ta, tb := mustJSON(t, a.m.Types()), mustJSON(t, b.m.Types()); ta != tb {
		t.Errorf("resources differ:\nkeys unset:    %s\ndefaults set:  %s", ta, tb)
	}
	if ea, eb := mustJSON(t, a.exports), mustJSON(t, b.exports); ea != eb {
		t.Errorf("outputs differ:\nkeys unset:   %s\ndefaults set: %s", ea, eb)
	}
}

// TestTheStackNeverUndoesAFailover checks, on the program as deployed in
// both modes, that every route table ignores exactly the properties the
// monitor owns (next hops and its epoch tag), so that `pulumi up` after a
// failover does not plan them back; Pulumi.yaml's refresh keeps the state
// Pulumi sends current.
func TestTheStackNeverUndoesAFailover(t *testing.T) {
	want := []string{"routes[*].nextHopIpAddress", `tags["hanva-epoch"]`}
	for mode, cfg := range map[string]map[string]string{"sample": sampleConfig(t), "production": productionConfig(t)} {
		res := mustRunProgram(t, cfg)
		tables := res.m.OfType(tRT)
		if len(tables) == 0 {
			t.Fatalf("%s: no route table", mode)
		}
		for _, rt := range tables {
			got := slices.Sorted(slices.Values(rt.IgnoreChanges))
			if !slices.Equal(got, want) {
				t.Errorf("%s: route table %s ignores %q, want exactly %q", mode, rt.Name, got, want)
			}
		}
		if mode == "sample" {
			nvaNICs := 0
			for _, nic := range res.m.OfType(tNIC) {
				if !strings.HasPrefix(nic.Name, "hanva-nvas-") {
					continue
				}
				nvaNICs++
				if !slices.Contains(nic.IgnoreChanges, `tags["hanva-epoch"]`) {
					t.Errorf("NVA NIC %s ignores %q, want the epoch tag among them", nic.Name, nic.IgnoreChanges)
				}
			}
			if nvaNICs != 4 {
				t.Errorf("%d NVA NICs found, want 4 (2 NVAs x external, internal)", nvaNICs)
			}
		}
	}
}

// TestSampleModeGivesEveryNICAStaticAddressOfItsOwn: every NIC the sample
// creates (NVAs, monitors, web VMs, jumpbox) has a planned static address,
// and no two in a subnet share one (nor one of the load balancer's
// frontend): Azure gives a dynamic NIC the lowest free address, so one
// dynamic NIC created first could take a planned one. Growing the NVA and
// monitor counts keeps every existing NIC's address.
func TestSampleModeGivesEveryNICAStaticAddressOfItsOwn(t *testing.T) {
	addresses := func(cfg map[string]string) map[string]string {
		res := mustRunProgram(t, cfg)
		byNIC := map[string]string{}
		seen := map[string]string{}
		for _, nic := range res.m.OfType(tNIC) {
			subnet := pulumitest.String(nic.Inputs, "ipConfigurations", 0, "subnet", "id")
			method := pulumitest.String(nic.Inputs, "ipConfigurations", 0, "privateIPAllocationMethod")
			ip := pulumitest.String(nic.Inputs, "ipConfigurations", 0, "privateIPAddress")
			if method != "Static" || ip == "" {
				t.Errorf("NIC %s is %s %q in %s", nic.Name, method, ip, subnet)
				continue
			}
			if other, dup := seen[subnet+" "+ip]; dup {
				t.Errorf("NICs %s and %s both hold %s", nic.Name, other, ip)
			}
			seen[subnet+" "+ip], byNIC[nic.Name] = nic.Name, ip
		}
		lb := res.m.One(t, tLB)
		front := pulumitest.String(lb.Inputs, "frontendIPConfigurations", 0, "privateIPAddress")
		if front == "" {
			t.Fatal("the web load balancer has no static frontend address")
		}
		for key, nic := range seen {
			if strings.HasSuffix(key, " "+front) && strings.Contains(key, "/subnets/web ") {
				t.Errorf("NIC %s holds the load balancer's frontend address %s", nic, front)
			}
		}
		return byNIC
	}
	small := addresses(sampleConfig(t))
	bigger := sampleConfig(t)
	bigger["hanva:nvaCount"], bigger["hanva:monitorCount"] = "3", "3"
	grown := addresses(bigger)
	for nic, ip := range small {
		if got := grown[nic]; got != ip {
			t.Errorf("with 3 NVAs and 3 monitors %s moves from %s to %q", nic, ip, got)
		}
	}
}
