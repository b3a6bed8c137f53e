package testbed

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sh(script string) func() *exec.Cmd {
	return func() *exec.Cmd { return exec.Command("sh", "-c", script) }
}

func TestWatchedRetriesAStall(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "tried")
	var log strings.Builder
	reports := 0
	// The first try prints, then hangs; the second ends at once.
	stdout, _, err := watched(sh(`if [ -e `+marker+` ]; then echo second; else touch `+marker+`; echo first; exec sleep 30; fi`),
		300*time.Millisecond, 200*time.Millisecond, nil, func() string { reports++; return "the report" }, &log)
	if err != nil {
		t.Fatalf("the second try failed: %v", err)
	}
	if string(stdout) != "second\n" {
		t.Errorf("stdout %q, want the second try's", stdout)
	}
	if reports != 1 {
		t.Errorf("%d stall reports, want 1", reports)
	}
	for _, want := range []string{"stopped as stalled", "the report", "running it once more"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, log.String())
		}
	}
}

func TestWatchedStallsTwice(t *testing.T) {
	var log strings.Builder
	reports := 0
	start := time.Now()
	_, _, err := watched(sh(`echo start; exec sleep 30`), 300*time.Millisecond, 200*time.Millisecond, nil,
		func() string { reports++; return "" }, &log)
	var st *errStalled
	if !errors.As(err, &st) {
		t.Fatalf("err %v, want a stall", err)
	}
	if reports != 2 {
		t.Errorf("%d stall reports, want 2", reports)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s: the stalled command was not killed", d)
	}
}

func TestWatchedLeavesBusyAndFailingCommands(t *testing.T) {
	var log strings.Builder
	reports := 0
	onStall := func() string { reports++; return "" }
	// Output every 100ms for a second keeps it going under a 300ms window.
	stdout, _, err := watched(sh(`for i in 1 2 3 4 5 6 7 8 9 10; do echo $i; sleep 0.1; done`),
		300*time.Millisecond, 200*time.Millisecond, nil, onStall, &log)
	if err != nil || !strings.HasSuffix(string(stdout), "10\n") {
		t.Errorf("busy command: %v, %q", err, stdout)
	}
	// A command that fails is not run again.
	marker := filepath.Join(t.TempDir(), "runs")
	_, _, err = watched(sh(`echo x >> `+marker+`; exit 3`), 300*time.Millisecond, 200*time.Millisecond, nil, onStall, &log)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("failing command: err %v, want exit status 3", err)
	}
	if runs, _ := os.ReadFile(marker); string(runs) != "x\n" {
		t.Errorf("the failing command ran %d times", strings.Count(string(runs), "x"))
	}
	if reports != 0 || log.Len() != 0 {
		t.Errorf("%d stall reports, log %q", reports, log.String())
	}
}

// childrenCPU is the CPU time of the test's child processes: the test's own
// (reading /proc on each check) would count as the command's.
func childrenCPU() time.Duration {
	return cpuTime(descendants(os.Getpid()))
}

func TestWatchedLeavesASilentBusyCommand(t *testing.T) {
	// Three silent seconds of work under a one-second window: a long
	// compile. Counting CPU time as output keeps it going.
	busy := sh(`end=$(($(date +%s)+3)); while [ $(date +%s) -lt $end ]; do :; done; echo done`)
	var log strings.Builder
	stdout, _, err := watched(busy, time.Second, 200*time.Millisecond, childrenCPU,
		func() string { return "" }, &log)
	if err != nil || string(stdout) != "done\n" {
		t.Errorf("busy command counted as stalled: %v, %q\n%s", err, stdout, log.String())
	}
	// Without the CPU time it is a stall, and so is an idle one with it.
	_, _, err = watched(busy, time.Second, 200*time.Millisecond, nil, func() string { return "" }, &log)
	var st *errStalled
	if !errors.As(err, &st) {
		t.Errorf("err %v, want a stall when CPU time does not count", err)
	}
	_, _, err = watched(sh(`sleep 3; echo done`), time.Second, 200*time.Millisecond, childrenCPU,
		func() string { return "" }, &log)
	if !errors.As(err, &st) {
		t.Errorf("err %v, want a stall of an idle command", err)
	}
}

func TestDescendantsInContainer(t *testing.T) {
	// A process named runc stands for the runtime: what runs below it is
	// in a container, it and its parent are not.
	dir := t.TempDir()
	runc := filepath.Join(dir, "runc")
	if err := os.Symlink("/bin/sh", runc); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", runc+` -c 'sleep 30; true'; true`)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var procs []proc
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if procs = descendants(cmd.Process.Pid); len(procs) == 2 {
			break
		}
	}
	if len(procs) != 2 {
		t.Fatalf("descendants: %+v, want runc and sleep", procs)
	}
	for _, p := range procs {
		inside := strings.HasPrefix(p.cmdline, "sleep")
		if p.inContainer != inside {
			t.Errorf("%q: in container %v, want %v", p.cmdline, p.inContainer, inside)
		}
	}
	for _, p := range descendants(os.Getpid()) {
		if p.pid == cmd.Process.Pid && p.inContainer {
			t.Errorf("the runtime's parent counts as in a container")
		}
	}
}
