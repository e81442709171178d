package firewall

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// bridgeFilter are the sysctls (per network namespace) that make the packets bridged between
// two containers of one network pass iptables' FORWARD chain (br_netfilter): without them,
// the shared network's rules would see none of its traffic.
var bridgeFilter = []string{"bridge-nf-call-iptables", "bridge-nf-call-ip6tables"}

// EnableBridgeFilter sets those sysctls to 1 under procDir ("" is /proc). An error means
// this kernel filters no bridged traffic here: br_netfilter is not loaded, and a container
// cannot load it.
func EnableBridgeFilter(procDir string) error {
	if procDir == "" {
		procDir = "/proc"
	}
	for _, name := range bridgeFilter {
		path := filepath.Join(procDir, "sys", "net", "bridge", name)
		cur, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("filter bridged traffic: %w (is br_netfilter loaded on the host?)", err)
		}
		if string(bytes.TrimSpace(cur)) == "1" {
			continue
		}
		if err := os.WriteFile(path, []byte("1\n"), 0o644); err != nil {
			return fmt.Errorf("filter bridged traffic: %w", err)
		}
	}
	return nil
}
