package natstest

import "testing"

// StartT starts n servers for a test and shuts them down when it ends.
func StartT(tb testing.TB, n int) *Cluster {
	tb.Helper()
	c, err := Start(n, Options{Dir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Shutdown)
	return c
}
