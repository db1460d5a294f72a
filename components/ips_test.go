package components_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/hanva/hanva/components"
)

func TestHostIP(t *testing.T) {
	tests := []struct {
		name    string
		prefix  string
		host    int
		want    string
		wantErr error  // errors.Is target, when the error is one of ours
		errHas  string // substring of the error, always checked when non-empty
	}{
		{name: "the first usable host of the seed's DMZ-external subnet is .68", prefix: "10.0.0.64/27", host: 4, want: "10.0.0.68"},
		{name: "the second NVA of the seed's DMZ-internal subnet is .101", prefix: "10.0.0.96/27", host: 5, want: "10.0.0.101"},
		{name: "the last usable host of a /27 is the one before broadcast", prefix: "10.0.0.64/27", host: 30, want: "10.0.0.94"},
		{name: "a /29, Azure's smallest subnet, has hosts 4 to 6", prefix: "10.0.0.0/29", host: 4, want: "10.0.0.4"},
		{name: "the last usable host of a /29 is 6", prefix: "10.0.0.0/29", host: 6, want: "10.0.0.6"},
		{name: "hosts past an octet boundary count on in a large subnet", prefix: "10.0.0.0/16", host: 256, want: "10.0.1.0"},
		{name: "the network address is reserved", prefix: "10.0.0.64/27", host: 0, wantErr: components.ErrReservedAddress, errHas: "network address"},
		{name: "the default gateway is reserved", prefix: "10.0.0.64/27", host: 1, wantErr: components.ErrReservedAddress, errHas: "default gateway"},
		{name: "the first Azure DNS address is reserved", prefix: "10.0.0.64/27", host: 2, wantErr: components.ErrReservedAddress, errHas: "Azure DNS"},
		{name: "the second Azure DNS address is reserved", prefix: "10.0.0.64/27", host: 3, wantErr: components.ErrReservedAddress, errHas: "Azure DNS"},
		{name: "the broadcast address is reserved", prefix: "10.0.0.64/27", host: 31, wantErr: components.ErrReservedAddress, errHas: "broadcast"},
		{name: "the broadcast address of a /29 is reserved", prefix: "10.0.0.0/29", host: 7, wantErr: components.ErrReservedAddress, errHas: "broadcast"},
		{name: "a host past the end is outside", prefix: "10.0.0.64/27", host: 32, wantErr: components.ErrOutsidePrefix},
		{name: "a negative host is outside", prefix: "10.0.0.64/27", host: -1, wantErr: components.ErrOutsidePrefix},
		{name: "a /30 is smaller than Azure allows", prefix: "10.0.0.0/30", host: 1, errHas: "/29"},
		{name: "a prefix with host bits set is refused with its network address", prefix: "10.0.0.70/27", host: 4, errHas: "10.0.0.64/27"},
		{name: "an IPv6 prefix is refused", prefix: "fd00::/64", host: 4, errHas: "not IPv4"},
		{name: "garbage is refused", prefix: "ten-dot-zero", host: 4, errHas: "parse prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := components.HostIP(tt.prefix, tt.host)
			if tt.wantErr == nil && tt.errHas == "" {
				if err != nil {
					t.Fatalf("HostIP(%q, %d): %v", tt.prefix, tt.host, err)
				}
				if got != tt.want {
					t.Fatalf("HostIP(%q, %d) = %q, want %q", tt.prefix, tt.host, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("HostIP(%q, %d) = %q, want an error", tt.prefix, tt.host, got)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("HostIP(%q, %d) error %q is not %v", tt.prefix, tt.host, err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("HostIP(%q, %d) error %q does not mention %q", tt.prefix, tt.host, err, tt.errHas)
			}
		})
	}
}

// Every address Azure reserves in each of the seed's subnets is refused, and
// every other address inside them is accepted.
func TestCheckStaticIPRefusesEveryReservedAddressOfTheSeedSubnets(t *testing.T) {
	for _, prefix := range []string{"10.0.0.64/27", "10.0.0.96/27", "10.0.1.0/24", "10.0.0.128/25", "10.0.0.0/29"} {
		p := netip.MustParsePrefix(prefix)
		size := 1 << (32 - p.Bits())
		a := p.Addr()
		for host := 0; host < size; host++ {
			reserved := host <= 3 || host == size-1
			err := components.CheckStaticIP(prefix, a.String())
			switch {
			case reserved && !errors.Is(err, components.ErrReservedAddress):
				t.Errorf("CheckStaticIP(%s, %s) = %v, want ErrReservedAddress", prefix, a, err)
			case !reserved && err != nil:
				t.Errorf("CheckStaticIP(%s, %s) = %v, want nil", prefix, a, err)
			}
			// HostIP agrees with CheckStaticIP on every host.
			ip, herr := components.HostIP(prefix, host)
			if (herr == nil) != (err == nil) || (herr == nil && ip != a.String()) {
				t.Errorf("HostIP(%s, %d) = %q, %v; CheckStaticIP(%s) = %v", prefix, host, ip, herr, a, err)
			}
			a = a.Next()
		}
	}
}

func TestCheckStaticIPRefusals(t *testing.T) {
	tests := []struct {
		name, prefix, ip string
		wantErr          error
		errHas           string
	}{
		{name: "the address before the subnet is outside", prefix: "10.0.0.64/27", ip: "10.0.0.63", wantErr: components.ErrOutsidePrefix},
		{name: "the address after the subnet is outside", prefix: "10.0.0.64/27", ip: "10.0.0.96", wantErr: components.ErrOutsidePrefix},
		{name: "an address of another network is outside", prefix: "10.0.0.64/27", ip: "192.168.0.68", wantErr: components.ErrOutsidePrefix},
		{name: "an IPv6 address is refused", prefix: "10.0.0.64/27", ip: "fd00::4", errHas: "not an IPv4 address"},
		{name: "an empty address is refused", prefix: "10.0.0.64/27", ip: "", errHas: "not an IPv4 address"},
		{name: "a bad prefix is refused", prefix: "10.0.0.64", ip: "10.0.0.68", errHas: "parse prefix"},
		{name: "the reserved-address error names the first usable address", prefix: "10.0.0.96/27", ip: "10.0.0.97", wantErr: components.ErrReservedAddress, errHas: "10.0.0.100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := components.CheckStaticIP(tt.prefix, tt.ip)
			if err == nil {
				t.Fatalf("CheckStaticIP(%q, %q) = nil, want an error", tt.prefix, tt.ip)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q is not %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %q does not mention %q", err, tt.errHas)
			}
		})
	}
}

func ExampleHostIP() {
	ip, err := components.HostIP("10.0.0.64/27", 4)
	fmt.Println(ip, err)
	_, err = components.HostIP("10.0.0.64/27", 3)
	fmt.Println(err)
	// Output:
	// 10.0.0.68 <nil>
	// host 3 of 10.0.0.64/27 (10.0.0.67) is the subnet's Azure DNS address: address reserved by Azure; the first usable host is 4 (10.0.0.68)
}

func TestCheckAdminUsernameIsOneRuleForEveryVM(t *testing.T) {
	for _, ok := range []string{"hanva", "ops_team", "a.b", "_svc", "x"} {
		if err := components.CheckAdminUsername(ok); err != nil {
			t.Errorf("CheckAdminUsername(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"john", "root", "admin", "support_388945a0", "nva-monitor", "Hanva", "ends.", "1abc", "",
		"abcdefghijklmnopqrstuvwxyzabcdefg"} {
		if err := components.CheckAdminUsername(bad); err == nil {
			t.Errorf("CheckAdminUsername(%q) = nil, want refused", bad)
		}
	}
}
