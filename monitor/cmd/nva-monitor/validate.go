package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/hanva/hanva/monitor/config"
	"github.com/hanva/hanva/monitor/daemon"
	"github.com/hanva/hanva/monitor/internal/access"
	"github.com/hanva/hanva/monitor/internal/act"
	"github.com/hanva/hanva/monitor/internal/azure"
	"github.com/hanva/hanva/monitor/internal/egress"
)

func slogText(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// checker prints one line per check and remembers failures.
type checker struct {
	w        io.Writer
	failures int
	warnings int
	skipped  int
}

func (c *checker) ok(format string, args ...any) { fmt.Fprintf(c.w, "ok    "+format+"\n", args...) }
func (c *checker) warn(format string, args ...any) {
	c.warnings++
	fmt.Fprintf(c.w, "WARN  "+format+"\n", args...)
}
func (c *checker) fail(format string, args ...any) {
	c.failures++
	fmt.Fprintf(c.w, "FAIL  "+format+"\n", args...)
}
func (c *checker) skip(format string, args ...any) {
	c.skipped++
	fmt.Fprintf(c.w, "SKIP  "+format+"\n", args...)
}

func cmdValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, path := flags("validate", stderr)
	offline := fs.Bool("offline", false, "check the config file only; make no call to Azure")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := load(*path)
	if err != nil {
		return err
	}
	c := &checker{w: stdout}
	c.ok("config %s: %d NVAs, %d route tables, %d public IPs, %d floating IPs, %d backend pools, %d DNS records", *path, len(cfg.NVAs),
		len(cfg.RouteTables), len(cfg.PublicIPs), len(cfg.FloatingIPs), len(cfg.BackendPools), len(cfg.DNSRecords))
	if *offline {
		return nil
	}

	opts, cred, err := daemon.Azure(cfg, nil)
	if err != nil {
		return fmt.Errorf("set up azure clients: %w", err)
	}
	eng, err := act.New(daemon.Topology(cfg), cred, opts, act.Options{
		PollInterval: cfg.PollInterval.D(), OperationTimeout: cfg.OperationTimeout.D(), Logger: slogText(stderr),
	})
	if err != nil {
		return err
	}
	obs, err := eng.Observe(ctx)
	if err != nil {
		c.fail("read the managed resources: %v", err)
		return fmt.Errorf("%w: %d check(s) failed", errValidateFailed, c.failures)
	}
	checkObserved(c, cfg, obs)

	client, err := arm.NewClient("hanva-nva-monitor", "v1.0.0", cred, opts) // the module version only feeds telemetry; the User-Agent already names the monitor
	if err != nil {
		return fmt.Errorf("build ARM client: %w", err)
	}
	checkAccess(ctx, c, client, cfg)
	checkEgress(ctx, c, cfg, eng, obs, client.Endpoint())
	checkLease(ctx, c, cfg, stderr)

	if c.failures > 0 {
		return fmt.Errorf("%w: %d check(s) failed, %d warning(s)", errValidateFailed, c.failures, c.warnings)
	}
	skipped := ""
	if c.skipped > 0 {
		skipped = fmt.Sprintf(", %d skipped", c.skipped)
	}
	fmt.Fprintf(stdout, "\nAll checks passed (%d warning(s)%s).\n", c.warnings, skipped)
	return nil
}

