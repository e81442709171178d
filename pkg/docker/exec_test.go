package docker

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// execImage is the image the exec tests run in: any with sh, head and tr.
const execImage = "wp-base:bookworm"

// testContainer starts a container of execImage that sleeps, labelled and named after the
// test and removed at its end, on the shared engine; it skips (fails under make test) when
// the engine or the image is missing.
func testContainer(t *testing.T) (*Client, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Connect(ctx, "")
	if err != nil {
		testutil.SkipOrFail(t, fmt.Sprintf("needs the Docker engine (%v)", err), "make engine")
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := exec.Command("docker", "image", "inspect", execImage).Run(); err != nil {
		testutil.SkipOrFail(t, "needs the image "+execImage, "make instance-images")
	}
	name := testutil.Name(t, "wpdind-exec")
	out, err := exec.Command("docker", "run", "-d", "--name", name, "--label", "org.wp-dind.test="+name,
		"--network", "none", execImage, "sleep", "600").CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
	return c, strings.TrimSpace(string(out))
}

// heapPeak samples the live heap every 5 ms while run runs, and returns the heap before
// (after a GC), its highest sample and the heap after (after a GC), in MiB.
func heapPeak(run func()) (before, peak, after float64) {
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before = mib(ms.HeapAlloc)
	var high atomic.Uint64
	done := make(chan struct{})
	go func() {
		var s runtime.MemStats
		for {
			runtime.ReadMemStats(&s)
			if s.HeapAlloc > high.Load() {
				high.Store(s.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	run()
	close(done)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return before, mib(high.Load()), mib(ms.HeapAlloc)
}

// print256 prints 256 MiB of 'x', then a last line, on stdout: one stream, so the last line
// is last (dockerd multiplexes stdout and stderr with no order between them, and under load a
// line on stderr overtook the end of stdout).
var print256 = []string{"sh", "-c", "head -c 268435456 /dev/zero | tr '\\0' x; echo the end"}

// TestExecOutputBounded: a command printing 256 MiB (what a site's PHP did during an install)
// costs Exec its kept head and tail only, not the output: the heap stays within a few MiB of
// where it was. ExecStream with MaxOutput stops at the bound with an OutputError.
func TestExecOutputBounded(t *testing.T) {
	c, id := testContainer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var res ExecResult
	var err error
	start := time.Now()
	before, peak, after := heapPeak(func() { res, err = c.Exec(ctx, id, "", print256) })
	took := time.Since(start)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("exec: %+v, %v", res, err)
	}
	skipped := fmt.Sprintf("[%d bytes not kept]", 256<<20+len("the end\n")-KeptHead-KeptTail)
	if !strings.HasPrefix(res.Output, "xxxx") || !strings.HasSuffix(res.Output, "the end") || !strings.Contains(res.Output, skipped) {
		t.Errorf("output: %d bytes, %q ... %q, want it to hold %q", len(res.Output), res.Output[:8], res.Output[min(len(res.Output), KeptHead-8):min(len(res.Output), KeptHead+40)], skipped)
	}
	if peak-before > 16 {
		t.Errorf("heap %.1f MiB before, %.1f at its peak: printing 256 MiB must not grow it", before, peak)
	}
	t.Logf("exec of 256 MiB in %s: heap %.1f MiB before, %.1f MiB at its peak, %.1f MiB after; output kept %d bytes",
		took.Round(time.Millisecond), before, peak, after, len(res.Output))

	start = time.Now()
	before, peak, _ = heapPeak(func() { res, err = c.ExecStream(ctx, id, ExecIO{Cmd: print256, MaxOutput: 1 << 20}) })
	var oe *OutputError
	if !errors.As(err, &oe) || !strings.HasSuffix(err.Error(), "sh printed more than 1MiB") {
		t.Fatalf("exec stream over its bound: %+v, %v", res, err)
	}
	if peak-before > 16 {
		t.Errorf("heap %.1f MiB before, %.1f at its peak", before, peak)
	}
	t.Logf("exec stream with MaxOutput 1 MiB: %v after %s (heap %.1f -> %.1f MiB)", err, time.Since(start).Round(time.Millisecond), before, peak)
}

// TestExecStreamStdin: what Stdin holds reaches the command and appears neither in its
// arguments nor in its environment.
func TestExecStreamStdin(t *testing.T) {
	c, id := testContainer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out strings.Builder
	res, err := c.ExecStream(ctx, id, ExecIO{
		Cmd:   []string{"sh", "-c", `read -r line; echo "got $line"; echo "args $*" >&2; env >&2`, "sh"},
		Stdin: strings.NewReader("s3cret\n"), Stdout: &out,
	})
	if err != nil || res.ExitCode != 0 || out.String() != "got s3cret\n" || strings.Contains(res.Output, "s3cret") {
		t.Errorf("stdin: %q, %+v, %v", out.String(), res, err)
	}
}
