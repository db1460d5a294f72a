package act

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
)

// tableCache keeps the last route table body Observe read, with its ETag,
// per managed table (so it is bounded by the managed set), for the first
// read of a Converge: at failover time every read saved is a read token
// left for the status polls (a leader observes every reconcile interval
// anyway). It is only ever a starting point. A write built from it carries
// its ETag as If-Match, so a table changed since fails with 412 and is read
// again and recomputed, as after any 412; a cached table that needs no write
// is read again before it is declared converged. Correctness never depends
// on it.
//
// Entries are the JSON ARM sent, compacted (about 1 KB for a table of a
// few routes), which also makes every use a deep copy.
type tableCache struct {
	mu sync.Mutex
	m  map[string]cachedTable
}

type cachedTable struct {
	body []byte
	at   time.Time
}

// put records body, a route table as ARM sent it, as read at at.
func (c *tableCache) put(r resource, body []byte, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedTable{}
	}
	c.m[r.key()] = cachedTable{body: body, at: at}
}

// get returns a copy of the table read no earlier than notBefore.
func (c *tableCache) get(r resource, notBefore time.Time) (armnetwork.RouteTable, bool) {
	c.mu.Lock()
	ct, ok := c.m[r.key()]
	c.mu.Unlock()
	var rt armnetwork.RouteTable
	if !ok || ct.at.Before(notBefore) || json.Unmarshal(ct.body, &rt) != nil {
		return rt, false
	}
	return rt, true
}

// body returns the table read no earlier than notBefore, as ARM sent it.
func (c *tableCache) body(r resource, notBefore time.Time) ([]byte, bool) {
	c.mu.Lock()
	ct, ok := c.m[r.key()]
	c.mu.Unlock()
	if !ok || ct.at.Before(notBefore) {
		return nil, false
	}
	return ct.body, true
}

// forget drops r: its ETag is stale once we write it.
func (c *tableCache) forget(r resource) {
	c.mu.Lock()
	delete(c.m, r.key())
	c.mu.Unlock()
}
