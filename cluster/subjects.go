package cluster

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Subjects names the stream's subjects under one prefix:
//
//	<prefix>.c.<customer>.<kind>   a customer's own messages (events, attributes,
//	                               offer responses): one subject tree per customer
//	                               so erasure can purge it with one filter
//	<prefix>.d.<kind>              definitions (products, segments, offers,
//	                               experiments, ...), kept whole, never purged
//	<prefix>.erase                 erasure records (kept: a node that was down
//	                               during an erasure learns of it from here)
//
// The customer token is the id in unpadded base64url: reversible, so two
// customers never share a subject (a hash could collide, and then one
// erasure would purge another customer's data), and free of the characters
// that NATS subjects reserve ('.', '*', '>', spaces).
type Subjects struct {
	Prefix string
}

// customerEnc is base64url without padding: only A-Z a-z 0-9 - _.
var customerEnc = base64.RawURLEncoding

// Customer is the subject of one kind of message about one customer.
func (s Subjects) Customer(customerID, kind string) string {
	return s.Prefix + ".c." + customerEnc.EncodeToString([]byte(customerID)) + "." + kind
}

// CustomerFilter matches every message about one customer, whatever its kind.
func (s Subjects) CustomerFilter(customerID string) string {
	return s.Prefix + ".c." + customerEnc.EncodeToString([]byte(customerID)) + ".>"
}

// Definition is the subject of one kind of definition (e.g. "products").
func (s Subjects) Definition(kind string) string {
	return s.Prefix + ".d." + kind
}

// Erasure is the subject of erasure records.
func (s Subjects) Erasure() string { return s.Prefix + ".erase" }

// All matches every subject of the stream.
func (s Subjects) All() string { return s.Prefix + ".>" }

// Parsed is a subject taken apart: Customer is set for customer subjects,
// Kind is the last token (or "erase").
type Parsed struct {
	Customer string
	Kind     string
	Erasure  bool
}

// Parse takes a subject of this prefix apart; an error names what is wrong,
// so a follower can stop on a subject it does not understand.
func (s Subjects) Parse(subject string) (Parsed, error) {
	rest, ok := strings.CutPrefix(subject, s.Prefix+".")
	if !ok {
		return Parsed{}, fmt.Errorf("cluster: subject %q is not under prefix %q", subject, s.Prefix)
	}
	tok := strings.Split(rest, ".")
	switch {
	case len(tok) == 1 && tok[0] == "erase":
		return Parsed{Kind: "erase", Erasure: true}, nil
	case len(tok) == 2 && tok[0] == "d" && tok[1] != "":
		return Parsed{Kind: tok[1]}, nil
	case len(tok) == 3 && tok[0] == "c" && tok[2] != "":
		id, err := customerEnc.DecodeString(tok[1])
		if err != nil || len(id) == 0 {
			return Parsed{}, fmt.Errorf("cluster: subject %q: bad customer token", subject)
		}
		return Parsed{Customer: string(id), Kind: tok[2]}, nil
	}
	return Parsed{}, fmt.Errorf("cluster: subject %q has an unknown shape", subject)
}

// validToken reports whether s can be one subject token or a stream name.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}
