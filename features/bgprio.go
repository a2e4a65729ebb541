package features

import (
	"os"
	"runtime"
)

// TEMPORARY measurement switches (removed before merge).
var (
	niceBackground = os.Getenv("AFFINITY_BG_NICE") != "0"
	extraProcEnv   = os.Getenv("AFFINITY_BG_EXTRA_P") == "1"
	lagEnabled     = os.Getenv("AFFINITY_BG_LAG") != "0"
)

// withExtraProcs raises GOMAXPROCS by n and returns the function that
// lowers it again.
func withExtraProcs(n int) func() {
	prev := runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(prev + n)
	return func() { runtime.GOMAXPROCS(prev) }
}