// checkObserved checks what Azure holds against the config.
func checkObserved(c *checker, cfg *config.Config, obs *act.Observed) {
	// Roles that are next hops must forward: Azure accepts a route to a NIC
	// without IP forwarding and then drops the packets
	// (docs/azure-behaviour.md#ip-forwarding).
	forwardRoles := map[string]bool{}
	for _, rt := range cfg.RouteTables {
		forwardRoles[rt.Via] = true
	}
	// Route tables point at a floating IP or a load balancer's frontend,
	// and the packets reach the NVA's NIC with other destinations.
	for _, f := range cfg.FloatingIPs {
		forwardRoles[f.Via] = true
	}
	for _, p := range cfg.BackendPools {
		forwardRoles[p.Via] = true
	}
	ids := make([]string, 0, len(obs.NICs))
	for id := range obs.NICs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		n := obs.NICs[id]
		switch {
		case !n.Exists:
			c.fail("NIC %s (%s of %s) does not exist", shortID(id), n.Role, n.NVA)
		case !n.IPForwarding && forwardRoles[n.Role]:
			c.fail("NIC %s (%s of %s) has IP forwarding off but is a route next hop: turn on enableIPForwarding or Azure drops the forwarded packets", shortID(id), n.Role, n.NVA)
		case !n.IPForwarding:
			c.warn("NIC %s (%s of %s) has IP forwarding off", shortID(id), n.Role, n.NVA)
		default:
			c.ok("NIC %s (%s of %s): %s, IP forwarding on", shortID(id), n.Role, n.NVA, n.PrivateIP)
		}
	}
	for _, rt := range obs.RouteTables {
		switch {
		case rt.Mixed:
			c.fail("route table %s mixes next-hop roles (NVA routes via more than one NIC role); split it so each table has a single next hop role (%s)", shortID(rt.ID), rt.Via)
		case len(rt.Roles) == 1 && rt.Roles[0] != rt.Via:
			c.fail("route table %s: its NVA routes point at the NVAs' %s NICs but the config says via %s; fix routeTables[].via or the routes", shortID(rt.ID), rt.Roles[0], rt.Via)
		case rt.NVARoutes == 0:
			c.warn("route table %s has no route whose next hop is an NVA %s NIC: there is nothing in it to fail over", shortID(rt.ID), rt.Via)
		case len(rt.PointsAt) > 1:
			c.warn("route table %s points at several NVAs (%s): the daemon repairs this at start", shortID(rt.ID), strings.Join(rt.PointsAt, ", "))
		default:
			c.ok("route table %s: %d NVA route(s) via %s, on %s", shortID(rt.ID), rt.NVARoutes, rt.Via, strings.Join(rt.PointsAt, ", "))
		}
		// docs/monitor.md#next-hop-matching
		for _, u := range rt.Unmatched {
			c.warn("route table %s: a failover to %s cannot move route %q (%s): its next hop %s is on %s, %s; give the NVAs' NICs matching ipconfigs (same name and IP version) or the route stays on %s",
				shortID(rt.ID), u.To, u.Route, u.AddressPrefix, u.NextHop, u.From, u.Reason, u.From)
		}
		for _, r := range rt.OffRole {
			c.warn("route table %s: route %q (%s) has next hop %s on an NVA NIC of another role than via %s: a failover does not move it",
				shortID(rt.ID), r.Name, r.AddressPrefix, r.NextHopIP, rt.Via)
		}
	}
	for _, p := range obs.PublicIPs {
		switch {
		case p.AttachedTo == "" && p.NIC != "":
			c.fail("public IP %s is attached to %s, which is not an NVA NIC: the monitor will not take it away from there", shortID(p.ID), shortID(p.NIC))
		case p.AttachedTo == "":
			c.warn("public IP %s is not attached to any NIC: the daemon attaches it to the active NVA", shortID(p.ID))
		default:
			c.ok("public IP %s (%s) on %s", shortID(p.ID), p.Address, p.AttachedTo)
		}
	}
	checkSteering(c, obs)
	if active, split := obs.Active(); active == "" {
		c.warn("no managed resource points at an NVA yet: the daemon will pick the first healthy one")
	} else if split {
		c.warn("resources disagree on the active NVA: the daemon repairs this toward %s", active)
	}
}

// maxDNSTTL is the TTL above which validate warns: clients and resolvers
// keep an answer for up to its TTL, so a failover reaches them that much
// later (docs/monitor.md#dns-records).
const maxDNSTTL = 60

// checkSteering checks the floating IPs, backend pools and DNS records.
func checkSteering(c *checker, obs *act.Observed) {
	for _, f := range obs.FloatingIPs {
		switch {
		case f.Err != nil:
			c.fail("floating IP %s: cannot read the %s NICs: %v", f.IP, f.Via, f.Err)
		case f.HeldBy == "":
			c.warn("floating IP %s is on no %s NIC of an NVA: the daemon adds it, as ipconfig %s, to the active NVA's", f.IP, f.Via, f.Name)
		default:
			c.ok("floating IP %s on %s (%s/%s)", f.IP, f.HeldBy, shortID(f.NIC), f.IPConfig)
		}
	}
	for _, p := range obs.BackendPools {
		switch {
		case p.Err != nil:
			c.fail("backend pool %s: %v", shortID(p.ID), p.Err)
		case len(p.PointsAt) == 0:
			c.warn("backend pool %s holds no NVA's %s address: the daemon adds the active NVA's", shortID(p.ID), p.Via)
		case len(p.PointsAt) > 1:
			c.warn("backend pool %s holds several NVAs (%s): the load balancer spreads flows over them until the daemon leaves only the active one",
				shortID(p.ID), strings.Join(p.PointsAt, ", "))
		default:
			c.ok("backend pool %s: %s (%s)", shortID(p.ID), p.PointsAt[0], strings.Join(p.Members, ", "))
		}
	}
	for _, r := range obs.DNSRecords {
		switch {
		case r.Err != nil:
			c.fail("DNS record %s: %v", shortID(r.ID), r.Err)
		case len(r.PointsAt) == 0:
			c.warn("DNS record %s holds no NVA's %s address: the daemon sets the active NVA's", shortID(r.ID), r.Via)
		case len(r.PointsAt) > 1:
			c.warn("DNS record %s holds several NVAs (%s): clients pick any until the daemon leaves only the active one",
				shortID(r.ID), strings.Join(r.PointsAt, ", "))
		default:
			c.ok("DNS record %s (%s, TTL %d s): %s", shortID(r.ID), r.Type, r.TTL, r.PointsAt[0])
		}
		if r.Err == nil && r.TTL > maxDNSTTL {
			c.warn("DNS record %s has a TTL of %d s: clients may keep the failed NVA's address that long after a failover; lower it to 10-30 s",
				shortID(r.ID), r.TTL)
		}
	}
}

