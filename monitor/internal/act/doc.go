// Package act converges Azure Resource Manager to the desired active NVA.
//
// It is level-triggered, in the manner of vip-manager's loop: given the target
// NVA, it reads every managed resource, compares it with what it must be
// ("is X, must be Y") and writes only the difference. Nothing a decision
// depends on is remembered between calls (the route tables Observe read
// only save reads, If-Match guarded; see Scale), so a run that crashed
// half-way is finished by the next one.
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
//     With an LRO latency L, all route tables converge in about L up to
//     Azure's write burst, and the public IP in about 2L (bench_test.go
//     compares this with the sequential order of mspnp/ha-nva); beyond the
//     burst, at the subscription's throttle floor (see Scale).
//   - Retries: per resource, with exponential backoff and jitter, bounded by
//     OperationTimeout. Retried: 409 AnotherOperationInProgress, 429
//     RetryableErrorDueToAnotherOperation (a lock conflict), 429 throttling
//     (after Retry-After, which then holds back every request of the same kind
//     in the same subscription: ARM rejects anything sent before it
//     elapses; see Scale), 5xx,
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
// # Scale: Azure's throttling
//
// ARM throttles with token buckets per subscription, region and principal:
// reads 250 refilled 25 a second, writes 200 refilled 10 a second
// (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling#regional-throttling-and-token-bucket-algorithm),
// and Microsoft.Network adds 1,000 writes and 10,000 reads per 5 minutes
// per subscription and region
// (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling#network-throttling).
// So N route tables in one subscription cannot converge faster than the
// floor L + max(0, N − 200)/10 s, whatever the client does; what the client
// can do wrong is send more than the budget, get 429s, and wait out their
// Retry-After (each 429 holds every request of its kind, and a request sent
// before it elapses gets a new one). The engine shapes its own traffic
// instead (limiter.go, subscription.go):
//
//   - Per subscription, one client-side token bucket per kind (reads,
//     writes), seeded with Azure's numbers (Options.ReadLimit, WriteLimit),
//     with FIFO waiters in three priorities: the few requests of the
//     sequential moves (NIC, load balancer and record set reads and writes)
//     first, then everything else, LRO status polls last, so hundreds of
//     operations in flight never starve a read a converge still needs.
//     EVERY request of the engine takes a token of its kind before it is
//     sent: a pipeline policy (shaper) on the subscription's clients, as
//     cloud-provider-azure puts its throttling gate in the pipeline. A write
//     takes its token before Options.BeforeWrite and the epoch fence, so no
//     wait for the budget comes between the lease check and the write.
//     Writes here are PUT, PATCH and POST (a POST effectiveRouteTable too),
//     as ARM counts them.
//   - The shaper learns from ARM's answers: x-ms-ratelimit-remaining-
//     subscription-{reads,writes} and -global-{reads,writes}
//     (request-limits-and-throttling#remaining-requests) lower the bucket to
//     what ARM says is left when that is lower (other clients of the same
//     principal draw from it), never raise it above the local refill. A
//     429 for quota (not 429 RetryableErrorDueToAnotherOperation, a lock)
//     empties it and holds every request of that kind in that subscription
//     until Retry-After. Another subscription is not slowed: nothing is
//     shared between subscriptions (limiters, holds, LRO estimates), so route
//     tables in ten subscriptions converge in parallel, each at its own pace.
//   - At most 32 reads of a subscription are on the wire at once
//     (maxReadsInFlight): far more than the 25 a second ARM refills, and an
//     Observe of 500 tables no longer opens 250 TLS connections at once.
//     Writes are not held there (nothing may wait between the lease check
//     and the write).
//   - Memory with hundreds of tables: Observe runs one worker per read
//     slot of a subscription (perSub), not a goroutine per table, and reads
//     route tables raw (readRouteTable: the same pipeline and api-version
//     as armnetwork), decoding only the fields it uses and caching the body
//     as ARM sent it; the SDK's models decode through a map of raw messages
//     per object and were most of what an Observe of 500 tables allocated.
//     A Converge reads and decodes at most 32 tables of a subscription at
//     once (the decide slots), released before the write.
//   - Reads of every monitor: ReadTime is what one Observe's reads need
//     at the refill rate, which the daemon allows its reads; ObserveFloor
//     is the shortest reconcile interval at which all monitors' periodic
//     reads take at most half of each read budget (the principal's, and
//     Microsoft.Network's 10,000 per 5 minutes that all monitors share),
//     which the daemon uses when it is longer than configured.
//   - Requests reach ARM later than they take their token, some much later
//     (a new TLS connection when hundreds leave at once), and ARM's bucket
//     refills from their arrival: each bucket keeps 300 ms of refill in
//     reserve (3 writes, 7.5 reads), so that the two do not drift into a
//     429 when both run dry. It costs 0.3 s per burst; one 429 would cost
//     a whole second of Retry-After for every request of the kind.
//   - Status polls. A poll is a read. The engine does not use the SDK's
//     PollUntilDone, which first sleeps the PUT's Retry-After, 10 s from
//     Microsoft.Network (docs/azure-behaviour.md#arm-lro), and every later
//     one: a write that is done in 2 s would be seen done after 10 s. It
//     polls itself, but not every PollInterval from the start: the
//     subscription learns how long its operations take (lroEstimate: the
//     shortest of the last 8 durations seen in 10 minutes), and each
//     operation is first polled when it may be done (that estimate plus a
//     tenth of PollInterval, at least PollInterval), then every
//     PollInterval, and from the third poll every n / (reads per second)
//     when n operations are in flight, so that polling stays within the
//     read refill. Before anything is known, one operation is the scout and
//     polls every PollInterval while the others wait for its answer. A
//     failover of 500 tables thus costs about one poll per write instead of
//     L / PollInterval: 500 polls, where the write budget spreads the writes
//     over 30 s and the read budget brings 1,000 reads.
//   - Reads saved at failover time: Observe (every reconcile) keeps the body
//     and ETag of each route table it read (tableCache, JSON, about 1 KB a
//     table, bounded by the managed set), and the first pass of a Converge
//     starts from it when it is younger than Options.CacheFor (default 1
//     minute: two default reconcile intervals, so a late Observe does not
//     empty it). The write built from it carries that ETag as If-Match, so
//     a table changed since gets 412 and is read again and recomputed, as
//     after any 412; a cached table that needs no write is read again
//     before it is declared converged; a write drops the entry (its ETag is
//     stale). Correctness never depends on the cache. Plan always reads.
//   - Report.Reads, Writes and Throttled count the requests of one Converge
//     (every try, polls included) and the 429s for quota among the answers.
//
// Measured (bench_scale_test.go, armsim with Azure's throttling and L = 1 s,
// the engine's defaults): 500 tables in one subscription converge within a
// few percent of the 31 s floor with no 429, 500 tables over ten
// subscriptions within a fraction of L of the 1 s floor; about one read and
// one write per table (README, Performance).
//
// Choose PollInterval against the failover time, not the budget: the
// limiter keeps polls within it. Lower Options.ReadLimit and WriteLimit
// when other clients of the same principal use the subscription heavily.
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
