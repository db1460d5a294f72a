// Package act converges Azure Resource Manager to the desired active NVA.
//
// It is level-triggered, in the manner of vip-manager's loop: given the target
// NVA, it reads every managed resource, compares it with what it must be
// ("is X, must be Y") and writes only the difference. Nothing is remembered
// between calls, so a run that crashed half-way is finished by the next one.
//
//   - Route tables: the NVA routes of a table are the VirtualAppliance routes
//     whose next hop is the private IP, IPv4 or IPv6, of any ipconfig of an
//     NVA NIC of the table's via role (addresses compared parsed, never as
//     text). Only those are rewritten, each to its counterpart on the
//     target's NIC of that role: the ipconfig of the same name if it has the
//     same IP version, else, for the primary ipconfig of an IP version, the
//     target's primary ipconfig of that version (the one flagged primary,
//     else the first of the version). An address without counterpart is
//     never replaced by one of the other version: the route is left alone,
//     logged as route_unmatched and listed in ResourceResult.Unmatched and
//     in Plan (Change.Unmatched); Observe lists such routes per table
//     (RouteTableState.Unmatched) and keeps them out of PointsAt
//     (docs/monitor.md#next-hop-matching). Every other route and property
//     (tags, disableBgpRoutePropagation, routes to other appliances or the
//     Internet) goes back as read. A table that differs gets ONE PUT of the
//     whole table with If-Match: <etag>; on 412 it is read again and
//     recomputed, never resent.
//   - Public IPs: the association lives on the NIC's ipconfig
//     (docs/azure-behaviour.md#public-ip-move), so a move is: PUT the old NIC without it, then PUT the target's
//     NIC of the public IP's via role with it (as {id} only) on the ipconfig
//     of the same name if it is of the public IP's version
//     (publicIPAddressVersion), else on the primary ipconfig of that version
//     (docs/azure-behaviour.md#ipv6: an IPv6 public IP rides on an IPv6
//     ipconfig). Each NIC PUT changes that one reference and nothing else,
//     with If-Match. A role carries at most two public IPs (an IPv4 and an
//     IPv6 one). Detaches are grouped so that a NIC gets one PUT; attaches to
//     one NIC run one after the other. A public IP attached to anything that is not an NVA NIC is
//     an error and is never touched. 400 PublicIPAddressInUse on attach sends
//     it back to a fresh read and detach.
//   - Floating IPs (floating.go): a static private address that lives as a
//     secondary ipconfig (FloatingIP.Name, default FloatingIPConfigName) on
//     the target's NIC of its role; route tables point at it and never
//     change. A move is the public IP's: PUT the NVA NIC holding it without
//     that ipconfig, wait, then PUT the target's NIC with it (Static, not
//     primary, in the subnet of the NIC's primary ipconfig of its IP
//     version: a NIC's ipconfigs share one subnet,
//     docs/azure-behaviour.md#nic-validation). One PUT per NIC per round,
//     both NICs fenced before the first write. 400
//     PrivateIPAddressIsAllocated on attach sends it back to a fresh read and
//     detach; when no NVA NIC of the role holds the address, twice in a row
//     means another NIC does: refused (unsafe), as is an ipconfig that is the
//     NIC's primary or carries anything but the address (public IP, pools,
//     NAT rules, ASGs). Logs floating_ip_detached and floating_ip_moved
//     (floating_ip, nva, ...), converge_failed with floating_ip.
//   - Private DNS records: an A or AAAA record set in a private zone
//     (docs/azure-behaviour.md#private-dns). Owned are its records that are
//     addresses of NVA NICs of its via role, and its metadata key EpochTag
//     (record sets carry metadata, not tags). Each other NVA's address is
//     replaced in place by the target's counterpart (the rule of route
//     tables; A holds IPv4 only, AAAA IPv6 only), or removed when that is a
//     record already; a record set left without the target's address gets
//     the target's primary address of its version. Records that are no NVA
//     address of the role, the TTL and every other metadata key go back as
//     read. One synchronous PUT with If-Match (412: re-read, recompute),
//     fenced and stamped through the metadata like tags. A missing record
//     set is an error (not_found), never created: the deployment owns it.
//     Logs dns_record_converged (dns_record, zone, type, nva, changed,
//     records, attempts, duration) and converge_failed (dns_record, ...).
//   - Backend pools (pool.go): IP-based pools of a load balancer
//     (loadBalancerBackendAddresses with ipAddress and virtualNetwork,
//     https://learn.microsoft.com/azure/load-balancer/backend-pool-management).
//     A member whose ipAddress is an address of another NVA's NIC of the
//     pool's role is replaced in place (entry name and virtualNetwork kept)
//     by its counterpart on the target, by the rule of route next hops, or
//     removed when that address is a member already; a pool without any NVA
//     member gets the target's primary IPv4 address (IPv6 if it has none).
//     Other members, pools, frontends, rules and probes go back as read. A
//     pool has no ETag or tags of its own, so the load balancer is read and
//     written whole: ONE PUT per load balancer for all its managed pools,
//     If-Match: <its etag>, epoch tag on the load balancer; 412 re-reads.
//     A NIC-based pool (membership on the NICs' ipconfigs) is refused
//     (reason unsafe), a missing one is not_found. Log:
//     backend_pool_converged (backend_pool, load_balancer, nva, changed,
//     attempts, duration).
//   - Concurrency: every route table has its own goroutine and all public IPs
//     share one, so route tables never wait for the two-step public IP move.
//     With an LRO latency L, all route tables converge in about L whatever
//     their number, and the public IP in about 2L (bench_test.go compares this
//     with the sequential order of mspnp/ha-nva).
//   - Retries: per resource, with exponential backoff and jitter, bounded by
//     OperationTimeout. Retried: 409 AnotherOperationInProgress, 429
//     RetryableErrorDueToAnotherOperation (a lock conflict), 429 throttling
//     (after Retry-After, which then holds back every request of the same kind
//     of this engine: ARM rejects anything sent before it elapses), 5xx,
//     operations that end Failed or Canceled, status polls that fail, and
//     transport errors. Every retry starts with a fresh read. Other 4xx are
//     reported, not retried. The SDK's own retries are off (see package
//     azure).
//   - Fencing: Options.BeforeWrite runs right before every PUT (the lease
//     check); an error aborts the write. The blob lease fences the blob
//     only, so ARM writes are fenced by the resources themselves
//     (docs/azure-behaviour.md#lease-fencing): right before every route table and NIC
//     PUT, Options.Epoch() is read and compared with the resource's tag
//     EpochTag ("hanva-epoch", tag names are case-insensitive) as just
//     read. A higher tag means a newer leader wrote it: the write is not
//     sent, the resource fails with ErrFenced (not retried) and the rest
//     of the Converge is cancelled at once, every other resource failing
//     with the same ErrFenced. Otherwise the PUT carries EpochTag = our
//     epoch, every other tag as read, in the same If-Match guarded body: a
//     newer leader's write between our read and our PUT makes it a 412,
//     and the re-read is fenced. A resource that needs no change gets no
//     write and no tag. A tag that is not an integer counts as 0 (logged
//     once). Without an epoch (Epoch nil or <= 0) nothing is tagged or
//     fenced. Observe reports each tag (RouteTableState.Epoch,
//     NICState.Epoch, Observed.MaxEpoch) so a monitor can see a newer
//     leader without writing; Plan marks the changes that would be fenced.
//   - Logs (attribute "event"): route_table_converged (route_table, nva,
//     changed, attempts, duration; info when changed, debug otherwise),
//     pip_detached (public_ip, nva it left, nic, duration), pip_moved
//     (public_ip, nva, attempts, duration), arm_retry (resource, err, delay,
//     attempt; warn), converge_failed (route_table or public_ip, nva, reason,
//     err, attempts, duration; when fenced by a tag also epoch, ours, and
//     resource_epoch, the tag's; error), epoch_tag_invalid (resource, tag, value, err;
//     warn, once per resource and value), route_unmatched (route_table,
//     route, next_hop, nva, reason; warn, each Converge that leaves it). Durations run from the start of
//     Converge. reason is one of fenced (BeforeWrite refused, or a higher
//     EpochTag, or stopped by another resource's fence), timeout, canceled,
//     forbidden, not_found, bad_request, conflict, unsafe (e.g. a public IP
//     on a foreign NIC), arm_error.
//
// # Polling trade-off
//
// The engine does not use the SDK's PollUntilDone: it first sleeps the
// Retry-After of the PUT response, 10 s from Microsoft.Network
// (docs/azure-behaviour.md#arm-lro), and then every later Retry-After, so a write that is done in 2 s is
// seen done after 10 s. Instead it polls the operation status itself: Poll,
// then wait PollInterval (default 500 ms). This ignores the server's polling
// hint on purpose, in exchange for failover latency. The cost is reads: one
// resource polled every 500 ms for a 30 s operation is 60 status reads, and a
// failover of 10 route tables and a public IP (3 NIC PUTs) about 800 reads at
// worst, against the Microsoft.Network budget of 10,000 reads per 5 minutes
// per subscription and region
// (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling#network-throttling).
// Failovers are rare; raise
// PollInterval if many monitors share a subscription. (The SDK's poller also
// refuses a PollUntilDone Frequency under 1 s outside go test; manual Poll
// loops have no such floor.)
//
// # Usage
//
//	s := azure.Settings{...}
//	clientOpts, _ := azure.ClientOptions(s)
//	cred, _ := azure.Credential(s, clientOpts)
//	eng, err := act.New(act.Topology{
//		NVAs: []act.NVA{
//			{Name: "nva-1", NICs: map[string]string{"internal": nic1Int, "external": nic1Ext}},
//			{Name: "nva-2", NICs: map[string]string{"internal": nic2Int, "external": nic2Ext}},
//		},
//		RouteTables: []act.Managed{{ID: rtSpokes, Via: "internal"}},
//		PublicIPs:   []act.Managed{{ID: pipFrontend, Via: "external"}},
//	}, cred, clientOpts, act.Options{Logger: log, BeforeWrite: lease.Check,
//		Epoch: func() int64 { return term.Load() }}) // the leader's epoch, from the lease state
//	obs, err := eng.Observe(ctx)      // where do things point now?
//	active, split := obs.Active()
//	if obs.MaxEpoch() > term.Load() { /* a newer leader exists: step down */ }
//	changes, err := eng.Plan(ctx, "nva-2") // dry run
//	report, err := eng.Converge(ctx, "nva-2")
//	if errors.Is(err, act.ErrFenced) { /* a newer leader exists: step down */ }
//	for _, r := range report.Resources { ... r.Changed, r.Attempts, r.Duration, r.Err }
package act
