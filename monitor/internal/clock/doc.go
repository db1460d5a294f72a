// Package clock provides the clock nva-monitor measures its lease deadline
// with: one that keeps counting while the machine is suspended or the VM is
// frozen.
//
// Go's monotonic clock (the reading time.Now carries) is Linux's
// CLOCK_MONOTONIC, which "does not count time that the system is suspended";
// CLOCK_BOOTTIME "is identical to CLOCK_MONOTONIC, except that it also
// includes any time that the system is suspended" (clock_gettime(2),
// https://man7.org/linux/man-pages/man2/clock_gettime.2.html). Azure pauses a
// VM for host maintenance for up to about 30 s
// (https://learn.microsoft.com/azure/virtual-machines/maintenance-and-updates),
// longer than a 15 s lease, and whether the guest's CLOCK_MONOTONIC advances
// through such a freeze is not established. A leader that wakes from one must
// see its lease deadline as passed, so the deadline is measured on
// CLOCK_BOOTTIME.
//
// Boot returns wall-clock-looking times, the wall clock at the first call
// plus the CLOCK_BOOTTIME elapsed since, without Go's monotonic reading: they
// print and log as ordinary times, and comparisons between them (Before, Sub)
// follow CLOCK_BOOTTIME, not the wall clock, so NTP steps do not move them.
// Compare a Boot reading only with other Boot readings (or times derived from
// them with Add): against a time.Now reading the comparison falls back to the
// wall clock. Outside Linux, Boot is time.Now.
//
// Usage:
//
//	lease.BlobOptions{..., Now: clock.Boot} // the default already
//	deadline := clock.Boot().Add(12 * time.Second)
//	if !clock.Boot().Before(deadline) { /* too late */ }
package clock
