package testbed

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A build here can stall with nothing left to do: a RUN step's download
// whose response body stops arriving (Go's module fetch has no read
// deadline), or a container whose exit the daemon never sees (BuildKit
// issue 4483). Stock builds stall the same way, so a stall says nothing of
// hoist; the test bed takes a build that prints nothing for stallAfter, while
// buildkitd and its processes stay idle, as stalled, reports what was
// running, and runs it once more.
// HOIST_TESTBED_STALL (a duration) sets another window.
var stallAfter = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("HOIST_TESTBED_STALL")); err == nil && d > 0 {
		return d
	}
	return 6 * time.Minute
}()

// errStalled marks a command the watchdog stopped.
type errStalled struct {
	after  time.Duration
	report string
}

func (e *errStalled) Error() string {
	return fmt.Sprintf("printed nothing for %s, stopped as stalled\n%s", e.after, e.report)
}

// watched runs the command mk makes, stopping it when it prints nothing on
// stdout or stderr for stall. cpu, if set, is the CPU time of whatever does
// the command's work: a check interval in which it grew by a quarter of the
// interval counts as output (a long compile prints nothing until it ends).
// onStall runs first (it may make the command's processes print what they
// were doing) and returns a report; the command then has grace to end
// before it is killed. A stalled command runs once more; its first try's
// report and output go to log.
func watched(mk func() *exec.Cmd, stall, grace time.Duration, cpu func() time.Duration, onStall func() string, log io.Writer) (stdout, stderr []byte, err error) {
	for try := 1; ; try++ {
		cmd := mk()
		stdout, stderr, err = watchOnce(cmd, stall, grace, cpu, onStall)
		st, ok := err.(*errStalled)
		if !ok || try == 2 {
			return stdout, stderr, err
		}
		fmt.Fprintf(log, "testbed: %s: %v\noutput so far:\n%s\ntestbed: running it once more\n",
			strings.Join(cmd.Args, " "), st, tail(string(stderr), 30000))
	}
}

func watchOnce(cmd *exec.Cmd, stall, grace time.Duration, cpu func() time.Duration, onStall func() string) ([]byte, []byte, error) {
	var mu sync.Mutex
	last := time.Now()
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &activeWriter{w: &stdout, mu: &mu, last: &last}
	cmd.Stderr = &activeWriter{w: &stderr, mu: &mu, last: &last}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	interval := stall / 20
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var used time.Duration
	if cpu != nil {
		used = cpu()
	}
	for {
		select {
		case err := <-done:
			mu.Lock()
			defer mu.Unlock()
			return stdout.Bytes(), stderr.Bytes(), err
		case <-tick.C:
		}
		mu.Lock()
		if cpu != nil {
			now := cpu()
			if now-used >= interval/4 {
				last = time.Now()
			}
			used = now
		}
		idle := time.Since(last)
		mu.Unlock()
		if idle < stall {
			continue
		}
		report := onStall()
		select {
		case <-done:
		case <-time.After(grace):
			_ = cmd.Process.Kill()
			<-done
		}
		mu.Lock()
		defer mu.Unlock()
		return stdout.Bytes(), stderr.Bytes(), &errStalled{after: stall, report: report}
	}
}

type activeWriter struct {
	w    io.Writer
	mu   *sync.Mutex
	last *time.Time
}

func (a *activeWriter) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	*a.last = time.Now()
	return a.w.Write(p)
}

// stallReport lists buildkitd's process tree and the daemon's goroutines
// that run containers, then sends SIGQUIT to every process inside a
// container: a Go program (go, hoist's own helper) prints its goroutines
// into the step's log, which the client shows.
func (d *daemon) stallReport() string {
	var b strings.Builder
	procs := descendants(d.cmd.Process.Pid)
	b.WriteString("buildkitd's processes (pid ppid state wchan command):\n")
	for _, p := range procs {
		fmt.Fprintf(&b, "  %d %d %s %s %s\n", p.pid, p.ppid, p.state, p.wchan, p.cmdline)
	}
	if d.debugAddr != "" {
		b.WriteString(executorGoroutines(d.debugAddr))
	}
	for _, p := range procs {
		if p.inContainer {
			_ = syscall.Kill(p.pid, syscall.SIGQUIT)
		}
	}
	return b.String()
}

// cpu is the CPU time buildkitd and the processes below it used, those
// they waited for included.
func (d *daemon) cpu() time.Duration {
	return treeCPU(d.cmd.Process.Pid)
}

type proc struct {
	pid, ppid   int
	state       string
	wchan       string
	cmdline     string
	inContainer bool
	// ticks is the CPU time in clock ticks: user and system, its own and
	// its waited-for children's.
	ticks int64
}

// treeCPU is the CPU time of root and its descendants.
func treeCPU(root int) time.Duration {
	procs := descendants(root)
	if p, ok := readProc(root); ok {
		procs = append(procs, p)
	}
	return cpuTime(procs)
}

// cpuTime is the CPU time procs used.
func cpuTime(procs []proc) time.Duration {
	var ticks int64
	for _, p := range procs {
		ticks += p.ticks
	}
	// USER_HZ is 100 on every Linux architecture the test bed runs on.
	return time.Duration(ticks) * time.Second / 100
}

// descendants reads /proc for the processes below root, in pid order; a
// process below a runc process (and not runc itself) is in a container.
func descendants(root int) []proc {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	all := map[int]*proc{}
	for _, dir := range dirs {
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok {
			all[pid] = &p
		}
	}
	isRunc := func(p *proc) bool {
		name := strings.Fields(p.cmdline + " ?")[0]
		return strings.HasSuffix(name, "runc") || strings.HasPrefix(p.cmdline, "runc:")
	}
	var out []proc
	for _, p := range all {
		below, inContainer := false, false
		for q := all[p.ppid]; q != nil; q = all[q.ppid] {
			if isRunc(q) && !isRunc(p) {
				inContainer = true
			}
			if q.pid == root {
				below = true
				break
			}
		}
		if below {
			p.inContainer = inContainer
			out = append(out, *p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pid < out[j].pid })
	return out
}

// readProc reads one process from /proc; false if it is gone.
func readProc(pid int) (proc, bool) {
	dir := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return proc{}, false
	}
	// pid (comm) state ppid ... utime stime cutime cstime (fields 14-17):
	// comm may hold spaces and parentheses.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if i < 0 || len(f) < 15 {
		return proc{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	var ticks int64
	for _, v := range f[11:15] {
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	wchan, _ := os.ReadFile(filepath.Join(dir, "wchan"))
	cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
	return proc{pid: pid, ppid: ppid, state: f[0], wchan: string(wchan), ticks: ticks,
		cmdline: strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))}, true
}

// executorGoroutines is the part of buildkitd's goroutine dump that runs
// or waits on containers.
func executorGoroutines(addr string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/debug/pprof/goroutine?debug=2", nil)
	if err != nil {
		return ""
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "buildkitd goroutines: " + err.Error() + "\n"
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return "buildkitd goroutines: " + err.Error() + "\n"
	}
	var b strings.Builder
	b.WriteString("buildkitd goroutines in its executor:\n")
	for _, g := range strings.Split(string(data), "\n\n") {
		if strings.Contains(g, "executor") && b.Len() < 12000 {
			b.WriteString(g + "\n\n")
		}
	}
	return b.String()
}
