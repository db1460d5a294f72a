// Package azure is the one place nva-monitor builds Azure client options and
// credentials and classifies ARM errors.
//
// ClientOptions chooses the cloud (or an https ARMEndpoint override with the
// cloud's token audience), trusts Settings.CAFile on top of the system roots,
// names the monitor and its instance in the User-Agent
// ("hanva-nva-monitor/<version> (<instance>) azsdk-go-armnetwork/..."), and
// reports every ARM response to Settings.OnResponse for metrics.
//
// Retries: the options turn the SDK's retry policy off (MaxRetries -1). The
// act engine retries itself, per resource, with backoff and jitter bounded by
// its OperationTimeout, honouring Retry-After across all its goroutines, and
// re-reading before every new write (a blind SDK retry of a PUT would resend
// a body built from a stale read). Two retry layers would also multiply the
// attempts and hide them from the engine's report. Other callers can opt back
// in for a single call with policy.WithRetryOptions on its context.
//
// Write gate: with Settings.WriteGate set, the transport asks it right
// before every attempt of every write (not reads) leaves, after the bearer
// token policy, so a slow token refresh, an SDK retry or a re-send after a
// 401 claims challenge cannot carry a write past the lease deadline; a
// refused write is not sent and fails with ErrWriteRefused, and an allowed
// one is bounded by the time left (GateWrites).
//
// Classify turns an SDK error into an *Error matching one of the Err*
// sentinels with errors.Is while keeping the *azcore.ResponseError reachable
// with errors.As; RetryAfter reads the server's requested delay.
//
// Usage:
//
//	s := azure.Settings{
//		Cloud: cfg.Cloud, ARMEndpoint: cfg.ARMEndpoint, CAFile: cfg.CAFile,
//		Credential: cfg.Credential, Instance: cfg.Instance, Version: version.Version,
//		OnResponse: metrics.ARMResponse,
//		WriteGate: func(context.Context) (time.Duration, error) { return leader.Remaining() },
//	}
//	opts, err := azure.ClientOptions(s)
//	if err != nil { ... }
//	cred, err := azure.Credential(s, opts)
//	if err != nil { ... }
//	client, err := armnetwork.NewRouteTablesClient(subscriptionID, cred, opts)
//	...
//	_, err = client.Get(ctx, rg, name, nil)
//	switch err = azure.Classify(err); {
//	case errors.Is(err, azure.ErrThrottled):
//		d, _ := azure.RetryAfter(err) // wait at least d
//	case errors.Is(err, azure.ErrNotFound):
//		...
//	}
package azure
