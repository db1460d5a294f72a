package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// BlobLocation is where a blob lease lives, split the way the Azure Storage
// clients take it: a service URL for the account, then container and blob.
type BlobLocation struct {
	// ServiceURL is the account's blob endpoint, with no trailing "/":
	// "https://acct.blob.core.windows.net", or for an emulator on a loopback
	// address "http://127.0.0.1:10000/devstoreaccount1" (the account is in
	// the path there).
	ServiceURL string
	// Account is the storage account name: the first label of the host, or
	// on a loopback address the first segment of the path.
	Account string
	// Container is the container name.
	Container string
	// Blob is the blob name within the container, unescaped; it may contain "/".
	Blob string
}

// Lease URL limits. Names follow Azure's "Naming and Referencing Containers,
// Blobs, and Metadata" (learn.microsoft.com/rest/api/storageservices):
// accounts 3-24 lower-case letters and digits; containers 3-63 lower-case
// letters, digits and single hyphens, starting and ending with a letter or
// digit; blob names up to 1024 characters, best not ending in "." or "/".
var (
	accountRE   = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	containerRE = regexp.MustCompile(`^[a-z0-9](-?[a-z0-9])*$`)
)

// maxLeaseBlobName leaves room in Azure's 1024 characters for the names the
// lease derives from the leader blob's: "<blob>.views/<instance>.json" with
// an instance of up to 128 characters, and "<blob>.request.json".
const maxLeaseBlobName = 1024 - len(".views/") - 128 - len(".json")

// exampleLeaseURL shows how a blob lease URL is written.
const exampleLeaseURL = "https://<account>.blob.core.windows.net/<container>/<blob>"

// blobURLError says what is wrong with a lease URL. Reason reads after the
// (redacted) URL ("has no container; ..."), so the validator can embed it.
type blobURLError struct {
	URL    string // redacted: no user info, no query
	Reason string
}

func (e *blobURLError) Error() string {
	return fmt.Sprintf("parse lease url %q: %s", e.URL, e.Reason)
}

