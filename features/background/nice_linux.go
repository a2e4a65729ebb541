//go:build linux

package background

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// Nice is the nice value of background threads: the lowest priority, as
// RocksDB's Env::LowerThreadPoolCPUPriority gives its compaction threads
// for the same reason. The kernel then runs them on the CPU time that
// request threads (and, on a shared machine, anything else at the default
// priority) leave.
const Nice = 19

// LowerPriority locks the calling goroutine to its OS thread and gives the
// thread Nice, reporting whether that worked. On Linux a priority is a
// thread's (setpriority with a thread id), not the process's, so the
// goroutine must stay on this thread for the priority to mean anything.
// The caller must let the goroutine exit without runtime.UnlockOSThread: a
// goroutine that exits locked takes its thread with it, so the niced
// thread never goes back to the runtime's pool to run a request goroutine
// at nice 19 (raising the priority again needs CAP_SYS_NICE, which a
// server should not have). Making the thread costs tens of microseconds.
//
// A thread that ends fires the parent-death signal (Pdeathsig) of every
// child process it forked, because Linux ties that signal to the forking
// thread, not the process. A program that embeds Affinity and starts
// children with Pdeathsig from any goroutine must fork them on a thread it
// keeps locked (the console's browser tests do: api/console_browser_test.go
// keptThread); the affinity binary starts no children.
func LowerPriority() bool {
	runtime.LockOSThread()
	return syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), Nice) == nil
}

// ThreadNice reads the calling thread's nice value from
// /proc/self/task/TID/stat (field 19, counted after the command name,
// which may hold spaces and is closed by the last ')'). Tests use it to
// see where work ran; the caller should be locked to its thread.
func ThreadNice() (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", syscall.Gettid()))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// f[0] is field 3 (state); nice is field 19.
	if len(f) <= 19-3 {
		return 0, fmt.Errorf("stat %q: too few fields", s)
	}
	return strconv.Atoi(f[19-3])
}
