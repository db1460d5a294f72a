package armsim_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/hanva/hanva/testenv/armsim"
)

func pipBackRef(t *testing.T, s *armsim.Server) string {
	t.Helper()
	props := resourceJSON(t, s, pipID)["properties"].(map[string]any)
	ref, _ := props["ipConfiguration"].(map[string]any)
	if ref == nil {
		return ""
	}
	return ref["id"].(string)
}

func TestMovingAPublicIPNeedsDetachBeforeAttach(t *testing.T) {
	e := start(t, armsim.Options{LROLatency: 20 * time.Millisecond})
	seedTopology(t, e.srv)
	c := ctx(t)
	nics := e.factory.NewInterfacesClient()

	if got := pipBackRef(t, e.srv); got != nicAID+"/ipConfigurations/ipconfig1" {
		t.Fatalf("seeded back-reference %q, want NIC A's ipconfig1", got)
	}
	pip, err := e.factory.NewPublicIPAddressesClient().Get(c, rg, "pip-1", nil)
	if err != nil {
		t.Fatalf("get public IP: %v", err)
	}
	if *pip.Properties.IPConfiguration.ID != nicAID+"/ipConfigurations/ipconfig1" || *pip.SKU.Name != armnetwork.PublicIPAddressSKUNameStandard {
		t.Fatalf("public IP as the SDK sees it: %+v", pip.Properties)
	}

	b, err := nics.Get(c, rg, "nva-b-nic", nil)
	if err != nil {
		t.Fatalf("get NIC B: %v", err)
	}
	b.Properties.IPConfigurations[0].Properties.PublicIPAddress = &armnetwork.PublicIPAddress{ID: to(pipID)}
	_, err = nics.BeginCreateOrUpdate(c, rg, "nva-b-nic", b.Interface, nil)
	re := wantARMError(t, err, http.StatusBadRequest, "PublicIPAddressInUse")
	msg := re.Error()
	for _, part := range []string{
		"IP configuration " + nicBID + "/ipConfigurations/ipconfig1 is referencing public IP address " + pipID,
		"already allocated to resource " + nicAID,
	} {
		if !strings.Contains(msg, part) {
			t.Errorf("error message lacks %q:\n%s", part, msg)
		}
	}

	a, err := nics.Get(c, rg, "nva-a-nic", nil)
	if err != nil {
		t.Fatalf("get NIC A: %v", err)
	}
	a.Properties.IPConfigurations[0].Properties.PublicIPAddress = nil
	p, err := nics.BeginCreateOrUpdate(c, rg, "nva-a-nic", a.Interface, nil)
	if err != nil {
		t.Fatalf("detach from NIC A: %v", err)
	}
	if got := pipBackRef(t, e.srv); got != "" {
		t.Fatalf("back-reference after the detach was accepted = %q, want none", got)
	}
	detached, _ := pollManually(t, c, p)
	if detached.Properties.IPConfigurations[0].Properties.PublicIPAddress != nil {
		t.Fatal("NIC A still has the public IP")
	}

	p2, err := nics.BeginCreateOrUpdate(c, rg, "nva-b-nic", b.Interface, nil)
	if err != nil {
		t.Fatalf("attach to NIC B after the detach: %v", err)
	}
	attached, _ := pollManually(t, c, p2)
	if got := *attached.Properties.IPConfigurations[0].Properties.PublicIPAddress.ID; !strings.EqualFold(got, pipID) {
		t.Fatalf("NIC B public IP = %s", got)
	}
	if got := pipBackRef(t, e.srv); got != nicBID+"/ipConfigurations/ipconfig1" {
		t.Fatalf("back-reference after attach = %q, want NIC B's ipconfig1", got)
	}
}

