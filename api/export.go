package api

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/recommend/campaign"
)

// campaignDeps are the services an export calls.
func (s *Server) campaignDeps() campaign.Deps {
	d := campaign.Deps{Store: s.deps.Store, Profiles: s.deps.CRM, Engine: s.deps.Engine, Lists: s.lists, Offers: s.deps.Offers}
	if s.deps.Experiments != nil {
		// Only a non-nil service: a nil pointer in the interface would
		// look like one.
		d.Experiments = s.deps.Experiments
	}
	return d
}

func (s *Server) postExport(c *fiber.Ctx) error {
	var b exportBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if b.Experiment == "" {
		// The flags as headers, as the list endpoints take them (and as
		// the Go client's WithExperiment sends them).
		b.Experiment = strings.Clone(c.Get("X-Affinity-Experiment"))
		if b.Variant == "" {
			b.Variant = strings.Clone(c.Get("X-Affinity-Variant"))
		}
	}
	r := campaign.Request{What: campaign.What(b.What), Segment: b.Segment, Customers: b.Customers, Limit: b.Limit,
		Channel: b.Channel, Experiment: b.Experiment, Variant: b.Variant}
	job, err := campaign.Prepare(c.UserContext(), s.campaignDeps(), r)
	if err != nil {
		return err
	}
	return s.streamJob(c, job)
}

// streamJob answers with the job's lines as a chunked NDJSON stream,
// written as they are ranked: the pipe holds one chunk, so a slow reader
// slows the export rather than filling memory. X-Affinity-Total says how
// many lines to expect (a progress bar's denominator). A failure part-way
// closes the pipe with the error: fasthttp then ends the connection
// without the last chunk, so the client sees a broken transfer rather
// than a short export that looks whole (as a backup does). A client that
// goes away closes the pipe, which stops the export.
func (s *Server) streamJob(c *fiber.Ctx, job *campaign.Job) error {
	c.Set(fiber.HeaderContentType, "application/x-ndjson")
	c.Set("X-Affinity-Total", strconv.Itoa(job.Total()))
	conn := c.Context().Conn()
	timeout := s.opts.WriteTimeout
	pr, pw := io.Pipe()
	go func() {
		// The request's context ends with the handler; the export runs
		// on until it is done or the client stops reading.
		_, err := job.Run(context.Background(), pw, func(int) { extendWrite(conn, timeout) })
		if err != nil {
			s.log.Warn("export ended early", "err", err)
		}
		pw.CloseWithError(err)
	}()
	c.Context().SetBodyStream(pr, -1)
	return nil
}

// extendWrite pushes the connection's write deadline on after each chunk.
// The server sets WriteTimeout once per reply, which would cut any export
// that takes longer; per chunk it still bounds a client that stops
// reading, which is what the timeout is for.
func extendWrite(conn net.Conn, timeout time.Duration) {
	if conn != nil && timeout > 0 {
		_ = conn.SetWriteDeadline(time.Now().Add(timeout))
	}
}
