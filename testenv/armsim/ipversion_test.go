package armsim_test

import (
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/hanva/hanva/testenv/armsim"
)

const pip6ID = netPath + "/publicIPAddresses/pip-6"

// seedDualStack makes the subnet dual stack, gives NIC B an IPv6 ipconfig
// and adds an IPv6 public IP.
func seedDualStack(t *testing.T, s *armsim.Server) {
	t.Helper()
	seedTopology(t, s)
	seed(t, s, vnetID, `{"location":"westeurope","properties":{"addressSpace":{"addressPrefixes":["10.0.0.0/16","fd00:db8::/48"]},
		"subnets":[{"name":"nva","properties":{"addressPrefixes":["10.0.1.0/24","fd00:db8:0:1::/64"]}}]}}`)
	seed(t, s, pip6ID, `{"location":"westeurope","sku":{"name":"Standard","tier":"Regional"},
		"properties":{"ipAddress":"2001:db8::6","publicIPAllocationMethod":"Static","publicIPAddressVersion":"IPv6"}}`)
	seed(t, s, nicBID, `{"location":"westeurope","properties":{"enableIPForwarding":true,
		"ipConfigurations":[{"name":"ipconfig1","properties":{"primary":true,"privateIPAddress":"10.0.1.5","privateIPAllocationMethod":"Static",
			"subnet":{"id":"`+subnetID+`"}}},
		{"name":"ipconfig-v6","properties":{"privateIPAddress":"fd00:db8:0:1::5","privateIPAddressVersion":"IPv6","privateIPAllocationMethod":"Static",
			"subnet":{"id":"`+subnetID+`"}}}]}}`)
}

func TestAnIPv6IPConfigTakesAnIPv6PublicIPAndNotAnIPv4One(t *testing.T) {
	e := start(t, armsim.Options{})
	seedDualStack(t, e.srv)
	c := ctx(t)
	nics := e.factory.NewInterfacesClient()

	b, err := nics.Get(c, rg, "nva-b-nic", nil)
	if err != nil {
		t.Fatalf("get NIC B: %v", err)
	}
	v4, v6 := b.Properties.IPConfigurations[0].Properties, b.Properties.IPConfigurations[1].Properties
	if *v6.PrivateIPAddressVersion != armnetwork.IPVersionIPv6 || *v6.PrivateIPAddress != "fd00:db8:0:1::5" {
		t.Fatalf("IPv6 ipconfig as read: %+v", v6)
	}

	// The IPv6 public IP on the IPv4 ipconfig: refused.
	v4.PublicIPAddress = &armnetwork.PublicIPAddress{ID: to(pip6ID)}
	_, err = nics.BeginCreateOrUpdate(c, rg, "nva-b-nic", b.Interface, nil)
	wantARMError(t, err, http.StatusBadRequest, "PublicIPAddressVersionMismatch")

	// On the IPv6 ipconfig: accepted, and a PUT of the whole dual-stack NIC
	// keeps both ipconfigs.
	v4.PublicIPAddress = nil
	v6.PublicIPAddress = &armnetwork.PublicIPAddress{ID: to(pip6ID)}
	p, err := nics.BeginCreateOrUpdate(c, rg, "nva-b-nic", b.Interface, nil)
	if err != nil {
		t.Fatalf("attach the IPv6 public IP to the IPv6 ipconfig: %v", err)
	}
	got, _ := pollManually(t, c, p)
	if n := len(got.Properties.IPConfigurations); n != 2 {
		t.Fatalf("%d ipconfigs after the PUT, want 2", n)
	}
	if ref := got.Properties.IPConfigurations[1].Properties.PublicIPAddress; ref == nil || *ref.ID != pip6ID {
		t.Fatalf("IPv6 ipconfig public IP = %+v, want %s", ref, pip6ID)
	}

	// The IPv4 public IP (on NIC A) cannot go on the IPv6 ipconfig either.
	a, err := nics.Get(c, rg, "nva-a-nic", nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Properties.IPConfigurations[0].Properties.PublicIPAddress = nil
	if p, err := nics.BeginCreateOrUpdate(c, rg, "nva-a-nic", a.Interface, nil); err != nil {
		t.Fatalf("detach from NIC A: %v", err)
	} else {
		pollManually(t, c, p)
	}
	got.Properties.IPConfigurations[1].Properties.PublicIPAddress = &armnetwork.PublicIPAddress{ID: to(pipID)}
	_, err = nics.BeginCreateOrUpdate(c, rg, "nva-b-nic", got.Interface, nil)
	wantARMError(t, err, http.StatusBadRequest, "PublicIPAddressVersionMismatch")
}

func TestAnIPConfigAddressMustBeOfItsVersionAndInItsSubnetPrefixOfThatVersion(t *testing.T) {
	e := start(t, armsim.Options{})
	seedDualStack(t, e.srv)
	c := ctx(t)
	nics := e.factory.NewInterfacesClient()
	for _, tc := range []struct {
		name, addr string
		version    armnetwork.IPVersion
		code       string
	}{
		{"an IPv6 address on an ipconfig without version (IPv4)", "fd00:db8:0:1::7", "", "PrivateIPAddressVersionMismatch"},
		{"an IPv4 address on an IPv6 ipconfig", "10.0.1.7", armnetwork.IPVersionIPv6, "PrivateIPAddressVersionMismatch"},
		{"an IPv6 address outside the subnet's IPv6 prefix", "fd00:db8:0:2::7", armnetwork.IPVersionIPv6, "PrivateIPAddressNotInSubnet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := nics.Get(c, rg, "nva-b-nic", nil)
			if err != nil {
				t.Fatal(err)
			}
			ipp := b.Properties.IPConfigurations[1].Properties
			ipp.PrivateIPAddress = to(tc.addr)
			ipp.PrivateIPAddressVersion = nil
			if tc.version != "" {
				ipp.PrivateIPAddressVersion = to(tc.version)
			}
			_, err = nics.BeginCreateOrUpdate(c, rg, "nva-b-nic", b.Interface, nil)
			wantARMError(t, err, http.StatusBadRequest, tc.code)
		})
	}
}

func TestARouteNextHopMustBeOfItsPrefixsIPVersion(t *testing.T) {
	e := start(t, armsim.Options{})
	seedDualStack(t, e.srv)
	c := ctx(t)
	routes := e.factory.NewRoutesClient()
	for _, tc := range []struct {
		name, prefix, hop, code string
	}{
		{"an IPv6 prefix over an IPv4 next hop is refused", "::/0", "10.0.1.4", "RouteNextHopIpAddressVersionMismatch"},
		{"an IPv4 prefix over an IPv6 next hop is refused", "0.0.0.0/0", "fd00:db8:0:1::5", "RouteNextHopIpAddressVersionMismatch"},
		{"an IPv6 prefix over an IPv6 next hop is accepted", "::/0", "fd00:db8:0:1::5", ""},
		{"an IPv6 next hop in another textual form is accepted", "fd00:1::/64", "FD00:DB8:0:1:0:0:0:5", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := routes.BeginCreateOrUpdate(c, rg, "rt-spoke", "r6", armnetwork.Route{Properties: &armnetwork.RoutePropertiesFormat{
				AddressPrefix: to(tc.prefix), NextHopType: to(armnetwork.RouteNextHopTypeVirtualAppliance), NextHopIPAddress: to(tc.hop)}}, nil)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("route %s via %s: %v", tc.prefix, tc.hop, err)
				}
				return
			}
			wantARMError(t, err, http.StatusBadRequest, tc.code)
		})
	}
}
