//go:build !linux

package background

import "errors"

// Nice is what LowerPriority would set; elsewhere nothing is set.
const Nice = 0

// LowerPriority does nothing outside Linux, where a priority is the
// process's and not a thread's: background work runs at the request
// goroutines' priority there.
func LowerPriority() bool { return false }

// ThreadNice is known only on Linux.
func ThreadNice() (int, error) { return 0, errors.New("thread nice values are read on Linux only") }
