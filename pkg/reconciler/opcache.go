package reconciler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// A site's opcache, over FastCGI from inside its PHP container. A site template records the
// WordPress core scripts its site's opcache holds after its first front page
// (TemplateInfo.Scripts); a site made from the template has them compiled into its PHP-FPM's
// opcache while its database starts and it is personalized, so its first request (warmPHP,
// then the first 200) runs them without compiling them.

// opcacheScript is the PHP image's script that lists and fills the opcache (docs/images.md).
const opcacheScript = "/usr/local/lib/wp-dind/opcache-warm.php"

const (
	maxOpcacheScripts = 10000   // paths a template records, at most (a front page: about 425)
	maxOpcacheOutput  = 4 << 20 // what the list may print
	precompileWait    = 10 * time.Second
)

// fcgi runs one FastCGI request in the PHP container, to its PHP-FPM (cgi-fcgi), for script
// with method and body, and returns the response's body (its CGI headers cut) and status;
// the response may be limit bytes at most, and is dropped as it comes unless keep (a site's
// own page is never held in wpinit's memory). cgi-fcgi failing (PHP-FPM not listening
// yet) is an *fcgiError.
func (w *worker) fcgi(ctx context.Context, in *config.Instance, phpID, script, method string, body []byte, limit int64, keep bool) (string, int, error) {
	host := w.siteHost(in)
	name := "/" + path.Base(script)
	env := []string{
		"REQUEST_METHOD=" + method, "REQUEST_URI=/", "QUERY_STRING=", "SCRIPT_NAME=" + name,
		"SCRIPT_FILENAME=" + script, "DOCUMENT_ROOT=" + instance.DocRoot,
		"DOCUMENT_URI=" + name, "SERVER_PROTOCOL=HTTP/1.1", "REQUEST_SCHEME=http", "GATEWAY_INTERFACE=CGI/1.1",
		"REMOTE_ADDR=127.0.0.1", "SERVER_NAME=" + host, "SERVER_PORT=80", "HTTP_HOST=" + host,
	}
	if method == http.MethodPost {
		env = append(env, "CONTENT_TYPE=text/plain", "CONTENT_LENGTH="+strconv.Itoa(len(body)))
	}
	var out bytes.Buffer
	stdout := io.Discard
	if keep {
		stdout = &out
	}
	res, err := w.eng.ExecStream(ctx, phpID, docker.ExecIO{
		Cmd: []string{"cgi-fcgi", "-bind", "-connect", "127.0.0.1:9000"}, Env: env,
		Stdin: bytes.NewReader(body), Stdout: stdout, Stderr: io.Discard, MaxOutput: limit,
	})
	if err != nil {
		return "", 0, err
	}
	if res.ExitCode != 0 {
		return "", 0, &fcgiError{code: res.ExitCode, output: lastLine(res.Output)}
	}
	if !keep {
		return "", 0, nil
	}
	return cgiBody(out.String())
}

// fcgiError is cgi-fcgi's failure: it could not connect, or PHP-FPM hung up.
type fcgiError struct {
	code   int
	output string
}

func (e *fcgiError) Error() string { return fmt.Sprintf("cgi-fcgi exit %d: %s", e.code, e.output) }

// cgiBody splits a CGI response into its status (200 unless a Status header says another)
// and its body.
func cgiBody(resp string) (string, int, error) {
	head, body, ok := strings.Cut(resp, "\r\n\r\n")
	if !ok {
		if head, body, ok = strings.Cut(resp, "\n\n"); !ok {
			return "", 0, fmt.Errorf("read FastCGI response: no end of headers in %q", firstLine(resp))
		}
	}
	status := 200
	for _, line := range strings.Split(head, "\n") {
		name, value, _ := strings.Cut(strings.TrimSpace(line), ":")
		if value = strings.TrimSpace(value); strings.EqualFold(name, "Status") {
			code, _, _ := strings.Cut(value, " ")
			n, err := strconv.Atoi(code)
			if err != nil || n < 100 || n > 599 {
				return "", 0, fmt.Errorf("read FastCGI response: status %q", value)
			}
			status = n
		}
	}
	return body, status, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// opcacheScripts asks the site's PHP-FPM which core scripts its opcache holds.
func (w *worker) opcacheScripts(ctx context.Context, in *config.Instance, phpID string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	body, status, err := w.fcgi(ctx, in, phpID, opcacheScript, http.MethodGet, nil, maxOpcacheOutput, true)
	if err != nil {
		return nil, fmt.Errorf("list the opcache's scripts: %w", err)
	}
	return parseOpcacheList(body, status)
}

// parseOpcacheList reads opcache-warm.php's list: a site's own PHP output, so every line
// must be a clean path of a core script under the document root, and there are at most
// maxOpcacheScripts.
func parseOpcacheList(body string, status int) ([]string, error) {
	head, rest, _ := strings.Cut(body, "\n")
	if status != 200 || head != "wp-dind-opcache list" {
		return nil, fmt.Errorf("list the opcache's scripts: status %d: %q", status, firstLine(body))
	}
	var scripts []string
	for _, line := range strings.Split(rest, "\n") {
		if line == "" {
			continue
		}
		if !coreScript(line) {
			return nil, fmt.Errorf("list the opcache's scripts: %q is not a core script", firstLine(line))
		}
		if len(scripts) == maxOpcacheScripts {
			return nil, fmt.Errorf("list the opcache's scripts: more than %d", maxOpcacheScripts)
		}
		scripts = append(scripts, line)
	}
	return scripts, nil
}

// coreScript: p is a PHP file of WordPress's core in the document root, wp-includes/ or
// wp-admin/, as a clean absolute path of printable characters.
func coreScript(p string) bool {
	if len(p) > 4096 || path.Clean(p) != p || !strings.HasSuffix(p, ".php") {
		return false
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return strings.HasPrefix(p, instance.DocRoot+"/wp-includes/") || strings.HasPrefix(p, instance.DocRoot+"/wp-admin/")
}

// precompiled is what precompile did, for the log.
type precompiled struct {
	compiled, listed int
	took             time.Duration
	err              error
}

// precompile compiles scripts into the new PHP-FPM's opcache, once it listens (it starts
// within a second of its container): tried every newSitePoll for precompileWait at most,
// while the engine runs the command; an exec that fails ends it.
func (w *worker) precompile(ctx context.Context, in *config.Instance, phpID string, scripts []string) precompiled {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, precompileWait)
	defer cancel()
	body := []byte(strings.Join(scripts, "\n") + "\n")
	for {
		out, status, err := w.fcgi(ctx, in, phpID, opcacheScript, http.MethodPost, body, 64<<10, true)
		if err == nil {
			res := precompiled{took: time.Since(start)}
			head := firstLine(out)
			if _, err := fmt.Sscanf(head, "wp-dind-opcache compiled %d of %d", &res.compiled, &res.listed); err != nil || status != 200 {
				res.err = fmt.Errorf("precompile: status %d: %q", status, head)
			}
			return res
		}
		var fe *fcgiError
		if !errors.As(err, &fe) || sleep(ctx, newSitePoll) != nil { // PHP-FPM not listening yet
			return precompiled{took: time.Since(start), err: fmt.Errorf("precompile: %w", err)}
		}
	}
}
