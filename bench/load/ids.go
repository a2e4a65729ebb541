package load

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/affinity-rec/affinity/client"
)

// IDs are the product and customer ids a load run draws from. Products
// should come most popular first, since the Zipf draw makes the first ids the
// hot ones. It is not safe for concurrent mutation; Run only reads it.
type IDs struct {
	Products  []string
	Customers []string
}

// ParseIDs reads an ids file: one `product:ID` or `customer:ID` a line.
// Blank lines and lines starting with '#' are skipped; duplicates are
// dropped, keeping the first.
func ParseIDs(r io.Reader) (IDs, error) {
	var ids IDs
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kind, id, ok := strings.Cut(line, ":")
		if !ok {
			return IDs{}, fmt.Errorf("cannot parse ids line %d %q: want product:ID or customer:ID", n, line)
		}
		kind, id = strings.TrimSpace(kind), strings.TrimSpace(id)
		if id == "" || len(id) > 256 {
			return IDs{}, fmt.Errorf("cannot parse ids line %d: an id has 1 to 256 bytes, got %d", n, len(id))
		}
		key := kind + ":" + id
		if seen[key] {
			continue
		}
		seen[key] = true
		switch kind {
		case "product":
			ids.Products = append(ids.Products, id)
		case "customer":
			ids.Customers = append(ids.Customers, id)
		default:
			return IDs{}, fmt.Errorf("cannot parse ids line %d: unknown kind %q, want product or customer", n, kind)
		}
	}
	if err := sc.Err(); err != nil {
		return IDs{}, fmt.Errorf("cannot read ids: %w", err)
	}
	return ids, nil
}

// ReadIDsFile reads an ids file in the format of ParseIDs.
func ReadIDsFile(path string) (IDs, error) {
	f, err := os.Open(path)
	if err != nil {
		return IDs{}, fmt.Errorf("cannot open ids file: %w", err)
	}
	defer f.Close()
	ids, err := ParseIDs(f)
	if err != nil {
		return IDs{}, fmt.Errorf("cannot load ids from %s: %w", path, err)
	}
	if len(ids.Products) == 0 && len(ids.Customers) == 0 {
		return IDs{}, fmt.Errorf("cannot load ids from %s: the file names no product and no customer", path)
	}
	return ids, nil
}

// discoverIDs asks the server which ids it holds: the 100 most popular
// products and up to 1000 customers. Only what the scenario needs is
// fetched, and a server without the customer listing is not an error: the
// caller falls back to unknown customers.
func discoverIDs(ctx context.Context, t *target, needProducts, needCustomers bool) (IDs, []string, error) {
	var ids IDs
	var warnings []string
	if needProducts {
		l, err := t.api.Popular(ctx, &client.GetPopularParams{Limit: client.Ptr(100)})
		if err != nil {
			return IDs{}, nil, fmt.Errorf("cannot list products to request: %w", err)
		}
		for _, it := range l.Items {
			if it.ProductId != "" {
				ids.Products = append(ids.Products, it.ProductId)
			}
		}
	}
	if needCustomers {
		custs, err := t.api.Customers(ctx, 1000)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("cannot list customers (%v): using unknown customer ids", err))
		} else {
			ids.Customers = custs
		}
	}
	return ids, warnings, nil
}
