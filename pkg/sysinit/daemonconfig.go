package sysinit

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
)

const stepDaemonConfig = "dockerd-config"

// DefaultDockerSocket is where dockerd listens when the base config names no host.
const DefaultDockerSocket = "unix:///var/run/docker.sock"

// DaemonConfig renders dockerd's effective daemon.json from the image's base file. The one
// setting it adds is the engine's TCP API, off unless TCP is set: an API without TLS lets
// anyone who reaches the port run privileged containers, so that case is a warning.
type DaemonConfig struct {
	Base   string // daemon.json to start from (the image's)
	Out    string // the file dockerd reads (--config-file); "" skips the step
	TCP    string // "host:port" to serve the API on, "" for the unix socket only
	TLSDir string // ca.pem, cert.pem and key.pem: the API requires client certificates
}

// TLS files looked for in DaemonConfig.TLSDir, as dockerd's own defaults name them, in the
// order they are checked.
var tlsFiles = []struct{ key, name string }{{"tlscacert", "ca.pem"}, {"tlscert", "cert.pem"}, {"tlskey", "key.pem"}}

func renderDaemonConfig(c DaemonConfig) stepResult {
	if c.Out == "" {
		return result(stepDaemonConfig, Skipped, notConfigured)
	}
	cfg, err := readDaemonJSON(c.Base)
	if err != nil {
		return failure(stepDaemonConfig, Failed, err)
	}
	detail, warn, err := addTCP(cfg, c)
	if err != nil {
		return failure(stepDaemonConfig, Failed, err)
	}
	if err := writeDaemonJSON(c.Out, cfg); err != nil {
		return failure(stepDaemonConfig, Failed, err)
	}
	if warn != nil {
		return stepResult{Step: Step{Name: stepDaemonConfig, Outcome: Warning, Detail: detail, Error: warn.Error()}, err: warn}
	}
	return result(stepDaemonConfig, Done, detail)
}

func readDaemonJSON(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read dockerd config: %w", err)
	}
	cfg := map[string]any{}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("parse dockerd config %s: %w", path, err)
	}
	return cfg, nil
}

// addTCP sets the hosts (and TLS) of cfg; warn is set for an API served without TLS.
func addTCP(cfg map[string]any, c DaemonConfig) (detail string, warn, err error) {
	hosts := []string{DefaultDockerSocket}
	if raw, ok := cfg["hosts"].([]any); ok && len(raw) > 0 {
		hosts = hosts[:0]
		for _, h := range raw {
			if s, ok := h.(string); ok {
				hosts = append(hosts, s)
			}
		}
	}
	if c.TCP == "" {
		cfg["hosts"] = hosts
		return "API on " + fmt.Sprint(hosts) + " only", nil, nil
	}
	if _, _, err := net.SplitHostPort(c.TCP); err != nil {
		return "", nil, fmt.Errorf("docker API address %q: %w", c.TCP, err)
	}
	tcp := "tcp://" + c.TCP
	if !slices.Contains(hosts, tcp) {
		hosts = append(hosts, tcp)
	}
	cfg["hosts"] = hosts
	if c.TLSDir == "" {
		return "API on " + tcp + " without TLS", fmt.Errorf("the docker API on %s is unauthenticated: whoever reaches it controls the engine; give TLS certificates (docker.tls_dir)", tcp), nil
	}
	for _, f := range tlsFiles {
		p := filepath.Join(c.TLSDir, f.name)
		if _, err := os.Stat(p); err != nil {
			return "", nil, fmt.Errorf("docker API TLS: %w", err)
		}
		cfg[f.key] = p
	}
	cfg["tls"], cfg["tlsverify"] = true, true
	return "API on " + tcp + " with TLS client verification", nil, nil
}

// writeDaemonJSON writes cfg to path atomically (dockerd may be restarting and read it).
func writeDaemonJSON(path string, cfg map[string]any) error {
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("encode dockerd config: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create dockerd config dir: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write dockerd config: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return errors.Join(fmt.Errorf("install dockerd config: %w", err), os.Remove(tmp))
	}
	return nil
}