func TestNICWritesAreCheckedAgainstOtherResources(t *testing.T) {
	missingPIP := netPath + "/publicIPAddresses/does-not-exist"
	pip2 := netPath + "/publicIPAddresses/pip-2"
	tests := []struct {
		name     string
		ipconfig string
		wantCode string
	}{
		{"a public IP that does not exist is an invalid reference",
			`{"name":"ipconfig1","properties":{"privateIPAddress":"10.0.1.5","subnet":{"id":"` + subnetID + `"},"publicIPAddress":{"id":"` + missingPIP + `"}}}`,
			"InvalidResourceReference"},
		{"one public IP on two ipconfigs of the NIC is rejected",
			`{"name":"ipconfig1","properties":{"privateIPAddress":"10.0.1.5","subnet":{"id":"` + subnetID + `"},"publicIPAddress":{"id":"` + pip2 + `"}}},
			 {"name":"ipconfig2","properties":{"privateIPAddress":"10.0.1.6","subnet":{"id":"` + subnetID + `"},"publicIPAddress":{"id":"` + pip2 + `"}}}`,
			"PublicIPReferencedByMultipleIPConfigs"},
		{"a private IP held by another NIC is rejected",
			`{"name":"ipconfig1","properties":{"privateIPAddress":"10.0.1.4","privateIPAllocationMethod":"Static","subnet":{"id":"` + subnetID + `"}}}`,
			"PrivateIPAddressIsAllocated"},
		{"a private IP outside the subnet is rejected",
			`{"name":"ipconfig1","properties":{"privateIPAddress":"10.0.2.4","privateIPAllocationMethod":"Static","subnet":{"id":"` + subnetID + `"}}}`,
			"PrivateIPAddressNotInSubnet"},
		{"a reserved private IP (.1) is rejected",
			`{"name":"ipconfig1","properties":{"privateIPAddress":"10.0.1.1","privateIPAllocationMethod":"Static","subnet":{"id":"` + subnetID + `"}}}`,
			"PrivateIPAddressInReservedRange"},
		{"a subnet missing from a known VNet is an invalid reference",
			`{"name":"ipconfig1","properties":{"privateIPAddress":"10.0.1.5","subnet":{"id":"` + vnetID + `/subnets/nope"}}}`,
			"InvalidResourceReference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, armsim.Options{})
			seedTopology(t, e.srv)
			seed(t, e.srv, pip2, `{"location":"westeurope","properties":{}}`)
			resp := rawRequest(t, e.srv, http.MethodPut, nicBID+"?api-version=2025-01-01", http.Header{"Authorization": {"Bearer x"}},
				`{"location":"westeurope","properties":{"ipConfigurations":[`+tt.ipconfig+`]}}`)
			body := decodeBody(t, resp)
			if code := body["error"].(map[string]any)["code"]; resp.StatusCode != 400 || code != tt.wantCode {
				t.Fatalf("got %d %v, want 400 %s", resp.StatusCode, code, tt.wantCode)
			}
			if rej := eventsOf(e.srv, armsim.KindWriteRejected); len(rej) != 1 || rej[0].Code != tt.wantCode || rej[0].ResourceID != nicBID {
				t.Fatalf("rejected events %+v", rej)
			}
		})
	}
}

func TestPutPreservesUnknownPropertiesVerbatim(t *testing.T) {
	e := start(t, armsim.Options{})
	seedTopology(t, e.srv)
	body := `{"location":"westeurope","tags":{"k":"v"},"properties":{"enableIPForwarding":true,"futureFlag":{"ratio":1.50,"list":[1,"two",null]},
		"provisioningState":"Succeeded","resourceGuid":"ignored",
		"ipConfigurations":[{"name":"ipconfig1","etag":"W/\"stale\"","properties":{"privateIPAddress":"10.0.1.5","privateIPAllocationMethod":"Static",
			"subnet":{"id":"` + subnetID + `"},"somethingNew":"kept"}}]}}`
	resp := rawRequest(t, e.srv, http.MethodPut, nicBID+"?api-version=2025-01-01", http.Header{"Authorization": {"Bearer x"}}, body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT with read-only fields and unknown properties: status %d %v", resp.StatusCode, decodeBody(t, resp))
	}
	raw, _ := e.srv.Resource(nicBID)
	for _, want := range []string{`"futureFlag":{"list":[1,"two",null],"ratio":1.50}`, `"somethingNew":"kept"`, `"tags":{"k":"v"}`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("stored NIC lacks %s:\n%s", want, raw)
		}
	}
	if strings.Contains(string(raw), `"ignored"`) || strings.Contains(string(raw), `stale`) {
		t.Errorf("read-only fields from the body were stored:\n%s", raw)
	}

	// A read-modify-write through the SDK keeps what the SDK models.
	c := ctx(t)
	nics := e.factory.NewInterfacesClient()
	a, err := nics.Get(c, rg, "nva-a-nic", nil)
	if err != nil {
		t.Fatalf("get NIC A: %v", err)
	}
	p, err := nics.BeginCreateOrUpdate(c, rg, "nva-a-nic", a.Interface, nil)
	if err != nil {
		t.Fatalf("PUT NIC A unchanged: %v", err)
	}
	after, _ := pollManually(t, c, p)
	if a.Properties.ResourceGUID == nil || *after.Properties.ResourceGUID != *a.Properties.ResourceGUID {
		t.Fatalf("resourceGuid %v -> %v: a seeded resource has one and keeps it", a.Properties.ResourceGUID, after.Properties.ResourceGUID)
	}
	if !*after.Properties.EnableAcceleratedNetworking || *after.Properties.MacAddress != "00-0D-3A-00-00-01" || after.Properties.DNSSettings == nil {
		t.Fatalf("NIC A lost properties: %+v", after.Properties)
	}
	accepted := eventsOf(e.srv, armsim.KindWriteAccepted)
	if last := accepted[len(accepted)-1]; len(last.Changes) != 0 {
		t.Fatalf("an unchanged PUT reported changes %q", last.Changes)
	}
}

