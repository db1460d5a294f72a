// Package armsim is an HTTPS emulator of Azure Resource Manager for the
// Microsoft.Network resources hanva touches: routeTables (routes inline and as
// routes/{name}), networkInterfaces (ipConfigurations), publicIPAddresses,
// virtualNetworks (subnets), loadBalancers (backendAddressPools) and
// privateDnsZones (record sets). It is faithful
// enough that the unmodified armnetwork v7 clients (api-version 2025-01-01)
// and armprivatedns v1 (2024-06-01) work against it, and it
// behaves as docs/azure-behaviour.md describes (its ARM sections):
//
//   - every request needs api-version (400 MissingApiVersionParameter) and a
//     bearer token (401 AuthenticationFailed); errors are {"error":{"code","message"}};
//   - resource IDs are case-insensitive; responses echo the stored casing;
//   - PUT is a full replace accepted as a long-running operation: 201/200 with
//     provisioningState Creating/Updating, Azure-AsyncOperation, Retry-After,
//     x-ms-request-id; the new data is visible at once, and after the latency the
//     operation status says Succeeded and so does the resource. Read-only fields
//     in a PUT body are ignored; unknown properties are stored verbatim;
//   - each write gets a new weak etag (W/"<uuid>"), shared by sub-resources;
//     If-Match / If-None-Match give 412 PreconditionFailed;
//   - a write while the resource's operation runs gets 409 AnotherOperationInProgress;
//   - PATCH (UpdateTags) is synchronous; DELETE is 202 + operation;
//   - POST {nic}/effectiveRouteTable (Get Effective Route Table) is 202 +
//     operation, and its Location URL answers {"value":[...]}: the system
//     routes of the NIC's virtual network plus the routes of the route table
//     its subnet names (seed the subnet with
//     "properties":{"routeTable":{"id":...}}), a User route making the
//     Default route of the same prefix Invalid (action.go). It writes
//     nothing and logs no event; 404 for an unknown NIC;
//   - cross-resource rules: PublicIPAddressInUse, PublicIPReferencedByMultipleIPConfigs,
//     InvalidResourceReference, PrivateIPAddressIsAllocated/NotInSubnet/InReservedRange,
//     InvalidNextHopIpAddress, PublicIPAddressCannotBeDeleted; the public IP's
//     ipConfiguration back-reference follows NIC attach/detach;
//   - a floating private IP (a secondary Static ipconfig) moves as Azure
//     wants it (floatingip_test.go): adding it to NIC B while NIC A holds it
//     in the subnet is 400 PrivateIPAddressIsAllocated; a PUT of A without it
//     frees it at once (whether Azure waits for A's operation is unverified),
//     then B may take it; outside the subnet's prefix it is
//     PrivateIPAddressNotInSubnet, on a reserved address
//     PrivateIPAddressInReservedRange (docs/azure-behaviour.md#nic-validation);
//   - loadBalancers (loadbalancer.go) with backendAddressPools/{name} as
//     sub-resources like routes (GET, list, LRO PUT and DELETE, the load
//     balancer's etag, If-Match 412). IP-based pool members
//     (loadBalancerBackendAddresses with ipAddress and virtualNetwork) are
//     checked against Microsoft's "Backend pool management" limitations:
//     Standard SKU only, every address in the load balancer's virtual
//     network (the pool's virtualNetwork, the internal frontend's subnet),
//     a real IP address; 400 with codes that have no public source
//     (docs/azure-behaviour.md#lb-backend-pools). The limitations that matter
//     for HA ports and NVAs are in loadbalancer.go;
//   - private DNS (privatedns.go; armprivatedns v1.3.0, api-version
//     2024-06-01): privateDnsZones are ordinary resources (PUT and DELETE
//     are operations, PATCH of tags is synchronous); deleting a zone drops its
//     record sets. Record sets {zone}/{A|AAAA|CNAME|MX|PTR|SOA|SRV|TXT}/{name}
//     are synchronous, as RecordSet.tsp in Azure/azure-rest-api-specs defines
//     them: PUT 201/200, PATCH 200 (each given property replaces the stored
//     one), DELETE 200 (204 if absent), GET, list by type and ALL; no
//     Azure-AsyncOperation and no provisioningState. The name is stored
//     lower-cased (the spec examples do), the etag is a plain GUID, fqdn and
//     isAutoRegistered are filled in, metadata is kept as given. If-Match
//     (PUT, PATCH, DELETE) and If-None-Match: * (PUT) give 412
//     PreconditionFailed; 404 ParentResourceNotFound for a missing zone,
//     404 NotFound for a missing record set; 400 BadRequest for an A/AAAA
//     address that is not one or appears twice. The zone's SOA record set
//     "@" (values of the REST example) appears on first use of its record
//     sets; it can be updated, not deleted (400) nor created under another
//     name (400). Not emulated: the zone's record counters,
//     virtualNetworkLinks, $top and nextLink, OperationStatus faults
//     (nothing to poll);
//   - ARM's throttling as Microsoft documents it (throttle.go, off unless
//     Options.Throttling.Enabled or SetThrottling; docs/azure-behaviour.md#arm-throttling):
//     token buckets per subscription, region, principal and operation type
//     (reads 250 + 25/s; writes, i.e. PUT/PATCH/POST, 200 + 10/s; deletes
//     200 + 10/s), the subscription's global buckets of 15 times that shared
//     by all principals, and Microsoft.Network's 1,000 writes/deletes and
//     10,000 reads (every GET, operation-status polls too) per 5 minutes per
//     subscription and region (private DNS reads: 500). The region is the
//     resource's location (the stored resource's, else the PUT body's; an
//     operation's from its URL; "global" for a resource without one, lists
//     and permissions); the principal is the bearer token's, through
//     Throttling.Principals, else a JWT's oid claim, else one default.
//     Over a limit: 429 SubscriptionRequestsThrottled with Retry-After (the
//     wait for a token, whole seconds rounded up); until then the bucket
//     refuses every request, answering the time still to wait. A throttled
//     request takes no token from any bucket, uses up no fault, changes
//     nothing, and is logged as a throttled Event naming the bucket. Every
//     authenticated response carries x-ms-ratelimit-remaining-subscription-{kind}
//     and -global-{kind} of its own operation type, 429s included.
//     ThrottleLevels shows every bucket. Microsoft.Network's limits are a
//     sliding 5-minute window, not a bucket: the page states a count per 5
//     minutes and, unlike ARM's table, no refill rate, and the window is the
//     stricter reading (after a burst of 1,000 the next write waits until the
//     first leaves the window, not 0.3 s), so a client shaped to pass armsim
//     also passes either reading in Azure;
//   - a simpler write token bucket beside it (SetWriteThrottle: one bucket
//     for everything; its 429s are write_rejected events),
//     injected faults (fail the next N matching requests, apply a write but
//     lose its answer, let an operation end Failed or Canceled and revert),
//     and {scope}/providers/Microsoft.Authorization/permissions.
//
// Every write is logged as an Event (write_accepted, write_succeeded,
// write_rejected, write_failed) with the client's User-Agent and readable
// Changes, every request the throttling model refuses as a throttled Event;
// every ARM request as a Request. Options.Now, if set, is the emulator's
// clock (request times, operation completion, throttling), so tests can
// step time instead of sleeping. Operations complete lazily: the
// first look at the state after accept time + latency applies them, with
// the exact completion time, so no timers run.
//
// The SDK sends x-ms-client-request-id (Event.ClientRequestID) only if the
// client adds runtime.NewRequestIDPolicy() to its per-call policies.
//
// # In a test
//
//	srv, err := armsim.Start(armsim.Options{LROLatency: 20 * time.Millisecond, RetryAfter: -1})
//	if err != nil { t.Fatal(err) }
//	defer srv.Close()
//	_ = srv.Seed("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/routeTables/rt",
//		[]byte(`{"location":"westeurope","properties":{"routes":[...]}}`))
//	opts := &arm.ClientOptions{ClientOptions: policy.ClientOptions{
//		Cloud: cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
//			cloud.ResourceManager: {Endpoint: srv.URL(), Audience: "https://management.core.windows.net/"},
//		}},
//		Transport: srv.Client(),
//	}}
//	client, _ := armnetwork.NewRouteTablesClient("s", &fake.TokenCredential{}, opts)
//	// ... drive the code under test, then:
//	srv.InjectFault(armsim.Fault{Method: "PUT", PathContains: "/routeTables/", Status: 500, Count: 1})
//	srv.InjectFault(armsim.Fault{Method: "PUT", PathContains: "/networkInterfaces/", OperationStatus: "Canceled"})
//	srv.SetWriteThrottle(1, 2)
//	for _, ev := range srv.Events(0) { t.Log(ev.Kind, ev.ResourceID, ev.Changes) }
//
// Azure's throttling, two principals, on a clock the test steps:
//
//	clk := time.Now()
//	srv, _ := armsim.Start(armsim.Options{
//		Now: func() time.Time { return clk }, // guard with a mutex if requests run concurrently
//		Throttling: armsim.Throttling{Enabled: true, // Azure's numbers; override any for a test:
//			Writes:     armsim.Limit{Burst: 5},                   // 5 writes, refilled 10/s
//			Principals: map[string]string{"tok-a": "a", "tok-b": "b"}},
//	})
//	// ... requests with "Authorization: Bearer tok-a" draw from a's buckets
//	clk = clk.Add(time.Second)
//	for _, l := range srv.ThrottleLevels() { t.Log(l.Name, l.Region, l.Principal, l.Remaining, l.Throttled) }
//
// RetryAfter: -1 leaves Retry-After out, so PollUntilDone polls at its
// Frequency instead of the 10 s Azure asks for.
//
// # As a process
//
//	go run ./testenv/armsim/cmd/armsim --listen 127.0.0.1:8443 --ca-out ca.pem --seed seed.json --latency 1s [--throttling]
//
// prints "armsim listening on https://127.0.0.1:8443"; clients trust ca.pem.
// The control API on the same server (no authentication) drives it:
// POST /_armsim/seed {"resources":[{"id":"...","body":{...}}]},
// POST /_armsim/latency {"resourceType":"","latency":"2s"},
// POST /_armsim/faults {"method":"PUT","status":429,"code":"SubscriptionRequestsThrottled","retryAfter":"5s","count":1},
// DELETE /_armsim/faults, POST /_armsim/throttle {"perSecond":1,"burst":2},
// POST /_armsim/throttling {"enabled":true} (Throttling as JSON; "networkWindow":"5m";
// {"enabled":false} turns it off), GET /_armsim/throttling -> {"enabled","throttling","buckets"},
// POST /_armsim/permissions {"resourceId":"...","actions":["*"],"notActions":[]},
// GET /_armsim/events?since=N, GET /_armsim/requests, GET /_armsim/resource?id=....
package armsim
