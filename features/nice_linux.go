//go:build linux

package features

import (
	"runtime"
	"syscall"
)

// backgroundNice is the nice value of a background refresh's threads: the
// lowest priority, as RocksDB's Env::LowerThreadPoolCPUPriority gives its
// compaction threads for the same reason. The kernel then runs them on the
// CPU time that request threads (and, on a shared machine, anything else
// at the default priority) leave.
const backgroundNice = 19

// lowerPriority locks the calling goroutine to its OS thread and gives the
// thread backgroundNice, reporting whether that worked. On Linux a
// priority is a thread's (setpriority with a thread id), not the
// process's, so the goroutine must stay on this thread for the priority to
// mean anything. The caller must let the goroutine exit without
// runtime.UnlockOSThread: a goroutine that exits locked takes its thread
// with it, so the niced thread never goes back to the runtime's pool to
// run a request goroutine at nice 19 (raising the priority again needs
// CAP_SYS_NICE, which a server should not have). Making the thread costs
// tens of microseconds, once per worker per refresh.
func lowerPriority() bool {
	runtime.LockOSThread()
	return syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), backgroundNice) == nil
}
