package daemon_test

// The harness runs real daemons in one process, under testing/synctest
// (virtual time): ARM is testenv/armsim, storage testenv/blobsim, the NVAs
// stub probers whose health a test sets. What a test asserts comes from the
// daemons' logs (captured records with their attributes), armsim's
// resources, and the blobs storage holds.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/monitor/daemon"
	"github.com/hanva/hanva/monitor/internal/act"
	"github.com/hanva/hanva/monitor/internal/lease"
	"github.com/hanva/hanva/monitor/internal/probe"
	"github.com/hanva/hanva/monitor/internal/report"
	"github.com/hanva/hanva/testenv/armsim"
	"github.com/hanva/hanva/testenv/blobsim"
)

// The topology: NVAs with an internal and an external NIC each, route
// tables whose NVA routes go over the internal NICs, one public IP on the
// first NVA's external NIC.
const (
	subscription = "00000000-0000-0000-0000-00000000da17"
	netPath      = "/subscriptions/" + subscription + "/resourceGroups/rg-test/providers/Microsoft.Network"
	vnetID       = netPath + "/virtualNetworks/vnet-hub"
	pipID        = netPath + "/publicIPAddresses/pip-fw"
	armHost      = "management.test.invalid"
	containerURL = "https://teststore.blob.core.windows.net/hanva"
	leaderBlob   = "leader"
)

func intNIC(nva string) string { return netPath + "/networkInterfaces/" + nva + "-int" }
func extNIC(nva string) string { return netPath + "/networkInterfaces/" + nva + "-ext" }
func routeTableID(i int) string {
	return fmt.Sprintf("%s/routeTables/rt-%02d", netPath, i)
}

// intIP is the private IP of an NVA's internal NIC (nva-1 is 10.0.1.4).
func intIP(nva string) string {
	var n int
	fmt.Sscanf(nva, "nva-%d", &n)
	return fmt.Sprintf("10.0.1.%d", 3+n)
}

func extIP(nva string) string {
	var n int
	fmt.Sscanf(nva, "nva-%d", &n)
	return fmt.Sprintf("10.0.2.%d", 3+n)
}

// timing is the cluster's configuration of time.
type timing struct {
	interval, timeout   time.Duration
	fast                time.Duration // probe.fastInterval; 0: the default
	failures, successes int
	view, lease         time.Duration
	antiFlap, reconcile time.Duration
	poll, operation     time.Duration
}

var defaultTiming = timing{
	interval: time.Second, timeout: 500 * time.Millisecond, failures: 3, successes: 2,
	view: 2 * time.Second, lease: 15 * time.Second,
	antiFlap: 30 * time.Second, reconcile: 5 * time.Second,
	poll: 500 * time.Millisecond, operation: time.Minute,
}

// spec describes a world.
type spec struct {
	monitors int    // default 2
	nvas     int    // default 2
	tables   int    // default 2
	quorum   string // default none
	timing   *timing
	// wrap, if set, wraps each monitor's lease.Blob in the Leader the
	// daemon is given.
	wrap func(name string, b *lease.Blob) daemon.Leader
}

// world is one deployment: ARM, storage, NVAs, monitors.
type world struct {
	t      *testing.T
	arm    *armsim.Sim
	store  *blobsim.Server
	nvas   []string
	tables int
	tm     timing
	spec   spec

	mu    sync.Mutex
	slow  map[string]time.Duration // resource ID -> how long ARM takes to answer a GET of it
	down  map[string]bool          // NVA down for every monitor
	blind map[string]bool          // "monitor/nva": this monitor's probes of that NVA fail
	// silent: the NVA accepts the probe and never answers (every monitor).
	silent map[string]bool
	// loss, when set, drops a share of the probes (no answer) and delays
	// the others by up to a jitter (detect_test.go).
	loss  *lossModel
	mons  map[string]*monitor
	names []string
}

// monitor is one monitor host; start runs the daemon on it.
type monitor struct {
	w      *world
	name   string
	cfg    *config.Config
	book   *book
	blob   *lease.Blob
	leader daemon.Leader
	cancel context.CancelFunc
	done   chan struct{}
}

