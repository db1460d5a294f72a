package armsim_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/hanva/hanva/testenv/armsim"
)

const floatingIP = "10.0.1.10"

// withFloatingIP gives NIC A a secondary static ipconfig "vip" holding floatingIP.
func withFloatingIP(t *testing.T, s *armsim.Server) {
	t.Helper()
	seedTopology(t, s)
	seed(t, s, nicAID, `{"location":"westeurope","properties":{"enableIPForwarding":true,
		"ipConfigurations":[{"name":"ipconfig1","properties":{"primary":true,"privateIPAddress":"10.0.1.4","privateIPAllocationMethod":"Static",
			"subnet":{"id":"`+subnetID+`"}}},
		{"name":"vip","properties":{"primary":false,"privateIPAddress":"`+floatingIP+`","privateIPAllocationMethod":"Static",
			"subnet":{"id":"`+subnetID+`"}}}]}}`)
}

func vipConfig(ip string) *armnetwork.InterfaceIPConfiguration {
	return &armnetwork.InterfaceIPConfiguration{
		Name: to("vip"),
		Properties: &armnetwork.InterfaceIPConfigurationPropertiesFormat{
			Primary:                   to(false),
			PrivateIPAddress:          to(ip),
			PrivateIPAllocationMethod: to(armnetwork.IPAllocationMethodStatic),
			Subnet:                    &armnetwork.Subnet{ID: to(subnetID)},
		},
	}
}

func TestMovingAFloatingPrivateIPNeedsTheOldNICToLetGoFirst(t *testing.T) {
	e := start(t, armsim.Options{LROLatency: 20 * time.Millisecond})
	withFloatingIP(t, e.srv)
	c := ctx(t)
	nics := e.factory.NewInterfacesClient()

	b, err := nics.Get(c, rg, "nva-b-nic", nil)
	if err != nil {
		t.Fatalf("get NIC B: %v", err)
	}
	b.Properties.IPConfigurations = append(b.Properties.IPConfigurations, vipConfig(floatingIP))
	_, err = nics.BeginCreateOrUpdate(c, rg, "nva-b-nic", b.Interface, &armnetwork.InterfacesClientBeginCreateOrUpdateOptions{})
	re := wantARMError(t, err, http.StatusBadRequest, "PrivateIPAddressIsAllocated")
	for _, part := range []string{nicBID + "/ipConfigurations/vip", floatingIP, "already allocated to resource " + nicAID} {
		if !strings.Contains(re.Error(), part) {
			t.Errorf("error lacks %q:\n%v", part, re)
		}
	}

	// Step 1: NIC A without the secondary ipconfig, fenced by its etag.
	a, err := nics.Get(c, rg, "nva-a-nic", nil)
	if err != nil {
		t.Fatalf("get NIC A: %v", err)
	}
	a.Properties.IPConfigurations = a.Properties.IPConfigurations[:1]
	pa, err := nics.BeginCreateOrUpdate(c, rg, "nva-a-nic", a.Interface, nil)
	if err != nil {
		t.Fatalf("remove the floating IP from NIC A: %v", err)
	}
	released, _ := pollManually(t, c, pa)
	if n := len(released.Properties.IPConfigurations); n != 1 || *released.Properties.IPConfigurations[0].Properties.PrivateIPAddress != "10.0.1.4" {
		t.Fatalf("NIC A after the release: %d ipconfigs", n)
	}

	// Step 2: NIC B takes it.
	pb, err := nics.BeginCreateOrUpdate(c, rg, "nva-b-nic", b.Interface, nil)
	if err != nil {
		t.Fatalf("add the floating IP to NIC B after NIC A let go: %v", err)
	}
	moved, _ := pollManually(t, c, pb)
	vip := moved.Properties.IPConfigurations[1]
	if *vip.Name != "vip" || *vip.ID != nicBID+"/ipConfigurations/vip" || *vip.Properties.PrivateIPAddress != floatingIP ||
		*vip.Properties.PrivateIPAllocationMethod != armnetwork.IPAllocationMethodStatic || *vip.Properties.Primary ||
		!*moved.Properties.IPConfigurations[0].Properties.Primary {
		t.Fatalf("NIC B's vip ipconfig: %+v", vip.Properties)
	}

	// And back: now NIC A is the one refused.
	a.Properties.IPConfigurations = append(a.Properties.IPConfigurations, vipConfig(floatingIP))
	_, err = nics.BeginCreateOrUpdate(c, rg, "nva-a-nic", a.Interface, nil)
	wantARMError(t, err, http.StatusBadRequest, "PrivateIPAddressIsAllocated")

	var changes []string
	for _, ev := range eventsOf(e.srv, armsim.KindWriteAccepted) {
		changes = append(changes, lastPart(ev.ResourceID)+": "+strings.Join(ev.Changes, "; "))
	}
	want := []string{`nva-a-nic: ipconfig "vip" removed`, `nva-b-nic: ipconfig "vip" added; ipconfig "vip" privateIPAddress (none) -> 10.0.1.10`}
	if strings.Join(changes, "\n") != strings.Join(want, "\n") {
		t.Fatalf("accepted writes:\n%s\nwant:\n%s", strings.Join(changes, "\n"), strings.Join(want, "\n"))
	}
}

func lastPart(id string) string { return id[strings.LastIndex(id, "/")+1:] }

func TestAFloatingIPMustFitTheSubnet(t *testing.T) {
	tests := []struct {
		name, ip, wantCode string
	}{
		{"an address outside the subnet's prefix is refused", "10.0.2.10", "PrivateIPAddressNotInSubnet"},
		{"the subnet's broadcast address is reserved", "10.0.1.255", "PrivateIPAddressInReservedRange"},
		{"the primary address of the same NIC cannot be reused", "10.0.1.5", "PrivateIPAddressIsAllocated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, armsim.Options{})
			withFloatingIP(t, e.srv)
			c := ctx(t)
			nics := e.factory.NewInterfacesClient()
			b, err := nics.Get(c, rg, "nva-b-nic", nil)
			if err != nil {
				t.Fatalf("get NIC B: %v", err)
			}
			b.Properties.IPConfigurations = append(b.Properties.IPConfigurations, vipConfig(tt.ip))
			_, err = nics.BeginCreateOrUpdate(c, rg, "nva-b-nic", b.Interface, nil)
			wantARMError(t, err, http.StatusBadRequest, tt.wantCode)
		})
	}
}
