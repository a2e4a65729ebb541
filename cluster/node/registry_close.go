package node

import (
	"time"
)

// closeWait bounds each step of Close. While NATS is unreachable the
// follower's consumer and the connection's flush wait on timeouts of their
// own (a node shut down during an outage took about 20 s); nothing they
// would finish is needed: the store holds exactly what was applied, and a
// restart resumes from it.
const closeWait = 3 * time.Second

// closeBounded stops the background loops, waits for the follower to stop
// (at most closeWait), and closes the connection (at most closeWait).
func (n *Node) closeBounded() {
	n.stopOps()
	if n.following.Load() {
		select {
		case <-n.fol.Done():
		case <-time.After(closeWait):
			n.cfg.Log.Warn("cluster follower did not stop in time; closing the connection under it")
		}
	}
	closed := make(chan struct{})
	go func() {
		n.nc.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(closeWait):
		n.cfg.Log.Warn("NATS connection did not close in time")
	}
}
