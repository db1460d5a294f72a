package components

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// adminUsernameRE is a Linux admin user name Azure accepts and useradd
// creates: 1 to 32 lower-case letters, digits, '_', '-' and '.', starting
// with a letter or '_' and not ending in '.' (Microsoft's "FAQ for Linux
// virtual machines", What are the username requirements when creating a VM?;
// the OSProfile.adminUsername reference: max length 32 for Linux).
var adminUsernameRE = regexp.MustCompile(`^[a-z_]([a-z0-9_.-]{0,30}[a-z0-9_-])?$`)

// azureReservedUsernames are the admin user names Azure refuses for a VM
// (OSProfile.adminUsername, "Disallowed values", in the compute REST
// reference and the Linux VM FAQ).
var azureReservedUsernames = []string{"administrator", "admin", "user", "user1", "test", "user2", "test1",
	"user3", "admin1", "1", "123", "a", "actuser", "adm", "admin2", "aspnet", "backup", "console", "david",
	"guest", "john", "owner", "root", "server", "sql", "support", "support_388945a0", "sys", "test2", "test3",
	"user4", "user5"}

// hanvaSystemUsers are the accounts hanva's own cloud-init creates on its VMs
// (the monitor runs as nva-monitor): an admin of that name would collide.
var hanvaSystemUsers = []string{"nva-monitor"}

// ReservedAdminUsernames returns every admin user name the components refuse:
// Azure's disallowed values and the accounts hanva creates itself.
func ReservedAdminUsernames() []string {
	return slices.Concat(azureReservedUsernames, hanvaSystemUsers)
}

// CheckAdminUsername returns nil if name can be the admin user of every VM
// the components create (NVAs, monitors, the sample's web VMs and jumpbox),
// or an error that says what to use instead.
func CheckAdminUsername(name string) error {
	if !adminUsernameRE.MatchString(name) {
		return fmt.Errorf("%q is not a Linux user name Azure accepts; use 1-32 lower-case letters, digits, "+
			"\"_\", \"-\" and \".\", starting with a letter or \"_\" and not ending in \".\"", name)
	}
	if slices.Contains(ReservedAdminUsernames(), name) {
		return fmt.Errorf("%q is refused (Azure disallows it as an admin user name, or hanva uses it); "+
			"pick another, such as %q; refused: %s", name, DefaultNvaAdminUser, strings.Join(ReservedAdminUsernames(), ", "))
	}
	return nil
}
