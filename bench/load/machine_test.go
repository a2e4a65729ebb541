//go:build unix

package load

import (
	"io"
	"net"
	"syscall"
	"testing"
)

// The machine's own costs, to tell whether a latency figure taken on one
// machine can be compared with one taken on another: every request of a
// load run costs each side about four system calls and a thread wake-up
// (docs/performance.md, session 11), so a machine whose system calls are
// ten times dearer serves a trivial handler at a fraction of the rate.
//
//	go test -run '^$' -bench Machine -benchtime 2s ./bench/load

// BenchmarkMachineNullSyscall is the cost of entering and leaving the
// kernel (getppid does nothing else).
func BenchmarkMachineNullSyscall(b *testing.B) {
	for b.Loop() {
		syscall.Getppid()
	}
}

// BenchmarkMachineLoopbackRoundTrip is one 100-byte message echoed over a
// loopback TCP connection: two writes, two reads and two goroutine
// wake-ups across the network stack, a request's floor.
func BenchmarkMachineLoopbackRoundTrip(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg, buf := make([]byte, 100), make([]byte, 100)
	for b.Loop() {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
	}
}
