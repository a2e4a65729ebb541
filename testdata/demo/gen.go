//go:build ignore

// gen writes the demo data set, a sample of the UCI Online Retail set, from
// the full file next to the checkout. Run it from the repository root:
//
//	go run testdata/demo/gen.go
//
// The sample keeps every row, in the original bytes and order, of about one
// customer in twelve: those whose CustomerID (without the ".0" the file
// writes) has an FNV-1a 32-bit hash divisible by 12. So that the importer's
// "no customer" rule shows too, it also keeps the rows without a customer of
// about one invoice in 128 (FNV-1a of InvoiceNo divisible by 128). The
// output is byte-for-byte reproducible for a given Go release.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"os"
	"strings"
)

const (
	customerModulus = 12
	invoiceModulus  = 128
)

func main() {
	in := flag.String("in", "../shared/data/uci-online-retail/online_retail.csv.gz", "the full Online Retail CSV (gzip)")
	out := flag.String("out", "testdata/demo/online_retail_sample.csv.gz", "the sample to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		log.Fatal(err)
	}
}

func run(in, out string) error {
	data, err := readGzip(in)
	if err != nil {
		return err
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = 8
	cr.ReuseRecord = true
	var (
		sample                      bytes.Buffer
		start                       int64
		rows, cancelled, noCustomer int
		customers                   = map[string]bool{}
		products                    = map[string]bool{}
		invoices                    = map[string]bool{}
	)
	for line := 0; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("cannot parse %s: %w", in, err)
		}
		end := cr.InputOffset()
		raw := data[start:end]
		start = end
		if line == 0 {
			sample.Write(raw)
			continue
		}
		invoice, stock, customer := rec[0], rec[1], strings.TrimSuffix(rec[6], ".0")
		keep := customer != "" && hash(customer)%customerModulus == 0 ||
			customer == "" && hash(invoice)%invoiceModulus == 0
		if !keep {
			continue
		}
		sample.Write(raw)
		rows++
		products[stock] = true
		invoices[invoice] = true
		if customer != "" {
			customers[customer] = true
		} else {
			noCustomer++
		}
		if strings.HasPrefix(invoice, "C") {
			cancelled++
		}
	}
	if err := writeGzip(out, sample.Bytes()); err != nil {
		return err
	}
	fmt.Printf("%s: %d rows, %d customers, %d products, %d invoices, %d cancellation rows, %d rows without a customer\n",
		out, rows, len(customers), len(products), len(invoices), cancelled, noCustomer)
	return nil
}

func hash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

func readGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open the full data set: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("cannot gunzip %s: %w", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	return b, nil
}

// writeGzip writes b compressed, with no name or time in the gzip header so
// that regenerating gives the same bytes.
func writeGzip(path string, b []byte) error {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("cannot compress: %w", err)
	}
	if _, err := zw.Write(b); err != nil {
		return fmt.Errorf("cannot compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("cannot compress: %w", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("cannot write the sample: %w", err)
	}
	return nil
}
