package client

import (
	"context"
	"encoding/json"
	"io"
	"strconv"
)

// ExportStream is a running POST /v1/exports: one JSON object per line.
// Read it to its end and Close it; a read error (not io.EOF) means the
// server cut the export part-way, so the lines read are not all of it.
type ExportStream struct {
	io.ReadCloser
	// Total is how many lines the server said it would send (-1: unknown).
	Total int
}

// Export starts a campaign export (a segment's or a list's customers, one
// NDJSON line each) and returns the reply body to stream. It is sent once,
// never retried: a next-best-offer export shows offers. The Options'
// HTTPClient timeout covers the whole stream, so give a client without one
// (or a long one) for large exports.
func (c *Client) Export(ctx context.Context, r ExportRequest) (*ExportStream, error) {
	resp, err := c.PostExport(ctx, nil, r)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		e := &Error{Status: resp.StatusCode, Body: body}
		var p Problem
		if json.Unmarshal(body, &p) == nil && p.Status != 0 {
			e.Problem = &p
		}
		return nil, e
	}
	total, err := strconv.Atoi(resp.Header.Get("X-Affinity-Total"))
	if err != nil {
		total = -1
	}
	return &ExportStream{ReadCloser: resp.Body, Total: total}, nil
}
