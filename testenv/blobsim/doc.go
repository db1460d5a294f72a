// Package blobsim is an in-memory twin of the Azure Blob service: an
// http.Handler that speaks the part of the Blob REST API the monitor's
// leader lease (monitor/internal/lease over azblob) uses, with Azure's
// semantics and error codes, so that a whole monitor cluster can run in one
// process, under testing/synctest's virtual time if wanted.
//
// Emulated operations (host-style URLs: https://<account>.blob.core.windows.net/<container>/<blob>;
// the first path segment is always the container):
//
//   - Create Container (PUT ?restype=container);
//   - List Blobs (GET ?restype=container&comp=list; prefix, marker,
//     maxresults; flat listing only);
//   - Put Blob (PUT, block blobs; conditions x-ms-lease-id, If-Match,
//     If-None-Match);
//   - Get Blob (GET, with x-ms-range/Range) and Get Blob Properties (HEAD);
//   - Delete Blob (DELETE; x-ms-lease-id, If-Match);
//   - Lease Blob (PUT ?comp=lease: acquire, renew, change, release, break).
//
// Anything else is answered with an Azure-shaped error (never silently
// ignored): an unknown operation with 400 or 405, a conditional header it
// does not emulate (If-Modified-Since, If-Unmodified-Since, x-ms-if-tags)
// with 400 UnsupportedHeader. Authorization is not checked.
//
// Time: the server reads its clock only through Options.Now (default
// time.Now), computes lease expiry lazily on each request, and starts no
// goroutines or timers, so it runs inside a synctest bubble. The Date and
// Last-Modified headers come from that clock (storage's clock), in RFC 1123
// format with whole seconds like Azure's; see Server for what the truncation
// means to a caller that computes an age as Date − Last-Modified.
//
// Faults and inspection for simulations: SetDown makes every request fail
// with 503 ServerBusy; Put and Delete change a blob behind every client's
// back (ignoring leases); Blob returns a blob's content and lease state for
// invariant checks.
//
// Usage:
//
//	srv := blobsim.New(blobsim.Options{Now: clock.Now})
//	c, err := blobsim.NewContainerClient(srv, "https://simstore.blob.core.windows.net/hanva", nil)
//	if err != nil { ... }
//	if _, err := c.Create(ctx, nil); err != nil { ... }
//	b, err := lease.NewBlob(lease.BlobOptions{Container: c, Blob: "leader", ...})
//	...
//	srv.SetDown(true) // storage outage
//	st, ok := srv.Blob("hanva", "leader")
//
// Sources: the REST reference on learn.microsoft.com, cited beside each
// rule (https://learn.microsoft.com/rest/api/storageservices/blob-service-rest-api).
// Where Azurite (the emulator the same contract suite runs against)
// answers differently, the code says so.
package blobsim