// newWorld seeds ARM and storage and builds the monitors (not started).
// Close it (defer w.close()) so that every daemon has stopped before the
// bubble ends.
func newWorld(t *testing.T, s spec) *world {
	t.Helper()
	if s.monitors == 0 {
		s.monitors = 2
	}
	if s.nvas == 0 {
		s.nvas = 2
	}
	if s.tables == 0 {
		s.tables = 2
	}
	if s.quorum == "" {
		s.quorum = config.QuorumNone
	}
	tm := defaultTiming
	if s.timing != nil {
		tm = *s.timing
	}
	w := &world{
		t:      t,
		arm:    armsim.New(armsim.Options{LROLatency: 500 * time.Millisecond, RetryAfter: -1}),
		store:  blobsim.New(blobsim.Options{}),
		tables: s.tables,
		tm:     tm,
		spec:   s,
		down:   map[string]bool{},
		blind:  map[string]bool{},
		silent: map[string]bool{},
		mons:   map[string]*monitor{},
	}
	w.store.CreateContainer("hanva")
	for i := range s.nvas {
		w.nvas = append(w.nvas, fmt.Sprintf("nva-%d", i+1))
	}
	w.seed()
	for i := range s.monitors {
		w.names = append(w.names, fmt.Sprintf("monitor-%d", i+1))
	}
	for _, n := range w.names {
		cfg, err := config.Parse([]byte(w.configYAML(n)))
		if err != nil {
			t.Fatalf("config of %s: %v", n, err)
		}
		w.mons[n] = &monitor{w: w, name: n, cfg: cfg, book: &book{}}
	}
	return w
}

func (w *world) seed() {
	w.t.Helper()
	must := func(id, body string) {
		if err := w.arm.Seed(id, []byte(body)); err != nil {
			w.t.Fatalf("seed %s: %v", id, err)
		}
	}
	must(vnetID, `{"location":"westeurope","properties":{"addressSpace":{"addressPrefixes":["10.0.0.0/16"]},
		"subnets":[{"name":"internal","properties":{"addressPrefix":"10.0.1.0/24"}},
		           {"name":"external","properties":{"addressPrefix":"10.0.2.0/24"}}]}}`)
	must(pipID, `{"location":"westeurope","sku":{"name":"Standard","tier":"Regional"},
		"properties":{"ipAddress":"20.1.2.3","publicIPAllocationMethod":"Static","publicIPAddressVersion":"IPv4"}}`)
	nic := func(id, subnet, ip, extra string) {
		must(id, `{"location":"westeurope","tags":{"owner":"netops"},
			"properties":{"enableIPForwarding":true,
			"ipConfigurations":[{"name":"ipconfig1","properties":{"primary":true,"privateIPAddress":"`+ip+`",
				"privateIPAllocationMethod":"Static","subnet":{"id":"`+vnetID+`/subnets/`+subnet+`"}`+extra+`}}]}}`)
	}
	for i, n := range w.nvas {
		nic(intNIC(n), "internal", intIP(n), "")
		extra := ""
		if i == 0 {
			extra = `,"publicIPAddress":{"id":"` + pipID + `"}`
		}
		nic(extNIC(n), "external", extIP(n), extra)
	}
	for i := range w.tables {
		must(routeTableID(i), `{"location":"westeurope","tags":{"owner":"netops"},
			"properties":{"routes":[
			{"name":"default","properties":{"addressPrefix":"0.0.0.0/0","nextHopType":"VirtualAppliance","nextHopIpAddress":"`+intIP(w.nvas[0])+`"}},
			{"name":"spokes","properties":{"addressPrefix":"10.8.0.0/16","nextHopType":"VirtualAppliance","nextHopIpAddress":"`+intIP(w.nvas[0])+`"}},
			{"name":"internet","properties":{"addressPrefix":"20.0.0.0/8","nextHopType":"Internet"}}]}}`)
	}
}

