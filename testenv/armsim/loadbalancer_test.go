package armsim_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/hanva/hanva/testenv/armsim"
)

const (
	lbID      = netPath + "/loadBalancers/lb-nva"
	otherVNet = netPath + "/virtualNetworks/vnet-spoke"
)

func seedLoadBalancer(t *testing.T, s *armsim.Server) {
	t.Helper()
	seedTopology(t, s)
	seed(t, s, lbID, `{"location":"westeurope","sku":{"name":"Standard","tier":"Regional"},"properties":{
		"frontendIPConfigurations":[{"name":"fe","properties":{"privateIPAddress":"10.0.1.100","privateIPAllocationMethod":"Static","subnet":{"id":"`+subnetID+`"}}}],
		"backendAddressPools":[{"name":"nvas","properties":{}}],
		"loadBalancingRules":[{"name":"ha-ports","properties":{"protocol":"All","frontendPort":0,"backendPort":0,"enableFloatingIP":true}}]}}`)
}

func backendAddress(name, ip, vnet string) *armnetwork.LoadBalancerBackendAddress {
	return &armnetwork.LoadBalancerBackendAddress{Name: to(name), Properties: &armnetwork.LoadBalancerBackendAddressPropertiesFormat{
		IPAddress: to(ip), VirtualNetwork: &armnetwork.SubResource{ID: to(vnet)},
	}}
}

func TestBackendPoolMembersChangeWithIfMatch(t *testing.T) {
	e := start(t, armsim.Options{LROLatency: 20 * time.Millisecond})
	seedLoadBalancer(t, e.srv)
	c := ctx(t)
	pools := e.factory.NewLoadBalancerBackendAddressPoolsClient()

	pool, err := pools.Get(c, rg, "lb-nva", "nvas", nil)
	if err != nil {
		t.Fatalf("get pool: %v", err)
	}
	if *pool.ID != lbID+"/backendAddressPools/nvas" || *pool.Type != "Microsoft.Network/loadBalancers/backendAddressPools" || pool.Etag == nil {
		t.Fatalf("pool: %+v", pool.BackendAddressPool)
	}
	stale := *pool.Etag

	// Fail over: the pool holds the standby only, fenced by the etag read.
	pool.Properties.LoadBalancerBackendAddresses = []*armnetwork.LoadBalancerBackendAddress{backendAddress("nva-b", "10.0.1.5", vnetID)}
	fenced := policy.WithHTTPHeader(c, http.Header{"If-Match": {stale}})
	p, err := pools.BeginCreateOrUpdate(fenced, rg, "lb-nva", "nvas", pool.BackendAddressPool, nil)
	if err != nil {
		t.Fatalf("put pool with the current etag: %v", err)
	}
	updated, polls := pollManually(t, c, p)
	addrs := updated.Properties.LoadBalancerBackendAddresses
	if polls == 0 || len(addrs) != 1 || *addrs[0].Properties.IPAddress != "10.0.1.5" || *updated.Etag == stale ||
		*updated.Properties.ProvisioningState != armnetwork.ProvisioningStateSucceeded {
		t.Fatalf("after %d polls: %+v", polls, updated.Properties)
	}

	// A writer that read before that update gets 412 and changes nothing.
	pool.Properties.LoadBalancerBackendAddresses = []*armnetwork.LoadBalancerBackendAddress{backendAddress("nva-a", "10.0.1.4", vnetID)}
	_, err = pools.BeginCreateOrUpdate(fenced, rg, "lb-nva", "nvas", pool.BackendAddressPool, nil)
	wantARMError(t, err, http.StatusPreconditionFailed, "PreconditionFailed")

	lb, err := e.factory.NewLoadBalancersClient().Get(c, rg, "lb-nva", nil)
	if err != nil {
		t.Fatalf("get load balancer: %v", err)
	}
	if *lb.Etag != *updated.Etag || len(lb.Properties.LoadBalancingRules) != 1 || !*lb.Properties.LoadBalancingRules[0].Properties.EnableFloatingIP ||
		*lb.Properties.BackendAddressPools[0].Properties.LoadBalancerBackendAddresses[0].Properties.IPAddress != "10.0.1.5" {
		t.Fatalf("load balancer after the pool write: etag %s, %+v", *lb.Etag, lb.Properties)
	}
	var changes []string
	for _, ev := range eventsOf(e.srv, armsim.KindWriteAccepted) {
		changes = append(changes, ev.ResourceID+": "+strings.Join(ev.Changes, "; "))
	}
	if len(changes) != 1 || changes[0] != lbID+`/backendAddressPools/nvas: backend pool "nvas" properties changed` {
		t.Fatalf("accepted writes: %q", changes)
	}
}

