//go:build !unix

package leftover

import (
	"errors"
	"os"
)

func lock(string) (*os.File, bool, error) {
	return nil, false, errors.New("advisory locks are not used on this system")
}

const supported = false