func TestPublicIPCreateAndTagUpdate(t *testing.T) {
	e := start(t, armsim.Options{LROLatency: 10 * time.Millisecond})
	c := ctx(t)
	pips := e.factory.NewPublicIPAddressesClient()
	p, err := pips.BeginCreateOrUpdate(c, rg, "pip-new", armnetwork.PublicIPAddress{Location: to("westeurope")}, nil)
	if err != nil {
		t.Fatalf("create public IP: %v", err)
	}
	created, _ := pollManually(t, c, p)
	if created.Properties.IPAddress == nil || *created.Properties.PublicIPAllocationMethod != armnetwork.IPAllocationMethodStatic ||
		*created.SKU.Name != armnetwork.PublicIPAddressSKUNameStandard {
		t.Fatalf("created public IP: %+v sku %+v", created.Properties, created.SKU)
	}
	tagged, err := pips.UpdateTags(c, rg, "pip-new", armnetwork.TagsObject{Tags: map[string]*string{"role": to("vip")}}, nil)
	if err != nil {
		t.Fatalf("update tags: %v", err)
	}
	if *tagged.Tags["role"] != "vip" || *tagged.Etag == *created.Etag || *tagged.Properties.IPAddress != *created.Properties.IPAddress {
		t.Fatalf("after UpdateTags: tags %v etag %s ip %s", tagged.Tags, *tagged.Etag, *tagged.Properties.IPAddress)
	}
	seed(t, e.srv, nicAID, `{"location":"westeurope","properties":{"ipConfigurations":[{"name":"ipconfig1","properties":{"privateIPAddress":"10.0.1.4","publicIPAddress":{"id":"`+netPath+`/publicIPAddresses/pip-new"}}}]}}`)
	dp, err := pips.BeginDelete(c, rg, "pip-new", nil)
	if err == nil {
		_, err = dp.PollUntilDone(c, nil)
	}
	wantARMError(t, err, http.StatusBadRequest, "PublicIPAddressCannotBeDeleted")
}

func TestDeleteIsAnLROAndTheResourceIsGoneAfterward(t *testing.T) {
	e := start(t, armsim.Options{LROLatency: 20 * time.Millisecond})
	seedTopology(t, e.srv)
	c := ctx(t)
	nics := e.factory.NewInterfacesClient()
	p, err := nics.BeginDelete(c, rg, "nva-a-nic", nil)
	if err != nil {
		t.Fatalf("begin delete: %v", err)
	}
	if got := pipBackRef(t, e.srv); got != "" {
		t.Fatalf("public IP still references the deleted NIC: %s", got)
	}
	pollManually(t, c, p)
	_, err = nics.Get(c, rg, "nva-a-nic", nil)
	wantARMError(t, err, http.StatusNotFound, "ResourceNotFound")

	rp, err := e.factory.NewRoutesClient().BeginDelete(c, rg, "rt-spoke", "onprem", nil)
	if err != nil {
		t.Fatalf("begin route delete: %v", err)
	}
	pollManually(t, c, rp)
	table, err := e.factory.NewRouteTablesClient().Get(c, rg, "rt-spoke", nil)
	if err != nil || len(table.Properties.Routes) != 1 {
		t.Fatalf("after route delete: %v, %d routes", err, len(table.Properties.Routes))
	}
}