// checkAccess checks the identity may read and write what failover touches.
func checkAccess(ctx context.Context, c *checker, client *arm.Client, cfg *config.Config) {
	check := func(kind, id string, want []string) {
		missing, err := access.Missing(ctx, client, id, want)
		switch {
		case err != nil:
			c.fail("cannot read the identity's permissions on %s %s: %v", kind, shortID(id), err)
		case len(missing) > 0:
			c.fail("the identity lacks %s on %s %s: grant the monitor's role there", strings.Join(missing, ", "), kind, shortID(id))
		default:
			c.ok("identity may %s on %s %s", strings.Join(verbs(want), " and "), kind, shortID(id))
		}
	}
	for _, rt := range cfg.RouteTables {
		check("route table", rt.ID, access.RouteTableActions)
	}
	seen := map[string]bool{}
	for _, n := range cfg.NVAs {
		for _, id := range n.NICs {
			if !seen[strings.ToLower(id)] {
				seen[strings.ToLower(id)] = true
				check("NIC", id, access.NICActions)
			}
		}
	}
	for _, p := range cfg.PublicIPs {
		check("public IP", p.ID, access.PublicIPActions)
	}
	// Floating IPs need nothing beyond the NVA NICs' actions checked above.
	seen = map[string]bool{}
	for _, p := range cfg.BackendPools {
		id, err := config.ParseChildResourceID(p.ID)
		if err != nil {
			continue // refused when the config was loaded
		}
		lb := id.Parent().String()
		if !seen[strings.ToLower(lb)] {
			seen[strings.ToLower(lb)] = true
			check("load balancer", lb, access.LoadBalancerActions)
		}
	}
	for _, r := range cfg.DNSRecords {
		want := access.DNSRecordActions
		if id, err := config.ParseChildResourceID(r.ID); err == nil && id.IsType(config.TypePrivateDNSAAAARecord) {
			want = access.DNSRecordAAAAActions
		}
		check("DNS record", r.ID, want)
	}
	if cfg.InstanceNIC != "" {
		check("monitor NIC", cfg.InstanceNIC, access.InstanceNICActions)
	}
}

func verbs(actions []string) []string {
	var out []string
	for _, a := range actions {
		i := strings.LastIndex(a, "/")
		v := a[i+1:]
		if v == "action" {
			rest := a[:i]
			v = rest[strings.LastIndex(rest, "/")+1:]
		}
		if v == "effectiveRouteTable" {
			v = "read the effective routes"
		}
		out = append(out, v)
	}
	return out
}

// Public pages the egress check's messages cite.
const (
	docEffectiveRoutes = "https://learn.microsoft.com/azure/virtual-network/diagnose-network-routing-problem"
	docNICPermissions  = "https://learn.microsoft.com/azure/virtual-network/virtual-network-network-interface#permissions"
)

