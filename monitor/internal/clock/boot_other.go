//go:build !linux

package clock

import "time"

// boottime is not available here: Boot is time.Now.
func boottime() (time.Duration, bool) { return 0, false }
