//go:build !linux

package features

// backgroundNice is what lowerPriority would set; elsewhere nothing is set.
const backgroundNice = 0

// lowerPriority does nothing outside Linux, where a priority is the
// process's and not a thread's: background refreshes run at the request
// goroutines' priority there, as before.
func lowerPriority() bool { return false }