func (w *world) configYAML(instance string) string {
	t := w.tm
	var b strings.Builder
	fmt.Fprintf(&b, "instance: %s\nmonitors:\n", instance)
	for _, m := range w.names {
		fmt.Fprintf(&b, "  - %s\n", m)
	}
	fmt.Fprintf(&b, `quorum: %s
viewInterval: %s
lease:
  kind: blob
  url: %s/%s
  duration: %s
armEndpoint: https://%s/
probe:
  interval: %s
  timeout: %s
  failureThreshold: %d
  successThreshold: %d%s
minFailoverInterval: %s
reconcileInterval: %s
pollInterval: %s
operationTimeout: %s
log:
  level: debug
`, w.spec.quorum, t.view, containerURL, leaderBlob, t.lease, armHost, t.interval, t.timeout, t.failures, t.successes, fastLine(t.fast),
		t.antiFlap, t.reconcile, t.poll, t.operation)
	b.WriteString("nvas:\n")
	for _, n := range w.nvas {
		fmt.Fprintf(&b, "  - name: %s\n    probe:\n      address: \"%s:22\"\n    nics:\n      internal: %s\n      external: %s\n",
			n, intIP(n), intNIC(n), extNIC(n))
	}
	b.WriteString("routeTables:\n")
	for i := range w.tables {
		fmt.Fprintf(&b, "  - id: %s\n    via: internal\n", routeTableID(i))
	}
	fmt.Fprintf(&b, "publicIps:\n  - id: %s\n    via: external\n", pipID)
	return b.String()
}

// blobFor is a lease.Blob over the monitors' container, for a monitor or an
// operator.
func (w *world) blobFor(instance string, log *slog.Logger) *lease.Blob {
	w.t.Helper()
	c, err := blobsim.NewContainerClient(w.store, containerURL, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	b, err := lease.NewBlob(lease.BlobOptions{Container: c, Blob: leaderBlob, Instance: instance,
		Duration: w.tm.lease, Logger: log, Now: time.Now})
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

// armOptions are ARM client options that send every request to armsim in
// process.
func (w *world) armOptions(instance string) *arm.ClientOptions {
	return &arm.ClientOptions{ClientOptions: policy.ClientOptions{
		Cloud: cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: "https://" + armHost, Audience: "https://management.core.windows.net/"},
		}},
		Transport: slowTransport{w: w, next: blobsim.Transport{Handler: w.arm}}, // any in-process handler
		Retry:     policy.RetryOptions{MaxRetries: -1},
		Telemetry: policy.TelemetryOptions{ApplicationID: instance},
	}}
}

// start runs the daemon on monitor name with a fresh lease.Blob (wrapped
// by spec.wrap, or by leader if not nil).
func (w *world) start(name string) *monitor {
	return w.startWith(name, nil)
}

