package offer

import "time"

// Expiry at stream ticks (cluster mode). An unanswered showing past the
// response window counts as ignored, which moves its offer's posterior.
// The sweep (a timer of each node's own) and the requests that touch an
// offer close such showings on each node at its own moment, so for up to a
// sweep interval two nodes at the same stream position could rank with
// different posteriors. At each tick every node closes what the tick's
// "now" has expired (the store's clock: the tick's time with the wall
// clock), in memory, while the stream's apply waits: at the
// same position, the same showings are closed on every node. The log
// entries are written after (a hook must not write: the write goes
// through the stream the node is applying), as the sweep's are; a
// request or sweep at the same tick time finds nothing more to close.

// onTick is the store's OnTick hook (features.Hooks).
func (s *Service) onTick(_, _ time.Time, _ []time.Time) {
	nowS := s.src.Now().Unix()
	var logs offerLogs
	for _, o := range s.set.Load().offers {
		st := o.st
		st.mu.Lock()
		logs.resp = s.expireLocked(o, st, nowS, logs.resp)
		st.mu.Unlock()
	}
	if len(logs.resp) > 0 {
		// After Close the append fails and says so; a restart closes them
		// again from the exposure log.
		go s.appendLogsQuiet(logs)
	}
}
