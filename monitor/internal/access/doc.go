// Package access asks Azure Resource Manager which actions the monitor's
// identity may perform on a resource, without performing them: the
// Microsoft.Authorization permissions API
// (GET {resourceId}/providers/Microsoft.Authorization/permissions) returns the
// caller's effective actions and notActions there. `nva-monitor validate`
// uses it to prove the identity can read and write what failover touches.
//
// Usage:
//
//	c, _ := arm.NewClient("hanva", "v1", cred, clientOptions)
//	missing, err := access.Missing(ctx, c, nicID, access.NICActions)
package access
