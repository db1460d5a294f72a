package armsim

import (
	"net/http"
	"strings"
)

type permission struct {
	actions, notActions []string
}

// SetPermissions sets what GET {scope}/providers/Microsoft.Authorization/permissions
// returns for resourceID and the scopes below it (the most specific setting
// wins). The default is actions ["*"].
func (s *Sim) SetPermissions(resourceID string, actions, notActions []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perms[keyOf(strings.TrimRight(resourceID, "/"))] = permission{
		actions:    append([]string{}, actions...),
		notActions: append([]string{}, notActions...),
	}
}

func (s *Sim) getPermissions(scope string) response {
	perm := permission{actions: []string{"*"}, notActions: []string{}}
	for k := keyOf(strings.TrimRight(scope, "/")); k != ""; {
		if p, ok := s.perms[k]; ok {
			perm = p
			break
		}
		i := strings.LastIndex(k, "/")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return jsonResponse(http.StatusOK, map[string]any{
		"value": []any{map[string]any{
			"actions":        perm.actions,
			"notActions":     perm.notActions,
			"dataActions":    []string{},
			"notDataActions": []string{},
		}},
	})
}