func (w *world) startWith(name string, leader daemon.Leader) *monitor {
	w.t.Helper()
	m := w.mons[name]
	if m.done != nil {
		w.t.Fatalf("%s is running already", name)
	}
	log := slog.New(&handler{b: m.book, instance: name})
	m.blob = w.blobFor(name, log)
	m.leader = leader
	if m.leader == nil {
		m.leader = m.blob
		if w.spec.wrap != nil {
			m.leader = w.spec.wrap(name, m.blob)
		}
	}
	var targets []probe.Target
	for _, n := range w.nvas {
		targets = append(targets, probe.Target{NVA: n, Prober: stubProbe{w: w, monitor: name, nva: n}})
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.done = make(chan struct{})
	go func() {
		defer close(m.done)
		err := daemon.Run(ctx, m.cfg, daemon.Options{
			Logger: log, Listener: newMemListener(), Now: time.Now,
			Leader: m.leader, ARM: w.armOptions(name), Credential: fakeToken{}, Targets: targets,
		})
		if err != nil {
			w.t.Errorf("%s: daemon.Run: %v", name, err)
		}
	}()
	return m
}

// stop shuts monitor name down cleanly and waits for its daemon to return.
func (w *world) stop(name string) {
	m := w.mons[name]
	if m.done == nil {
		return
	}
	m.cancel()
	<-m.done
	m.done = nil
}

// close stops every daemon and lets the bubble's timers run out; when the
// test failed, it logs every monitor's log.
func (w *world) close() {
	for _, n := range w.names {
		w.stop(n)
	}
	time.Sleep(time.Minute)
	if w.t.Failed() {
		for _, n := range w.names {
			w.t.Logf("log of %s:\n%s", n, w.mons[n].book.dump())
		}
	}
}

// setDown makes nva answer every monitor's probes (false) or refuse them.
func (w *world) setDown(nva string, down bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.down[nva] = down
}

// setBlind makes monitor's probes of nva fail (true) while the others'
// succeed.
func (w *world) setBlind(monitor, nva string, blind bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.blind[monitor+"/"+nva] = blind
}

type stubProbe struct {
	w            *world
	monitor, nva string
}

func (s stubProbe) Probe(ctx context.Context) error {
	s.w.mu.Lock()
	fail := s.w.down[s.nva] || s.w.blind[s.monitor+"/"+s.nva]
	silent := s.w.silent[s.nva]
	var drop bool
	var delay time.Duration
	if l := s.w.loss; l != nil {
		drop, delay = l.draw()
		l.probes++
		if drop {
			l.dropped++
		}
	}
	s.w.mu.Unlock()
	if silent || drop {
		<-ctx.Done() // the answer never comes
		return ctx.Err()
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail {
		return os.NewSyscallError("connect", syscall.ECONNREFUSED)
	}
	return nil
}

// setSilent makes nva accept every probe and never answer (true).
func (w *world) setSilent(nva string, silent bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.silent[nva] = silent
}

type fakeToken struct{}

func (fakeToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "test-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// waitFor polls cond every 100 ms of virtual time until it holds, and
// fails the test when it does not within d.
func (w *world) waitFor(d time.Duration, what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// leaderElected waits until some monitor has logged leader_elected and
// returns it with that record.
func (w *world) leaderElected(d time.Duration) (*monitor, entry) {
	w.t.Helper()
	var m *monitor
	var e entry
	w.waitFor(d, "no monitor logged leader_elected", func() bool {
		for _, n := range w.names {
			if es := w.mons[n].book.events(report.EventLeaderElected); len(es) > 0 {
				m, e = w.mons[n], es[0]
				return true
			}
		}
		return false
	})
	return m, e
}

// The state of ARM.

func (w *world) resource(id string) map[string]any {
	w.t.Helper()
	body, ok := w.arm.Resource(id)
	if !ok {
		w.t.Fatalf("resource %s does not exist", id)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		w.t.Fatalf("resource %s: %v", id, err)
	}
	return m
}

// epochTag is a resource's hanva-epoch tag ("" when it has none).
func (w *world) epochTag(id string) string {
	tags, _ := w.resource(id)["tags"].(map[string]any)
	s, _ := tags[act.EpochTag].(string)
	return s
}

// tableAt is the NVA the VirtualAppliance routes of a table point at
// ("mixed" when they disagree).
func (w *world) tableAt(id string) string {
	props, _ := w.resource(id)["properties"].(map[string]any)
	routes, _ := props["routes"].([]any)
	at := ""
	for _, r := range routes {
		rp, _ := r.(map[string]any)["properties"].(map[string]any)
		if rp["nextHopType"] != "VirtualAppliance" {
			continue
		}
		hop, _ := rp["nextHopIpAddress"].(string)
		nva := "unknown " + hop
		for _, n := range w.nvas {
			if intIP(n) == hop {
				nva = n
			}
		}
		if at != "" && at != nva {
			return "mixed"
		}
		at = nva
	}
	return at
}

// pipAt is the NVA whose external NIC holds the public IP ("" if none).
func (w *world) pipAt() string {
	at := ""
	for _, n := range w.nvas {
		if w.nicHasPIP(extNIC(n)) {
			if at != "" {
				return "several"
			}
			at = n
		}
	}
	return at
}

func (w *world) nicHasPIP(id string) bool {
	props, _ := w.resource(id)["properties"].(map[string]any)
	for _, c := range props["ipConfigurations"].([]any) {
		cp, _ := c.(map[string]any)["properties"].(map[string]any)
		if ref, ok := cp["publicIPAddress"].(map[string]any); ok && strings.EqualFold(fmt.Sprint(ref["id"]), pipID) {
			return true
		}
	}
	return false
}

// azureAt is where every managed resource points, or "split".
func (w *world) azureAt() string {
	at := w.pipAt()
	for i := range w.tables {
		if w.tableAt(routeTableID(i)) != at {
			return "split"
		}
	}
	return at
}

// managedTaggedIDs are the resources a takeover stamps: route tables and
// every NVA NIC.
func (w *world) managedTaggedIDs() []string {
	var ids []string
	for i := range w.tables {
		ids = append(ids, routeTableID(i))
	}
	for _, n := range w.nvas {
		ids = append(ids, intNIC(n), extNIC(n))
	}
	return ids
}

// pointAt rewrites Azure behind the monitors' backs, as a portal edit or a
// late write of an older leader would: every route table's NVA routes go to
// nva and the public IP moves to its external NIC. tag, if not "", is set as
// every touched resource's hanva-epoch; otherwise tags are kept as they are.
func (w *world) pointAt(nva, tag string) {
	w.t.Helper()
	retag := func(m map[string]any) {
		if tag == "" {
			return
		}
		tags, _ := m["tags"].(map[string]any)
		if tags == nil {
			tags = map[string]any{}
			m["tags"] = tags
		}
		tags[act.EpochTag] = tag
	}
	put := func(id string, m map[string]any) {
		b, err := json.Marshal(m)
		if err != nil {
			w.t.Fatal(err)
		}
		if err := w.arm.Seed(id, b); err != nil {
			w.t.Fatalf("rewrite %s: %v", id, err)
		}
	}
	for i := range w.tables {
		id := routeTableID(i)
		m := w.resource(id)
		props := m["properties"].(map[string]any)
		for _, r := range props["routes"].([]any) {
			rp := r.(map[string]any)["properties"].(map[string]any)
			if rp["nextHopType"] == "VirtualAppliance" {
				rp["nextHopIpAddress"] = intIP(nva)
			}
		}
		retag(m)
		put(id, m)
	}
	setPIP := func(nicID string, attach bool) {
		m := w.resource(nicID)
		props := m["properties"].(map[string]any)
		cp := props["ipConfigurations"].([]any)[0].(map[string]any)["properties"].(map[string]any)
		if attach {
			cp["publicIPAddress"] = map[string]any{"id": pipID}
		} else {
			delete(cp, "publicIPAddress")
		}
		retag(m)
		put(nicID, m)
	}
	for _, n := range w.nvas {
		if n != nva && w.nicHasPIP(extNIC(n)) {
			setPIP(extNIC(n), false)
		}
	}
	setPIP(extNIC(nva), true)
}

// The state of storage.

// sharedState decodes the leader blob.
func (w *world) sharedState() lease.State {
	w.t.Helper()
	b, ok := w.store.Blob("hanva", leaderBlob)
	if !ok {
		w.t.Fatal("the leader blob does not exist")
	}
	var s lease.State
	if err := json.Unmarshal(b.Data, &s); err != nil {
		w.t.Fatalf("the shared state cannot be decoded: %v: %q", err, b.Data)
	}
	return s
}

// The log.

// entry is one captured log record, its attributes flattened (a group's
// keys as "group.key").
type entry struct {
	Time  time.Time
	Level slog.Level
	Msg   string
	Attrs map[string]slog.Value
}

func (e entry) str(key string) string {
	v, ok := e.Attrs[key]
	if !ok {
		return ""
	}
	return v.String()
}

func (e entry) int(key string) int64 {
	v, ok := e.Attrs[key]
	if !ok || v.Kind() != slog.KindInt64 {
		return -1
	}
	return v.Int64()
}

func (e entry) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %q", e.Time.Format("15:04:05.000"), e.Level, e.Msg)
	keys := make([]string, 0, len(e.Attrs))
	for k := range e.Attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%v", k, e.Attrs[k])
	}
	return b.String()
}

// book is one monitor's captured log, across its runs.
type book struct {
	mu      sync.Mutex
	entries []entry
}

func (b *book) all() []entry {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.entries)
}

// events returns the entries whose event attribute is name, oldest first.
func (b *book) events(name string) []entry {
	var out []entry
	for _, e := range b.all() {
		if e.str(report.KeyEvent) == name {
			out = append(out, e)
		}
	}
	return out
}

// eventsWith returns the entries of event name whose attribute key is val.
func (b *book) eventsWith(name, key, val string) []entry {
	var out []entry
	for _, e := range b.events(name) {
		if e.str(key) == val {
			out = append(out, e)
		}
	}
	return out
}

// dump is the info-and-above log, for failure messages.
func (b *book) dump() string {
	var s strings.Builder
	for _, e := range b.all() {
		if e.Level >= slog.LevelInfo {
			s.WriteString(e.String())
			s.WriteByte('\n')
		}
	}
	return s.String()
}

// handler captures records into a book.
type handler struct {
	b        *book
	instance string
	attrs    []slog.Attr
	group    string
}

func (h *handler) Enabled(context.Context, slog.Level) bool { return true }

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = slices.Clone(h.attrs)
	for _, a := range as {
		if h.group != "" {
			a.Key = h.group + "." + a.Key
		}
		c.attrs = append(c.attrs, a)
	}
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	e := entry{Time: r.Time, Level: r.Level, Msg: r.Message, Attrs: map[string]slog.Value{}}
	var add func(prefix string, a slog.Attr)
	add = func(prefix string, a slog.Attr) {
		v := a.Value.Resolve()
		if v.Kind() == slog.KindGroup {
			p := a.Key
			if prefix != "" {
				p = prefix + "." + a.Key
			}
			for _, g := range v.Group() {
				add(p, g)
			}
			return
		}
		k := a.Key
		if prefix != "" {
			k = prefix + "." + k
		}
		e.Attrs[k] = v
	}
	for _, a := range h.attrs {
		add("", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		add(h.group, a)
		return true
	})
	h.b.mu.Lock()
	h.b.entries = append(h.b.entries, e)
	h.b.mu.Unlock()
	return nil
}

