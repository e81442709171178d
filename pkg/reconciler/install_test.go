package reconciler

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// TestOutputLog: a command's output becomes one record per line, whatever the writes' sizes,
// a long line is cut into records of maxLogLine, the secret never shows, and a last line
// without newline comes out on Flush.
func TestOutputLog(t *testing.T) {
	var logs bytes.Buffer
	o := &outputLog{log: hclog.New(&hclog.LoggerOptions{Output: &logs, JSONFormat: true}), stream: "stdout", secret: "pw123"}
	long := strings.Repeat("y", maxLogLine+10)
	for _, w := range []string{"one\ntw", "o pw123\n", long + "\n", "tail"} {
		if n, err := o.Write([]byte(w)); n != len(w) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if len(o.buf) != len("tail") {
		t.Errorf("kept %d bytes before Flush, want the last line's 4", len(o.buf))
	}
	o.Flush()
	var lines []string
	for _, rec := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		_, rest, _ := strings.Cut(rec, `"line":"`)
		line, _, _ := strings.Cut(rest, `"`)
		lines = append(lines, line)
	}
	want := []string{"one", "two [redacted]", long[:maxLogLine], long[maxLogLine:], "tail"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("records:\n%q\nwant:\n%q", lines, want)
	}
	if strings.Contains(logs.String(), "pw123") {
		t.Error("the secret is in the log")
	}
}
