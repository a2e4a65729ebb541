//go:build linux

package background

import (
	"errors"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// TestEndedThreadKillsItsChildren holds LowerPriority's doc to what Linux
// does: a child started with a parent-death signal from a goroutine that
// then does niced work and exits (its thread ending) is killed, while one
// forked on a thread kept locked survives the same niced work. The
// console's browser tests lost Chromium this way about one start in
// twenty before they forked it on a kept thread.
func TestEndedThreadKillsItsChildren(t *testing.T) {
	sleeper := func() *exec.Cmd {
		cmd := exec.Command("sleep", "60")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		return cmd
	}
	// Forked on a thread that niced work then ends. The main thread is the
	// exception (the runtime parks it instead of ending it): a goroutine
	// that lands there lets it go, and the next one lands elsewhere.
	var cmd *exec.Cmd
	for cmd == nil {
		started := make(chan *exec.Cmd)
		go func() {
			LowerPriority()
			if syscall.Gettid() == syscall.Getpid() {
				started <- nil
				return
			}
			c := sleeper()
			if err := c.Start(); err != nil {
				t.Error(err)
				c = &exec.Cmd{}
			}
			started <- c
			// Exits locked: the thread ends.
		}()
		cmd = <-started
	}
	if cmd.Process == nil {
		return
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("child of an ended thread: %v, want killed", err)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the child outlived the thread that forked it: Linux no longer ties Pdeathsig to the thread, and LowerPriority's warning can go")
	}

	// Forked on a kept thread, with niced work ending threads around it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	kept := sleeper()
	if err := kept.Start(); err != nil {
		t.Fatal(err)
	}
	defer kept.Process.Kill()
	keptDone := make(chan error, 1)
	go func() { keptDone <- kept.Wait() }()
	for range 4 {
		done := make(chan struct{})
		go func() { LowerPriority(); close(done) }()
		<-done
	}
	// A killed child is reaped at once; give the signal time to land.
	select {
	case err := <-keptDone:
		t.Fatalf("the child of a kept thread died when other threads ended: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
}
