// Command affinity is the one binary: serve, import, eval, bench, backup,
// restore, export. It is the only place that reads flags and the environment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

const usage = `affinity: recommendation and personalization API

usage:
  affinity serve   [--addr 127.0.0.1:8080] [--data ./data] [--config FILE] [--demo FILE] [--insecure]
                   [--nats URL[,URL...]] [--pprof]
  affinity import  --data DIR --format csv|ndjson|movielens|online-retail FILE...
  affinity eval    --format csv|movielens|online-retail (--train F --test F | FILE)
                   [--split item-stratified|user-stratified|temporal] [--test-ratio 0.25]
                   [--seed 42] [--k 10] [--algo NAME] [--json]
  affinity bench   --url URL [--duration 10s] [--concurrency 32] [--rate RPS]
                   [--scenario related|personal|popular|nbo|mixed] [--json]
  affinity backup  --data DIR --out FILE
  affinity restore --data DIR FILE
  affinity export  (--data DIR | --url URL) --segment NAME|--customers FILE
                   [--what recommendations|next-best-offer|members] [--limit 10] [--out FILE]
  affinity cluster-demo [--data ./data-cluster] [--demo FILE] [--config FILE] [--port 8081]
                   (three nodes over an embedded NATS JetStream cluster; docs/cluster.md)

each command's --help lists all its flags.
environment: AFFINITY_ADDR, AFFINITY_DATA, AFFINITY_API_KEYS
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// AFFINITY_CPUPROFILE=FILE profiles any command (import, eval, serve).
	if path := os.Getenv("AFFINITY_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			if err := pprof.StartCPUProfile(f); err == nil {
				defer pprof.StopCPUProfile()
			}
		}
	}
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		pprof.StopCPUProfile()
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "affinity:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("a command is required")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "import":
		return runImport(ctx, rest, stdout, stderr)
	case "eval":
		return runEval(ctx, rest, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, stdout, stderr)
	case "backup":
		return runBackup(ctx, rest, stdout, stderr)
	case "restore":
		return runRestore(ctx, rest, stdout, stderr)
	case "export":
		return runExport(ctx, rest, stdout, stderr)
	case "cluster-demo": // make cluster
		return runClusterDemo(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// envOr returns the environment variable's value, or def.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