// Parse splits the lease URL into service URL, account, container and blob.
// It accepts
//
//	https://acct.blob.core.windows.net/container/blob/path   (virtual-host style: account = first host label)
//	https://acct.blob.core.chinacloudapi.cn/container/blob   (any other blob endpoint, same rule)
//	http://127.0.0.1:10000/devstoreaccount1/container/blob   (path style, loopback hosts only: emulators)
//
// and refuses a URL that is not http(s), plain http to a host that is not a
// loopback address (127.0.0.0/8, ::1, localhost), user info, a query (a SAS
// token in config is refused: the monitor signs in with its credential), a
// fragment, and missing or malformed account, container or blob names. The
// error says what to write instead; it never repeats a query or user info,
// which may hold a secret. Parse does not check Kind or the credential;
// Validate does.
func (l Lease) Parse() (BlobLocation, error) {
	raw := l.URL
	fail := func(format string, args ...any) (BlobLocation, error) {
		return BlobLocation{}, &blobURLError{URL: redactURL(raw), Reason: fmt.Sprintf(format, args...)}
	}
	if strings.TrimSpace(raw) == "" {
		return fail("is empty; write the leader blob's URL, like %q", exampleLeaseURL)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return fail("is not an absolute URL; write it like %q", exampleLeaseURL)
	}
	host := u.Hostname()
	loopback := isLoopbackHost(host)
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return fail("has scheme %q; a blob URL starts with https://, like %q", u.Scheme, exampleLeaseURL)
	case u.Scheme == "http" && !loopback:
		return fail("is plain http, which is only for a storage emulator on a loopback address "+
			"(127.0.0.1, ::1, localhost); use https, like %q", "https://"+u.Host+u.EscapedPath())
	case u.User != nil:
		return fail("has user info before the host; remove it (the monitor signs in with lease.credential, not with the URL)")
	case u.RawQuery != "" || u.ForceQuery:
		if q, err := url.ParseQuery(u.RawQuery); err != nil || q.Has("sig") || q.Has("sv") || q.Has("se") {
			return fail("has a SAS token: no SAS tokens in config; the monitor uses its managed identity " +
				"(lease.credential); remove the \"?\" and everything after it")
		}
		return fail("has a query; a blob URL needs none, so remove the \"?\" and everything after it")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fail("has a fragment; remove the \"#\" and everything after it")
	}

	var loc BlobLocation
	loc.ServiceURL = u.Scheme + "://" + u.Host
	path := strings.TrimPrefix(u.Path, "/")
	if loopback {
		// Path style: the account is the first segment.
		account, rest, _ := strings.Cut(path, "/")
		if account == "" {
			return fail("names no storage account; on an emulator the path starts with the account, like %q",
				loc.ServiceURL+"/devstoreaccount1/<container>/<blob>")
		}
		if !accountRE.MatchString(account) {
			return fail("has account %q (on an emulator, the first segment of the path), which is not a storage "+
				"account name: use 3-24 lower-case letters and digits, like devstoreaccount1", account)
		}
		loc.Account, loc.ServiceURL, path = account, loc.ServiceURL+"/"+account, rest
	} else {
		if _, err := netip.ParseAddr(host); err == nil {
			return fail("has the IP address %s as its host; write the storage account's blob endpoint, like %q "+
				"(an account in the path is only for an emulator on a loopback address)", host, exampleLeaseURL)
		}
		label, _, dotted := strings.Cut(strings.ToLower(host), ".")
		if !dotted || !accountRE.MatchString(label) {
			return fail("has host %q, which does not start with a storage account name (3-24 lower-case letters "+
				"and digits); write the account's blob endpoint, like %q", host, exampleLeaseURL)
		}
		loc.Account = label
	}

	container, blob, _ := strings.Cut(path, "/")
	emulator := "" // on a loopback host, a reminder of the path-style shape
	if loopback {
		emulator = " (on an emulator the path is /<account>/<container>/<blob>)"
	}
	switch {
	case container == "":
		return fail("names no container%s; write it like %q", emulator, loc.ServiceURL+"/<container>/<blob>")
	case !containerRE.MatchString(container) || len(container) < 3 || len(container) > 63:
		like := "hanva"
		if l := strings.ToLower(container); containerRE.MatchString(l) && len(l) >= 3 && len(l) <= 63 {
			like = l
		}
		return fail("has container %q, which is not a container name: use 3-63 lower-case letters, digits and "+
			"single hyphens, starting and ending with a letter or digit, like %q", container, like)
	case blob == "":
		return fail("names container %q but no blob%s; add the leader blob's name, like %q",
			container, emulator, loc.ServiceURL+"/"+container+"/leader")
	case strings.Contains(blob, "//"):
		return fail("has blob name %q, which has an empty segment (\"//\"); use single slashes", blob)
	case slices.ContainsFunc(strings.Split(blob, "/"), func(s string) bool { return s == "." || s == ".." }):
		return fail("has blob name %q, which has a \".\" or \"..\" segment that URLs resolve away; name the blob without it", blob)
	case strings.HasSuffix(blob, "/") || strings.HasSuffix(blob, "."):
		like := strings.TrimRight(blob, "./")
		if like == "" {
			like = "leader"
		}
		return fail("has blob name %q, which ends with %q; Azure advises against names ending in \".\" or \"/\", "+
			"so remove it, like %q", blob, blob[len(blob)-1:], loc.ServiceURL+"/"+container+"/"+like)
	case strings.IndexFunc(blob, unicode.IsControl) >= 0:
		return fail("has blob name %q, which contains a control character; remove it", blob)
	case len(blob) > maxLeaseBlobName:
		return fail("has a blob name %d bytes long; keep it to %d, so that the view and request blobs named after it "+
			"fit Azure's limit of 1024", len(blob), maxLeaseBlobName)
	}
	loc.Container, loc.Blob = container, blob
	return loc, nil
}

// isLoopbackHost reports whether host (as url.URL.Hostname returns it) is
// localhost or a loopback IP address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// redactURL returns raw without user info, query and fragment, for messages:
// a SAS token or password must not end up in a log. What was cut is shown
// as "…".
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexAny(raw, "?#@"); i >= 0 {
			return raw[:i] + "…"
		}
		return raw
	}
	if u.User == nil && u.RawQuery == "" && !u.ForceQuery && u.Fragment == "" && !strings.Contains(raw, "#") {
		return raw
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String() + "…"
}