// checkEgress reads the effective routes of the monitor's own NIC (config
// instanceNic) and judges, with package egress, the way the monitor's
// traffic takes to ARM and, with a blob lease, to the lease's storage
// account: through a managed NVA, or nowhere (next hop None, no route), a
// failover cuts the monitors off exactly when they must act.
func checkEgress(ctx context.Context, c *checker, cfg *config.Config, eng *act.Engine, obs *act.Observed, armEndpoint string) {
	const what = "monitor's way out to ARM and Storage"
	if cfg.InstanceNIC == "" {
		c.skip("%s: instanceNic is not set, so its NIC's effective routes are not checked; set instanceNic to this "+
			"monitor VM's NIC resource ID (the Pulumi Monitor component writes it) and grant the monitor's identity "+
			"%s on that NIC", what, strings.Join(access.InstanceNICActions, ", "))
		return
	}
	nic := shortID(cfg.InstanceNIC)
	routes, err := eng.EffectiveRoutes(ctx, cfg.InstanceNIC)
	switch {
	case errors.Is(err, azure.ErrForbidden):
		c.fail("monitor NIC %s: cannot read its effective routes: %v; grant the monitor's identity %s on it (%s)",
			nic, err, strings.Join(access.InstanceNICActions, ", "), docNICPermissions)
		return
	case errors.Is(err, azure.ErrNotFound):
		c.fail("monitor NIC %s does not exist (%v); set instanceNic to this monitor VM's own NIC resource ID", nic, err)
		return
	case err != nil:
		c.fail("monitor NIC %s: cannot read its effective routes: %v (Azure computes them only for a NIC attached to a running VM: %s)",
			nic, err, docEffectiveRoutes)
		return
	}
	in := make([]egress.Route, len(routes))
	for i, r := range routes {
		in[i] = egress.Route{Name: r.Name, Source: r.Source, State: r.State, Prefixes: r.Prefixes,
			NextHopType: r.NextHopType, NextHopIPs: r.NextHopIPs}
	}
	env := egressEnv(obs)
	for _, dst := range destinations(ctx, cfg, armEndpoint) {
		v := egress.Judge(in, dst, env)
		switch v.Level {
		case egress.Fail:
			c.fail("monitor NIC %s: %s", nic, v.Message)
		case egress.Warn:
			c.warn("monitor NIC %s: %s", nic, v.Message)
		default:
			c.ok("monitor NIC %s: %s", nic, v.Message)
		}
	}
}

// destinations are what the monitor must reach: ARM, and the storage
// account of a blob lease. Host names are resolved here, on the monitor
// VM when validate runs there (a private endpoint resolves to its private
// address only inside the virtual network).
func destinations(ctx context.Context, cfg *config.Config, armEndpoint string) []egress.Destination {
	resolve := func(name, rawURL, tag string) egress.Destination {
		d := egress.Destination{Name: name, Host: rawURL, Tags: []string{tag}}
		if u, err := url.Parse(rawURL); err == nil && u.Hostname() != "" {
			d.Host = u.Hostname()
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if a, err := egress.Resolve(rctx, net.DefaultResolver, d.Host); err == nil {
			d.Addr = a
		}
		return d
	}
	out := []egress.Destination{resolve("ARM", armEndpoint, egress.TagARM)}
	if cfg.Lease.Kind == config.LeaseBlob {
		out = append(out, resolve("Storage", cfg.Lease.URL, egress.TagStorage))
	}
	return out
}

// egressEnv is what the egress check knows of the managed resources: every
// private IP of every NVA NIC, and the managed route tables' routes.
func egressEnv(obs *act.Observed) egress.Env {
	env := egress.Env{NVAs: map[netip.Addr]egress.NVA{}}
	for id, n := range obs.NICs {
		for _, ip := range append([]string{n.PrivateIP}, n.PrivateIPs...) {
			if a, err := netip.ParseAddr(ip); err == nil {
				env.NVAs[a.Unmap()] = egress.NVA{Name: n.NVA, Role: n.Role, NIC: shortID(id)}
			}
		}
	}
	for _, rt := range obs.RouteTables {
		t := egress.Table{Name: shortID(rt.ID)}
		for _, r := range rt.Routes {
			er := egress.Route{Name: r.Name, Prefixes: []string{r.AddressPrefix}, NextHopType: r.NextHopType}
			if r.NextHopIP != "" {
				er.NextHopIPs = []string{r.NextHopIP}
			}
			t.Routes = append(t.Routes, er)
		}
		env.Tables = append(env.Tables, t)
	}
	return env
}

// checkLease checks the shared storage of a blob lease answers: the leader
// blob's lease state and the shared state can be read.
func checkLease(ctx context.Context, c *checker, cfg *config.Config, stderr io.Writer) {
	sh, err := daemon.NewShared(cfg, slogText(stderr))
	if err != nil {
		c.fail("lease: %v", err)
		return
	}
	if sh == nil {
		c.ok("lease: none (one monitor)")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	info, err := sh.Info(ctx)
	if err != nil {
		c.fail("lease blob %s: cannot read it: %v (the identity needs Storage Blob Data Contributor on its container)", cfg.Lease.URL, err)
		return
	}
	leader := info.Leader
	if leader == "" {
		leader = "none yet"
	}
	c.ok("lease blob %s: lease %s/%s, leader %s, epoch %d", cfg.Lease.URL, orDash(info.LeaseState), orDash(info.LeaseStatus), leader, info.Epoch)
}
