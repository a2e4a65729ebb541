package leftover

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// aged makes path look minAge and more old.
func aged(t *testing.T, path string) {
	t.Helper()
	old := time.Now().Add(-2 * minAge)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("half a backup"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSweepTakesOnlyOwnerlessOldOnes: Sweep removes the matching
// temporaries that nobody claims and that are a minute old, files and
// directories alike, and leaves a claimed one (until it is released), a
// new one and one of another output.
func TestSweepTakesOnlyOwnerlessOldOnes(t *testing.T) {
	if !supported {
		t.Skip("no advisory locks here")
	}
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	for _, n := range []string{".out.1.partial", ".out.2.partial", ".out.3.partial", ".other.4.partial"} {
		touch(t, p(n))
	}
	if err := os.MkdirAll(p(".d.restoring-5/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	touch(t, p(".d.restoring-5/sub/000001.sst"))
	for _, n := range []string{".out.1.partial", ".out.2.partial", ".other.4.partial", ".d.restoring-5"} {
		aged(t, p(n))
	}
	release := Claim(p(".out.2.partial"))

	got := Sweep(dir, ".out.*.partial")
	if want := []string{p(".out.1.partial")}; !slices.Equal(got, want) {
		t.Fatalf("swept %v, want %v", got, want)
	}
	for _, n := range []string{".out.2.partial", ".out.3.partial", ".other.4.partial"} {
		if _, err := os.Stat(p(n)); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	if got := Sweep(dir, ".d.restoring-*"); len(got) != 1 {
		t.Errorf("restoring directory: swept %v", got)
	}
	if _, err := os.Stat(p(".d.restoring-5")); !os.IsNotExist(err) {
		t.Errorf("restoring directory still there: %v", err)
	}
	release()
	if got := Sweep(dir, ".out.*.partial"); len(got) != 1 || got[0] != p(".out.2.partial") {
		t.Fatalf("after the release: swept %v", got)
	}
}

// TestSweepAfterTheOwnerIsKilled: a temporary claimed by a process that
// is then killed with SIGKILL (the case Sweep exists for) is swept; while
// that process lived it was not.
func TestSweepAfterTheOwnerIsKilled(t *testing.T) {
	if !supported {
		t.Skip("no advisory locks here")
	}
	if path := os.Getenv("LEFTOVER_CLAIM"); path != "" {
		Claim(path)
		os.WriteFile(path+".claimed", nil, 0o600)
		time.Sleep(time.Minute) // until killed
		return
	}
	dir := t.TempDir()
	path := filepath.Join(dir, ".b.7.partial")
	touch(t, path)
	aged(t, path)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSweepAfterTheOwnerIsKilled$")
	cmd.Env = append(os.Environ(), "LEFTOVER_CLAIM="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for i := 0; ; i++ {
		if _, err := os.Stat(path + ".claimed"); err == nil {
			break
		}
		if i == 3000 {
			t.Fatal("the claiming process did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := Sweep(dir, ".b.*.partial"); len(got) != 0 {
		t.Fatalf("swept %v while its owner lived", got)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if got := Sweep(dir, ".b.*.partial"); len(got) != 1 {
		t.Fatalf("after the owner was killed: swept %v", got)
	}
}

// TestEscape: a name with pattern characters matches only itself.
func TestEscape(t *testing.T) {
	name := "a[1]*?.bak"
	pat := "." + Escape(name) + ".*.partial"
	if ok, err := filepath.Match(pat, "."+name+".9.partial"); !ok || err != nil {
		t.Errorf("%q does not match its own partial file: %v", pat, err)
	}
	if ok, _ := filepath.Match(pat, ".a1xy.bak.9.partial"); ok {
		t.Errorf("%q matches another output's partial file", pat)
	}
}

// TestSweepStaysInItsDirectory: pattern characters in the directory's own
// path do not make Sweep look elsewhere ("bk[1]" globbed "bk1").
func TestSweepStaysInItsDirectory(t *testing.T) {
	if !supported {
		t.Skip("no advisory locks here")
	}
	root := t.TempDir()
	odd, other := filepath.Join(root, "bk[1]"), filepath.Join(root, "bk1")
	for _, d := range []string{odd, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		touch(t, filepath.Join(d, ".out.1.partial"))
		aged(t, filepath.Join(d, ".out.1.partial"))
	}
	got := Sweep(odd, ".out.*.partial")
	if want := []string{filepath.Join(odd, ".out.1.partial")}; !slices.Equal(got, want) {
		t.Fatalf("swept %v, want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(other, ".out.1.partial")); err != nil {
		t.Fatalf("the other directory's file: %v", err)
	}
}
