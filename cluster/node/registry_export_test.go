package node

// StopHeartbeat stops refreshing this node's registry entry and leaves it
// to expire, as a killed node's does (the registry's TTL test).
func (n *Node) StopHeartbeat() {
	if n.ops != nil {
		n.ops.cancel()
		n.ops.wg.Wait()
	}
}

// Kill drops the node the way a crash does, as far as a process can do it
// to itself: the NATS connection is cut under the running follower (no
// clean stop, no registry removal), and nothing waits for the apply. The
// returned func ends the dead node's goroutines (a killed process has none
// left; a test process would keep them).
func (n *Node) Kill() (reap func()) {
	n.nc.Close()
	return func() {
		n.cancel()
		n.StopHeartbeat()
	}
}