// memListener is a net.Listener with no network under it: Accept blocks
// until Close, so the daemon's HTTP endpoint runs inside the bubble.
type memListener struct {
	closed chan struct{}
	once   sync.Once
}

func newMemListener() *memListener { return &memListener{closed: make(chan struct{})} }

func (l *memListener) Accept() (net.Conn, error) {
	<-l.closed
	return nil, net.ErrClosed
}

func (l *memListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *memListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9414} }

// slowTransport delays GETs of the resources world.slow names, as a slow
// or congested ARM would: the request stays in flight until then, and its
// sender may give up first (its context ends: the request is abandoned).
type slowTransport struct {
	w    *world
	next policy.Transporter
}

func (t slowTransport) Do(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet {
		t.w.mu.Lock()
		d := t.w.slow[strings.ToLower(req.URL.Path)]
		t.w.mu.Unlock()
		if d > 0 {
			select {
			case <-time.After(d):
			case <-req.Context().Done():
				return nil, req.Context().Err()
			}
		}
	}
	return t.next.Do(req)
}

// setSlowGet makes ARM take d to answer each GET of resource id (0: at once).
func (w *world) setSlowGet(id string, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.slow == nil {
		w.slow = map[string]time.Duration{}
	}
	w.slow[strings.ToLower(id)] = d
}

// fastLine is the probe.fastInterval line of a config, "" for the default.
func fastLine(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return "\n  fastInterval: " + d.String()
}
