package images

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/docker"
)

// BenchmarkFirstLoadVsSecondPass times a boot with the images absent (every tarball loaded)
// against the next boot (every tarball checked and skipped), on three tarballs: images made
// from the debootstrapped wp-base:* rootfs when the engine has them, else (or when
// WPDIND_BENCH_RANDOM is set) from 50 MB of random data each. Each image gets a unique file,
// so its layer is its own and really loads.
//
//	go test -run '^$' -bench FirstLoadVsSecondPass -benchtime 3x ./pkg/images/
func BenchmarkFirstLoadVsSecondPass(b *testing.B) {
	e := newEngine(b)
	dir := b.TempDir()
	refs, source := benchImages(b, e)
	var total int64
	for i, ref := range refs {
		p := filepath.Join(dir, fmt.Sprintf("image-%d.tar", i))
		e.save(p, ref)
		fi, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		total += fi.Size()
	}
	b.Logf("tarballs: %d, %.1f MB in all, made from %s", len(refs), float64(total)/1e6, source)
	var first, second time.Duration
	for b.Loop() {
		b.StopTimer()
		e.remove(refs...)
		b.StartTimer()
		first += timedPass(b, dir, Loaded, len(refs))
		second += timedPass(b, dir, Skipped, len(refs))
	}
	n := float64(b.N)
	b.ReportMetric(first.Seconds()*1000/n, "first-load-ms")
	b.ReportMetric(second.Seconds()*1000/n, "second-pass-ms")
	b.ReportMetric(first.Seconds()/second.Seconds(), "first/second")
	b.Logf("first load %v, second pass %v per boot (%d boots), ratio %.0fx",
		(first / time.Duration(b.N)).Round(time.Millisecond), (second / time.Duration(b.N)).Round(time.Microsecond),
		b.N, first.Seconds()/second.Seconds())
}

func timedPass(b *testing.B, dir string, want State, n int) time.Duration {
	start := time.Now()
	l := New(loggerTo(io.Discard), dir, e2API(b), Options{})
	if err := l.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	if c := l.Status().Counts(); c[want] != n {
		b.Fatalf("want %d %s, got %v: %+v", n, want, c, l.Status().Tarballs)
	}
	return d
}

// e2API is a fresh client per pass, as each boot has.
func e2API(b *testing.B) docker.ImageLoader {
	c, err := docker.Connect(context.Background(), "")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	return c
}

// benchImages makes the three images and says from what.
func benchImages(b *testing.B, e *engine) ([]string, string) {
	var bases []string
	if os.Getenv("WPDIND_BENCH_RANDOM") == "" {
		bases = wpBaseTags(b, e)
	}
	var refs []string
	for i := range 3 {
		tag := fmt.Sprintf("bench%d", i)
		if len(bases) == 0 {
			e.image(tag, 50<<20)
		} else {
			e.imageFromBase(bases[i%len(bases)], tag)
		}
		refs = append(refs, e.repo+":"+tag)
	}
	if len(bases) == 0 {
		return refs, "50 MB of random data each"
	}
	return refs, "the rootfs of " + strings.Join(bases, ", ")
}

func wpBaseTags(b *testing.B, e *engine) []string {
	b.Helper()
	return strings.Fields(e.docker(nil, "image", "ls", "--filter", "reference=wp-base:*", "--format", "{{.Repository}}:{{.Tag}}"))
}

// imageFromBase imports base's single layer plus one unique file as e.repo:tag, labelled and
// removed at cleanup like e.image's.
func (e *engine) imageFromBase(base, tag string) {
	e.tb.Helper()
	saved := filepath.Join(e.tb.TempDir(), "base.tar")
	e.save(saved, base)
	f, err := os.Open(saved)
	if err != nil {
		e.tb.Fatal(err)
	}
	defer f.Close()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(copyLayerPlusFile(f, pw, e.repo+":"+tag)) }()
	e.importLayer(pr, tag)
}

// copyLayerPlusFile finds the one layer.tar of a docker save stream (20.10 layout) and
// writes its entries, then a file naming the image, to w as a tar.
func copyLayerPlusFile(save io.Reader, w io.Writer, name string) error {
	tr := tar.NewReader(save)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return errors.New("no layer.tar in the saved base image")
		}
		if err != nil {
			return err
		}
		if !strings.HasSuffix(h.Name, "/layer.tar") {
			continue
		}
		lr := tar.NewReader(tr)
		tw := tar.NewWriter(w)
		for {
			lh, err := lr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			if err := tw.WriteHeader(lh); err != nil {
				return err
			}
			if _, err := io.Copy(tw, lr); err != nil {
				return err
			}
		}
		body := []byte(name + "\n")
		if err := tw.WriteHeader(&tar.Header{Name: "etc/wpdind-bench", Mode: 0o644, Size: int64(len(body)), ModTime: fixedTime}); err != nil {
			return err
		}
		if _, err := tw.Write(body); err != nil {
			return err
		}
		return tw.Close()
	}
}
