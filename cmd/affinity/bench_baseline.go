package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/bench/load"
	"github.com/affinity-rec/affinity/bench/synth"
)

// runBaselineBench is `affinity bench --baseline`: it serves the trivial
// fiber handler on a loopback port of this process, loads it and then the
// target with the same options, and prints both with their ratio.
func runBaselineBench(ctx context.Context, o load.Options, jsonOut bool, out string, stdout, stderr io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("cannot start the baseline server: %w", err)
	}
	app := api.NewBaselineApp()
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	defer func() {
		_ = app.ShutdownWithTimeout(5 * time.Second)
		<-served
	}()
	cmp, err := load.RunWithBaseline(ctx, o, "http://"+ln.Addr().String(), stderr)
	if err != nil {
		return err
	}
	if out != "" {
		if err := writeBenchReport(out, cmp.Result); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "report written to %s\n", out)
	}
	if jsonOut {
		err = cmp.WriteJSON(stdout)
	} else {
		err = cmp.WriteTable(stdout)
	}
	if err != nil {
		return err
	}
	if cmp.Requests > 0 && cmp.OK == 0 {
		return fmt.Errorf("bench: none of %d requests succeeded", cmp.Requests)
	}
	return nil
}

// generateSynth is `affinity bench --generate FILE`.
func generateSynth(path string, o synth.Options, stdout io.Writer) error {
	start := time.Now()
	st, err := synth.WriteFile(path, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d events (%d purchases) in %d sessions, %d customers, %d products, %.1f MB uncompressed, %.1fs\n",
		path, st.Events, st.Purchases, st.Sessions, st.Customers, st.Products, float64(st.Bytes)/1e6, time.Since(start).Seconds())
	fmt.Fprintf(stdout, "load it with: affinity import --data DIR --format %s %s\n", o.Format, path)
	return nil
}