func TestIPBasedBackendAddressesMustBeInTheLoadBalancersVirtualNetwork(t *testing.T) {
	tests := []struct {
		name     string
		pool     armnetwork.BackendAddressPool
		wantCode string
	}{
		{"an address in another virtual network than the frontend's subnet is refused",
			armnetwork.BackendAddressPool{Properties: &armnetwork.BackendAddressPoolPropertiesFormat{
				LoadBalancerBackendAddresses: []*armnetwork.LoadBalancerBackendAddress{backendAddress("spoke", "10.1.0.4", otherVNet)}}},
			"LoadBalancerBackendAddressInDifferentVirtualNetwork"},
		{"an address in another virtual network than the pool's is refused",
			armnetwork.BackendAddressPool{Properties: &armnetwork.BackendAddressPoolPropertiesFormat{
				VirtualNetwork:               &armnetwork.SubResource{ID: to(vnetID)},
				LoadBalancerBackendAddresses: []*armnetwork.LoadBalancerBackendAddress{backendAddress("a", "10.0.1.4", vnetID), backendAddress("spoke", "10.1.0.4", otherVNet)}}},
			"LoadBalancerBackendAddressInDifferentVirtualNetwork"},
		{"an address that is not an IP address is refused",
			armnetwork.BackendAddressPool{Properties: &armnetwork.BackendAddressPoolPropertiesFormat{
				LoadBalancerBackendAddresses: []*armnetwork.LoadBalancerBackendAddress{backendAddress("a", "10.0.1.400", vnetID)}}},
			"InvalidLoadBalancerBackendAddressIpAddress"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, armsim.Options{})
			seedLoadBalancer(t, e.srv)
			_, err := e.factory.NewLoadBalancerBackendAddressPoolsClient().BeginCreateOrUpdate(ctx(t), rg, "lb-nva", "nvas", tt.pool, nil)
			wantARMError(t, err, http.StatusBadRequest, tt.wantCode)
		})
	}

	t.Run("a pool's virtualNetwork covers addresses that name none", func(t *testing.T) {
		e := start(t, armsim.Options{})
		seedLoadBalancer(t, e.srv)
		c := ctx(t)
		pool := armnetwork.BackendAddressPool{Properties: &armnetwork.BackendAddressPoolPropertiesFormat{
			VirtualNetwork: &armnetwork.SubResource{ID: to(vnetID)},
			LoadBalancerBackendAddresses: []*armnetwork.LoadBalancerBackendAddress{{Name: to("a"),
				Properties: &armnetwork.LoadBalancerBackendAddressPropertiesFormat{IPAddress: to("10.0.1.4")}}}}}
		p, err := e.factory.NewLoadBalancerBackendAddressPoolsClient().BeginCreateOrUpdate(c, rg, "lb-nva", "nvas", pool, nil)
		if err != nil {
			t.Fatalf("put: %v", err)
		}
		pollManually(t, c, p)
	})

	t.Run("a Basic load balancer takes no IP-based members", func(t *testing.T) {
		e := start(t, armsim.Options{})
		seedLoadBalancer(t, e.srv)
		seed(t, e.srv, lbID, `{"location":"westeurope","sku":{"name":"Basic"},"properties":{"backendAddressPools":[{"name":"nvas","properties":{}}]}}`)
		pool := armnetwork.BackendAddressPool{Properties: &armnetwork.BackendAddressPoolPropertiesFormat{
			LoadBalancerBackendAddresses: []*armnetwork.LoadBalancerBackendAddress{backendAddress("a", "10.0.1.4", vnetID)}}}
		_, err := e.factory.NewLoadBalancerBackendAddressPoolsClient().BeginCreateOrUpdate(ctx(t), rg, "lb-nva", "nvas", pool, nil)
		wantARMError(t, err, http.StatusBadRequest, "IPBasedBackendAddressPoolRequiresStandardSku")
	})
}
