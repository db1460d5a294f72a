package blobsim

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxListResults is List Blobs' page size limit and default.
const maxListResults = 5000

// The List Blobs response body
// (https://learn.microsoft.com/rest/api/storageservices/list-blobs#response-body).
type enumerationResults struct {
	XMLName         xml.Name    `xml:"EnumerationResults"`
	ServiceEndpoint string      `xml:"ServiceEndpoint,attr"`
	ContainerName   string      `xml:"ContainerName,attr"`
	Prefix          string      `xml:"Prefix,omitempty"`
	Marker          string      `xml:"Marker,omitempty"`
	MaxResults      int         `xml:"MaxResults,omitempty"`
	Blobs           listedBlobs `xml:"Blobs"` // always present, even empty: azblob dereferences it
	NextMarker      string      `xml:"NextMarker"`
}

type listedBlobs struct {
	Blob []listedBlob `xml:"Blob"`
}

type listedBlob struct {
	Name       string         `xml:"Name"`
	Properties blobProperties `xml:"Properties"`
}

type blobProperties struct {
	CreationTime  string `xml:"Creation-Time"`
	LastModified  string `xml:"Last-Modified"`
	Etag          string `xml:"Etag"`
	ContentLength int    `xml:"Content-Length"`
	ContentType   string `xml:"Content-Type"`
	BlobType      string `xml:"BlobType"`
	LeaseStatus   string `xml:"LeaseStatus"`
	LeaseState    string `xml:"LeaseState"`
	LeaseDuration string `xml:"LeaseDuration,omitempty"`
	AccessTier    string `xml:"AccessTier"`
	ServerEnc     bool   `xml:"ServerEncrypted"`
}

// List Blobs, flat: https://learn.microsoft.com/rest/api/storageservices/list-blobs
// The marker is opaque to clients; here it is the name of the first blob of
// the next page.
func (s *Server) listBlobs(r *http.Request, ctr string, now time.Time, resp *response) *apiError {
	c := s.containers[ctr]
	if c == nil {
		return errContainerNotFound
	}
	q := r.URL.Query()
	if q.Get("delimiter") != "" {
		return newError(http.StatusBadRequest, "UnsupportedQueryParameter", "blobsim emulates the flat listing only (no delimiter).")
	}
	max := maxListResults
	if v := q.Get("maxresults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListResults {
			return newError(http.StatusBadRequest, "OutOfRangeQueryParameterValue", "maxresults must be 1 to 5000.")
		}
		max = n
	}
	prefix, marker := q.Get("prefix"), q.Get("marker")
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	out := enumerationResults{
		ServiceEndpoint: scheme + "://" + r.Host + "/",
		ContainerName:   ctr,
		Prefix:          prefix,
		Marker:          marker,
		MaxResults:      0,
	}
	if q.Get("maxresults") != "" {
		out.MaxResults = max
	}
	for _, name := range c.sortedNames() {
		if !strings.HasPrefix(name, prefix) || name < marker {
			continue
		}
		if len(out.Blobs.Blob) == max {
			out.NextMarker = name
			break
		}
		b := c.blobs[name]
		b.lease.settle(now)
		p := blobProperties{
			CreationTime:  httpDate(b.created),
			LastModified:  httpDate(b.modified),
			Etag:          b.etag,
			ContentLength: len(b.data),
			ContentType:   b.contentType,
			BlobType:      "BlockBlob",
			LeaseStatus:   b.lease.status(),
			LeaseState:    b.lease.state,
			AccessTier:    "Hot",
			ServerEnc:     true,
		}
		if b.lease.state == stateLeased {
			p.LeaseDuration = "fixed"
			if b.lease.infinite {
				p.LeaseDuration = "infinite"
			}
		}
		out.Blobs.Blob = append(out.Blobs.Blob, listedBlob{Name: name, Properties: p})
	}
	body, err := xml.Marshal(out)
	if err != nil {
		return newError(http.StatusInternalServerError, "InternalError", "encode the listing: "+err.Error())
	}
	resp.body = append([]byte(xml.Header), body...)
	resp.header.Set("Content-Type", "application/xml")
	resp.header.Set("Content-Length", strconv.Itoa(len(resp.body)))
	return nil
}
