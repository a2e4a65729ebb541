package api

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/affinity-rec/affinity/cluster"
)

// Cluster is what the API needs of a cluster node (cluster/node.Node): its
// follower's status, a bounded wait for a sequence, and its readiness.
// Options.Cluster nil is single-node mode, where none of this file acts.
type Cluster interface {
	Status() cluster.Status
	WaitFor(ctx context.Context, seq uint64) error
	Ready() error
}

// Headers of read-your-writes: a write's reply carries the stream sequence
// it reached; a read that sends it back waits (bounded) until this node has
// applied it.
const (
	HeaderSeq    = "X-Affinity-Seq"
	HeaderMinSeq = "X-Affinity-Min-Seq"
)

// useCluster adds the cluster metrics when the server is a cluster node.
func (s *Server) useCluster() {
	if s.opts.Cluster == nil {
		return
	}
	s.app.Use(s.writeSeq)
	s.registerClusterMetrics()
}

// minSeq holds a request that sends X-Affinity-Min-Seq until this node has
// applied that sequence, at most the node's bound; past it the request
// gets 503 naming the lag, so the client can retry or go to another node.
// Writes honour it too: a write is validated against this node's state
// (a PATCH of a customer created through another node needs that
// customer here). Without the header, or in single-node mode, nothing
// waits.
//
// It runs after the key check (routes puts it between auth and the
// handler): a request without a valid key gets its 401 (or 403, or 429)
// at once, never after a wait, and an unauthenticated client cannot hold
// connections open by sending a sequence far ahead. Routes without a
// scope (/healthz, /readyz, /metrics) never wait.
func (s *Server) minSeq(c *fiber.Ctx) error {
	cl := s.opts.Cluster
	raw := c.Get(HeaderMinSeq)
	if cl == nil || raw == "" {
		return c.Next()
	}
	seq, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return &HTTPError{Status: fiber.StatusBadRequest, Field: HeaderMinSeq,
			Detail: fmt.Sprintf("%s must be a stream sequence (a non-negative integer), not %q", HeaderMinSeq, raw)}
	}
	if err := cl.WaitFor(c.UserContext(), seq); err != nil {
		var lag *cluster.LagError
		if errors.As(err, &lag) {
			c.Set(fiber.HeaderRetryAfter, "1")
			return &HTTPError{Status: fiber.StatusServiceUnavailable,
				Detail: fmt.Sprintf("this node has applied up to sequence %d, %d behind the %s %d asked for; retry, or ask another node", lag.Applied, lag.Want-lag.Applied, HeaderMinSeq, lag.Want)}
		}
		return &HTTPError{Status: fiber.StatusServiceUnavailable, Detail: "this node has stopped applying the cluster stream: " + err.Error()}
	}
	return c.Next()
}

// clusterReady is /readyz's cluster check: not ready while the apply has
// stalled, is more than max_lag messages behind, or cannot reach the
// stream, so load balancers drain the node until it catches up.
func (s *Server) clusterReady() error {
	if s.opts.Cluster == nil {
		return nil
	}
	if err := s.opts.Cluster.Ready(); err != nil {
		return &HTTPError{Status: fiber.StatusServiceUnavailable, Detail: err.Error()}
	}
	return nil
}

// registerClusterMetrics exports the follower's status to /metrics.
func (s *Server) registerClusterMetrics() {
	cl := s.opts.Cluster
	gauge := func(name, help string, f func(cluster.Status) float64) {
		s.metrics.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return f(cl.Status()) }))
	}
	gauge("affinity_cluster_applied_seq", "Last cluster stream sequence applied on this node.",
		func(st cluster.Status) float64 { return float64(st.Applied) })
	gauge("affinity_cluster_head_seq", "The stream's last sequence at the last poll.",
		func(st cluster.Status) float64 { return float64(st.Head) })
	gauge("affinity_cluster_lag_messages", "Messages of the stream not yet applied here.",
		func(st cluster.Status) float64 { return float64(st.LagMsgs) })
	gauge("affinity_cluster_lag_seconds", "Write-time distance between the stream head and the last applied message.",
		func(st cluster.Status) float64 { return st.LagSecs })
	gauge("affinity_cluster_apply_rate", "Messages applied per second over the last poll interval.",
		func(st cluster.Status) float64 { return st.Rate })
	gauge("affinity_cluster_silent_seconds", "How long the stream has not answered this node's polls; 0 while it does.",
		func(st cluster.Status) float64 { return st.Silent.Seconds() })
	gauge("affinity_cluster_stalled_seq", "Stream sequence the apply stopped at (it could not be applied); 0 while healthy.",
		func(st cluster.Status) float64 { return float64(st.StalledAt) })
}

// setSeqHeader puts the stream sequence a write reached on its reply.
func setSeqHeader(c *fiber.Ctx, seq uint64) {
	if seq > 0 {
		c.Set(HeaderSeq, strconv.FormatUint(seq, 10))
	}
}
