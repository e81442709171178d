package reconciler

import (
	"bytes"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// installOutputLimit bounds what wp-dind-install may print, stdout and stderr together. It
// runs the site's own PHP (wp-config.php, plugins, mu-plugins), which may print anything; an
// install prints a line. Past the bound the install fails ("wp-dind-install printed more
// than 1MiB"), and what it printed up to there is in the log: at most this much per attempt.
const installOutputLimit = 1 << 20

// maxLogLine cuts the lines of a command's output put in the log.
const maxLogLine = 1 << 10

// outputLog puts a command's output in the log as it comes, one record per line (cut at
// maxLogLine), with the secret replaced. It keeps at most one line in memory.
type outputLog struct {
	log    hclog.Logger
	stream string
	secret string
	buf    []byte
}

func (o *outputLog) Write(p []byte) (int, error) {
	rest := append(o.buf, p...)
	for {
		i := bytes.IndexByte(rest, '\n')
		switch {
		case i >= 0 && i <= maxLogLine:
			o.emit(rest[:i])
			rest = rest[i+1:]
		case len(rest) >= maxLogLine: // a long line goes on in the next record
			o.emit(rest[:maxLogLine])
			rest = rest[maxLogLine:]
		default:
			o.buf = append(o.buf[:0], rest...)
			return len(p), nil
		}
	}
}

// Flush logs what is left of a last line without its newline.
func (o *outputLog) Flush() {
	if len(o.buf) > 0 {
		o.emit(o.buf)
		o.buf = o.buf[:0]
	}
}

func (o *outputLog) emit(line []byte) {
	s := string(line)
	if o.secret != "" {
		s = strings.ReplaceAll(s, o.secret, "[redacted]")
	}
	o.log.Info("command output", "stream", o.stream, "line", s)
}
