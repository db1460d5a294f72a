package blobsim

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// Transport is an azcore policy.Transporter that hands each request to
// Handler in process, with no network, no goroutine and no timer: inside a
// testing/synctest bubble the whole round trip runs on virtual time.
type Transport struct {
	Handler http.Handler
}

var _ policy.Transporter = Transport{}

// Do serves req with t.Handler and returns the recorded response. A
// request whose context has already ended is not sent, as net/http does.
// The handler sees a server-side request: canonical header keys, a body
// (http.NoBody for none), TLS set for an https URL, Host, RequestURI and
// RemoteAddr.
func (t Transport) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in := req.Clone(ctx)
	// azcore sets some headers under non-canonical keys (x-ms-blob-type);
	// a server reading them off the wire sees canonical ones.
	in.Header = make(http.Header, len(req.Header))
	for k, v := range req.Header {
		ck := http.CanonicalHeaderKey(k)
		in.Header[ck] = append(in.Header[ck], v...)
	}
	if in.Body == nil {
		in.Body = http.NoBody
	}
	if in.Host == "" {
		in.Host = in.URL.Host
	}
	in.RequestURI = in.URL.RequestURI()
	in.RemoteAddr = "192.0.2.1:49152" // TEST-NET-1: a client with no network
	if in.URL.Scheme == "https" {
		in.TLS = &tls.ConnectionState{HandshakeComplete: true, ServerName: in.URL.Hostname()}
	}
	rec := httptest.NewRecorder()
	t.Handler.ServeHTTP(rec, in)
	resp := rec.Result()
	resp.Request = req // azcore's pollers and error messages read it
	return resp, nil
}

// Client retries: the values monitor/internal/azure gives the lease's
// container client for a 15 s lease (testenv cannot import the monitor's
// internal packages; keep them alike).
const (
	clientMaxRetries    = 2
	clientRetryDelay    = 200 * time.Millisecond
	clientMaxRetryDelay = time.Second
	clientTryTimeout    = 1250 * time.Millisecond
)

// NewContainerClient returns an azblob container client for containerURL
// (e.g. https://simstore.blob.core.windows.net/hanva; the path's first
// segment is the container) that sends its requests to h through
// Transport, with no credential. o may be nil: then retries are the
// monitor's (2 retries, 200 ms to 1 s apart, each try cut after 1.25 s);
// otherwise o is used as given except for its Transport.
func NewContainerClient(h http.Handler, containerURL string, o *container.ClientOptions) (*container.Client, error) {
	var opts container.ClientOptions
	if o != nil {
		opts = *o
	} else {
		opts.ClientOptions = azcore.ClientOptions{Retry: policy.RetryOptions{
			MaxRetries:    clientMaxRetries,
			RetryDelay:    clientRetryDelay,
			MaxRetryDelay: clientMaxRetryDelay,
			TryTimeout:    clientTryTimeout,
		}}
	}
	opts.Transport = Transport{Handler: h}
	return container.NewClientWithNoCredential(containerURL, &opts)
}
