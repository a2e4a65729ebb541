package api

import (
	"context"
	"os"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/cluster"
)

// ClusterNodes is what a cluster node adds for GET /v1/cluster/nodes: the
// stream and the registered nodes (cluster/node.Node). A Cluster without it
// lists this node alone.
type ClusterNodes interface {
	Nodes(ctx context.Context) (cluster.NodesView, error)
}

// clusterNodesReply is GET /v1/cluster/nodes's reply; the console's cluster
// page reads exactly this shape.
type clusterNodesReply struct {
	Mode   string              `json:"mode"` // "cluster" or "single"
	Stream *clusterStreamReply `json:"stream,omitempty"`
	Nodes  []clusterNodeReply  `json:"nodes"`
}

type clusterStreamReply struct {
	Name     string `json:"name"`
	Replicas int    `json:"replicas"`
	HeadSeq  uint64 `json:"head_seq"`
}

type clusterNodeReply struct {
	Name        string  `json:"name"`
	Addr        string  `json:"addr"`
	AppliedSeq  uint64  `json:"applied_seq"`
	LagMessages uint64  `json:"lag_messages"`
	LagSeconds  float64 `json:"lag_seconds"`
	Ready       bool    `json:"ready"`
	UpdatedAt   string  `json:"updated_at"`
}

// clusterNodes lists the nodes of the cluster as the registry knows them
// (each node refreshes its entry every few seconds; a silent one drops out
// after its TTL). On a single node it is this node, at sequence 0, ready as
// /readyz would say.
func (s *Server) clusterNodes(c *fiber.Ctx) error {
	if cn, ok := s.opts.Cluster.(ClusterNodes); ok {
		v, err := cn.Nodes(c.UserContext())
		if err != nil {
			return err
		}
		r := clusterNodesReply{Mode: "cluster", Stream: &clusterStreamReply{Name: v.Stream, Replicas: v.Replicas, HeadSeq: v.HeadSeq},
			Nodes: make([]clusterNodeReply, 0, len(v.Nodes))}
		for _, in := range v.Nodes {
			r.Nodes = append(r.Nodes, clusterNodeReply{Name: in.Name, Addr: in.Addr, AppliedSeq: in.AppliedSeq,
				LagMessages: in.LagMsgs, LagSeconds: in.LagSecs, Ready: in.Ready, UpdatedAt: in.UpdatedAt.UTC().Format(time.RFC3339)})
		}
		return c.JSON(r)
	}
	name, _ := os.Hostname()
	ready := s.ready.Load() && s.deps.Store.Ready() == nil && s.clusterReady() == nil
	self := clusterNodeReply{Name: name, Addr: c.Context().LocalAddr().String(), Ready: ready,
		UpdatedAt: time.Now().UTC().Format(time.RFC3339)}
	return c.JSON(clusterNodesReply{Mode: "single", Nodes: []clusterNodeReply{self}})
}
