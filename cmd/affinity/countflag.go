package main

import (
	"fmt"
	"strconv"
)

// countFlag is a size flag that may be left out (the preset's size then
// applies) but, when given, must be a positive count. With a plain int
// flag and 0 for "not given", `--customers 0` silently meant the preset's
// million customers.
type countFlag struct {
	n   int
	set bool
}

// String is empty while unset, so the usage shows no default.
func (c *countFlag) String() string {
	if c == nil || !c.set {
		return ""
	}
	return strconv.Itoa(c.n)
}

// Set parses a positive count; the flag package names the flag in the
// error.
func (c *countFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("not a whole number")
	}
	if n < 1 {
		return fmt.Errorf("must be at least 1 (leave the flag out for the --size's)")
	}
	c.n, c.set = n, true
	return nil
}

// apply replaces *dst with the given count, if one was given.
func (c *countFlag) apply(dst *int) {
	if c.set {
		*dst = c.n
	}
}
