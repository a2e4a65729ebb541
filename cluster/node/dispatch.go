package node

import (
	"context"

	"github.com/affinity-rec/affinity/cluster"
	"github.com/affinity-rec/affinity/features"
)

// appliers maps a subject's kind (its last token, cluster.Subjects) to
// what applies a run of consecutive messages of that kind. A kind not
// here stops the apply loudly (cluster.BadMessage): a newer version wrote
// it, and skipping it would make this node differ from the others. A new
// kind of message is one more entry.
var appliers = map[string]func(n *Node, entries []features.LogEntry) error{
	// events: one Badger transaction per run of whole messages
	kindEvents: func(n *Node, entries []features.LogEntry) error {
		return n.store.ApplyLog(context.Background(), entries)
	},
	kindOp:    applyOps, // products, customers, records (features/clusterops.go)
	kindErase: applyOps, // erasures, on the subject the purge keeps
}

// Subject kinds.
const (
	kindEvents = "ev"
	kindOp     = "op"
	kindErase  = "erase"
)

func applyOps(n *Node, entries []features.LogEntry) error {
	for _, e := range entries {
		if err := n.store.ApplyOp(context.Background(), e.Seq, e.Data); err != nil {
			return err
		}
	}
	return nil
}

// AppendOp is the store's OpLog: an op goes to the customer's subject (an
// erasure purges it with their events), to the erasure subject, or to the
// definitions' subject, and is acknowledged by a quorum of the replicas.
// Ops carry no message id: each is a distinct write (a retried PUT is
// applied again, with the same result); appends have one (AppendOpID).
func (n *Node) AppendOp(ctx context.Context, m features.OpMessage) (uint64, error) {
	ack, err := n.pub.Publish(ctx, []cluster.Msg{{Subject: n.opSubject(m), Data: m.Data}})
	if err != nil {
		return 0, err
	}
	return ack.LastSeq, nil
}

// AppendOpID is AppendOp with an idempotency id (features.DedupOpLog):
// the services' log appends, which a failed flush may send again.
func (n *Node) AppendOpID(ctx context.Context, m features.OpMessage, id string) (uint64, bool, error) {
	ack, err := n.pub.Publish(ctx, []cluster.Msg{{Subject: n.opSubject(m), Data: m.Data, ID: id}})
	if err != nil {
		return 0, false, err
	}
	return ack.LastSeq, ack.Duplicates > 0, nil
}

var _ features.DedupOpLog = (*Node)(nil)

func (n *Node) opSubject(m features.OpMessage) string {
	switch {
	case m.Erasure:
		return n.st.Subjects.Erasure()
	case m.Customer != "":
		return n.st.Subjects.Customer(m.Customer, kindOp)
	}
	return n.st.Subjects.Definition(kindOp)
}

// PurgeCustomer removes the customer's messages below before from the
// stream, on every replica (cluster.Stream.Erase).
func (n *Node) PurgeCustomer(ctx context.Context, customer string, before uint64) error {
	return n.st.Erase(ctx, customer, before)
}
