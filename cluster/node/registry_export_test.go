package node

// StopHeartbeat stops refreshing this node's registry entry and leaves it
// to expire, as a killed node's does (the registry's TTL test).
func (n *Node) StopHeartbeat() {
	if n.ops != nil {
		n.ops.cancel()
		n.ops.wg.Wait()
	}
}
