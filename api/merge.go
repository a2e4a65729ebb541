package api

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/features"
)

// POST /v1/customers/{id}/merge with {"from": "<anonymous id>"} moves an
// anonymous visitor's history onto the customer who logged in
// (features.Store.MergeCustomers; docs/identity.md). The target is created
// when unknown; a repeat is a 200 that does nothing. In cluster mode the
// merge goes through the stream and every node applies it; the reply, once
// this node has applied it, carries its X-Affinity-Seq (writeSeq).

// mergeBody is POST /v1/customers/{id}/merge.
type mergeBody struct {
	From *string `json:"from"`
}

// mergeReply says what the merge did.
type mergeReply struct {
	CustomerID string `json:"customer_id"`
	From       string `json:"from"`
	// EventsMoved is how many events moved onto the customer (0 on a
	// repeat).
	EventsMoved int `json:"events_moved"`
	// Created says the customer did not exist and was created.
	Created bool `json:"created"`
	// AlreadyMerged says from had been merged into this customer before:
	// nothing was done.
	AlreadyMerged bool `json:"already_merged"`
}

func (s *Server) mergeCustomer(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "customer_id")
	if err != nil {
		return err
	}
	var b mergeBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if b.From == nil {
		return badRequest("from", "from is required: the anonymous id whose history moves onto this customer")
	}
	res, err := s.deps.Store.MergeCustomers(*b.From, id)
	switch {
	case errors.Is(err, features.ErrNotFound):
		return &HTTPError{Status: http.StatusNotFound, Field: "from", Detail: "from names " + err.Error()}
	case errors.Is(err, features.ErrMergedElsewhere):
		return &HTTPError{Status: http.StatusConflict, Field: "from", Detail: "from was " + features.ErrMergedElsewhere.Error() + "; its history is no longer under its id"}
	case err != nil:
		return err
	}
	return c.JSON(mergeReply{CustomerID: id, From: *b.From, EventsMoved: res.Moved, Created: res.Created, AlreadyMerged: res.Repeated})
}
